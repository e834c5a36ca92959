#!/usr/bin/env node
/**
 * Bundles the command line (dist/provider/cli/main.js, as tsc compiled it) into one file,
 * dist/provider/cli/bundle/cli.js, with a source map back to the TypeScript sources. The bin
 * (dist/provider/cli/launch.js) runs it with a V8 code cache.
 *
 * Why one file: a command otherwise resolves, reads and compiles ~150 modules before doing any
 * work (yaml alone is 72 of them), about 1 ms each; a bundle with a code cache starts in a fraction
 * of that (numbers in bench/commands/lock-small.ts).
 *
 * In it: our provider/ code, yaml, and the parts of undici that util/undici-lean.ts loads (a push
 * otherwise resolves ~30 of undici's files). What a command does not require is in the file but
 * never run, and with the code cache never parsed either.
 * What stays out, loaded from its own files as before:
 *   - other packages (@noble/*, node-forge, tar-stream, @pulumi/pulumi, ...), loaded lazily by the
 *     few commands that need them, and undici's index (fetch, WebSocket, mocks);
 *   - sdk/ and provider/dynamic/: Pulumi serializes their closures, which require() modules by path.
 * Inside the bundle each module keeps the `__dirname`/`__filename` of its own compiled file, so
 * paths computed from them (the built-in pipelines, a module that runs itself as a child process)
 * point where they did.
 *
 * Run by `npm run build` and `prepack`, after tsc: it bundles whatever main.js imports at the time.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");
const entry = path.join(dist, "provider", "cli", "main.js");
const outfile = path.join(dist, "provider", "cli", "bundle", "cli.js");
const outDir = path.dirname(outfile);

/** Bare package names bundled in; every other package is left to require() at run time. */
const BUNDLED_PACKAGES = new Set(["yaml", "undici"]);
/**
 * undici's index (fetch, WebSocket, caches, mocks) stays out: the CLI loads only the parts
 * util/undici-lean.ts names, and falls back to the index only if a later undici moves them.
 */
const EXTERNAL_SPECIFIERS = new Set(["undici"]);
/** Compiled folders that must stay separate files (required by path by Pulumi's closures). */
const SEPARATE = [path.join(dist, "sdk") + path.sep, path.join(dist, "provider", "dynamic") + path.sep];

const packageName = (spec) =>
  spec
    .split("/")
    .slice(0, spec.startsWith("@") ? 2 : 1)
    .join("/");
const relativeFromBundle = (file) => {
  const rel = path.relative(outDir, file).split(path.sep).join("/");
  return rel.startsWith(".") ? rel : `./${rel}`;
};

/**
 * undici's HTTP/2 client requires node:http2 as soon as it loads (with http and tls: ~13 ms of CPU
 * on Node 20, ~20 ms on Node 24, in every command that makes a request). Our agents never offer h2
 * (util/undici-lean.ts sets allowH2: false), so a connection never uses it; in the bundle it is a
 * stub that fails clearly if one ever did. (Loaded from node_modules, as without the bundle, undici
 * is whole.)
 */
const H2_STUB = `module.exports = function connectH2() {
  throw new Error("HTTP/2 was negotiated, but pulumi-distroless's bundle leaves undici's HTTP/2 client out (its agents set allowH2: false)");
};`;
const UNDICI_DISPATCHER = `${path.sep}node_modules${path.sep}undici${path.sep}lib${path.sep}dispatcher${path.sep}`;

const layout = {
  name: "keep-layout",
  setup(build) {
    build.onResolve({ filter: /^\.\/client-h2\.js$/ }, (args) =>
      args.importer.includes(UNDICI_DISPATCHER)
        ? { path: "undici-client-h2", namespace: "pd-stub" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "pd-stub" }, () => ({ contents: H2_STUB, loader: "js" }));
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:")) return undefined;
      if (BUNDLED_PACKAGES.has(packageName(args.path)) && !EXTERNAL_SPECIFIERS.has(args.path))
        return undefined;
      return { path: args.path, external: true };
    });
    build.onResolve({ filter: /^\./ }, (args) => {
      const target = path.resolve(args.resolveDir, args.path);
      if (!SEPARATE.some((dir) => target.startsWith(dir))) return undefined;
      return { path: relativeFromBundle(target), external: true };
    });
    // Our compiled modules keep their own __dirname and __filename (resolved from the bundle's).
    build.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist + path.sep)) return undefined;
      const source = readFileSync(args.path, "utf8");
      if (!/\b__(dirname|filename)\b/.test(source)) return undefined;
      const dir = JSON.stringify(path.relative(outDir, path.dirname(args.path)));
      const file = JSON.stringify(path.relative(outDir, args.path));
      return {
        contents: source
          .replace(/\b__dirname\b/g, `require("node:path").join(__dirname, ${dir})`)
          .replace(/\b__filename\b/g, `require("node:path").join(__dirname, ${file})`),
        loader: "js",
        resolveDir: path.dirname(args.path),
      };
    });
  },
};

const result = await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // Linked to the TypeScript sources through tsc's own maps, with their text: debuggable as shipped.
  sourcemap: "linked",
  sourcesContent: true,
  legalComments: "inline",
  // Not minified: the package ships without source maps, and a stack trace or a look at the
  // shipped file should still read like the code (each module starts with its path as a comment).
  charset: "ascii",
  logLevel: "warning",
  plugins: [layout],
  metafile: true,
});
/*
 * ASCII only, so the launcher reads it as latin1 (a one-byte string, no UTF-8 decoding: ~8 ms less
 * per command). esbuild's `charset: "ascii"` leaves a few characters in regular expression literals,
 * template literals and comments; a \u escape means the same in each. (Columns on those few lines
 * shift by a few characters in the source map.)
 */
const text = readFileSync(outfile, "utf8");
const ascii = text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
if (ascii !== text) writeFileSync(outfile, ascii);
/*
 * The bin (launch.js) starts as a shell script that runs itself with node: line 2 is a no-op string
 * statement to JavaScript (`":"`, in the directive prologue beside "use strict") and to sh the `:`
 * command followed by the script. It moves NODE_EXTRA_CA_CERTS aside (PD_DEFERRED_EXTRA_CA_CERTS),
 * so node does not build its CA store at start, ~90 ms of CPU on Node 20; launch.js puts the
 * variable back and the CLI loads the file at its first TLS connection. Not when NODE_OPTIONS picks
 * another CA store (--use-openssl-ca, --use-system-ca, ...): the CLI could not rebuild that one.
 * --max-semi-space-size=16 (MiB): Node 20's young-generation cap; Node 24 lets it grow to 64, which put
 * a 100,000-file image 55-110 MiB over the 300 MB goal (bench/assemble.ts) for no CPU saved (measured
 * on both Nodes: same CPU for a small lock and for the 100k-file build). A flag set once V8 runs has
 * no effect on the heap's layout, so it goes on node's command line.
 */
const launcher = path.join(dist, "provider", "cli", "launch.js");
const SH_HEADER = [
  "#!/bin/sh",
  `":" //; if [ -n "\${NODE_EXTRA_CA_CERTS-}" ]; then case " \${NODE_OPTIONS-} " in *--use-*-ca*) ;; *) PD_DEFERRED_EXTRA_CA_CERTS=$NODE_EXTRA_CA_CERTS; export PD_DEFERRED_EXTRA_CA_CERTS; unset NODE_EXTRA_CA_CERTS;; esac; fi; exec node --max-semi-space-size=16 "$0" "$@"`,
].join("\n");
let launch = readFileSync(launcher, "utf8");
// Run again on a launcher it already rewrote: the header is written anew, not stacked.
if (launch.startsWith("#!/bin/sh\n"))
  launch = `#!/usr/bin/env node\n${launch.split("\n").slice(2).join("\n")}`;
if (!launch.startsWith("#!/usr/bin/env node\n")) throw new Error(`${launcher}: no node shebang to replace`);
writeFileSync(launcher, `${SH_HEADER}\n${launch.slice(launch.indexOf("\n") + 1)}`, { mode: 0o755 });
chmodSync(launcher, 0o755);

const inputs = Object.keys(result.metafile.inputs).length;
const bytes = result.metafile.outputs[path.relative(process.cwd(), outfile)]?.bytes;
process.stdout.write(
  `build-cli: ${inputs} modules into ${path.relative(root, outfile)}${bytes ? ` (${(bytes / 1024).toFixed(0)} KiB)` : ""}\n`,
);
