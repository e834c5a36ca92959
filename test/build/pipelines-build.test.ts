// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
/**
 * Real builds through the built-in pipelines, one tiny project per pipeline family whose tool this
 * machine has (go, cargo, perl + make, git, python, npm, gcc + binutils): the test writes the project,
 * `pulumi-distroless package --runner host` builds it, and the packaged files are checked (and
 * where it is a program, run). Nothing reaches the network: Go and cargo projects have no
 * dependencies (cargo runs --offline), npm installs from a registry the test serves on localhost. The families whose tools
 * scripts/setup.sh installs have their own files (pipelines-build-<family>.test.ts); xcover, whose
 * eBPF profiler no Debian package provides, is covered at compile level by pipelines-inputs and
 * pipelines-melange.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { describe, test } from "node:test";
import { tempDir } from "../helpers/tmp";
import { extractApk } from "./build-helpers";
import { build, has, hostToolEnv, runPackaged, skipUnless, writeTree } from "./pipelines-build-helpers";

const GO_MAIN = `package main

import "fmt"

var version = "unset"

func main() { fmt.Println("hello from go", version) }
`;

describe("real builds through the built-in pipelines", () => {
  test(
    "go/build and go/build/v2: binaries built with the given ldflags, installed and run",
    skipUnless(has("go", "version"), "go is not installed"),
    async () => {
      const built = await build(
        `package: {name: hello-go, version: 1.2.3, epoch: 0}\n${hostToolEnv()}pipeline:\n  - uses: go/build\n    with:\n      packages: .\n      output: hello\n      ldflags: -X main.version=\${{package.version}}\nsubpackages:\n  - name: hello-go-v2\n    pipeline:\n      - uses: go/build/v2\n        with:\n          ldflags: -X main.version=v2\n`,
        { "go.mod": "module example.com/hellogo\n\ngo 1.21\n", "main.go": GO_MAIN },
      );
      const main = built.files.get("hello-go")!;
      assert.equal(main.get("usr/bin/hello")?.mode, 0o755);
      assert.equal(await runPackaged(built.apks.get("hello-go")!, "usr/bin/hello"), "hello from go 1.2.3\n");
      // v2 with no output names the binary after the module, and its strip step runs.
      assert.ok(built.files.get("hello-go-v2")!.has("usr/bin/hellogo"));
      assert.equal(
        await runPackaged(built.apks.get("hello-go-v2")!, "usr/bin/hellogo"),
        "hello from go v2\n",
      );
    },
  );

  test(
    "cargo/build: an offline release build installed at prefix/install-dir",
    skipUnless(has("cargo"), "cargo is not installed"),
    async () => {
      const built = await build(
        `package: {name: hello-rs, version: 0.1.0, epoch: 0}\n${hostToolEnv()}pipeline:\n  - uses: cargo/build\n    with:\n      opts: --release --offline\n      output: hello-rs\n      install-dir: libexec\n`,
        {
          "Cargo.toml": '[package]\nname = "hello-rs"\nversion = "0.1.0"\nedition = "2021"\n',
          "src/main.rs": 'fn main() { println!("hello from rust"); }\n',
        },
      );
      assert.equal(built.files.get("hello-rs")!.get("usr/libexec/hello-rs")?.mode, 0o755);
      assert.equal(
        await runPackaged(built.apks.get("hello-rs")!, "usr/libexec/hello-rs"),
        "hello from rust\n",
      );
    },
  );

  test(
    "perl/make, autoconf/make, autoconf/make-install, perl/cleanup: a Perl module in vendor dirs, no install bookkeeping",
    skipUnless(
      has("perl", "-MExtUtils::MakeMaker", "-e", "1") && has("make"),
      "perl with ExtUtils::MakeMaker and make are needed",
    ),
    async () => {
      const built = await build(
        "package: {name: perl-hello, version: 1.0.0, epoch: 0}\npipeline:\n  - uses: perl/make\n  - uses: autoconf/make\n  - uses: autoconf/make-install\n  - uses: perl/cleanup\n",
        {
          "Makefile.PL":
            "use ExtUtils::MakeMaker;\nWriteMakefile(NAME => 'Hello', VERSION_FROM => 'lib/Hello.pm');\n",
          "lib/Hello.pm": "package Hello;\nour $VERSION = '1.00';\nsub greet { 'hello from perl' }\n1;\n",
        },
      );
      const files = [...built.files.get("perl-hello")!.keys()];
      const module = files.find((f) => f.endsWith("/Hello.pm"));
      assert.ok(module?.startsWith("usr/"), `Hello.pm installed under usr/: ${files.join(", ")}`);
      assert.match(built.files.get("perl-hello")!.get(module!)!.content!.toString(), /hello from perl/);
      assert.deepEqual(
        files.filter((f) => /(^|\/)(perllocal\.pod|\.packlist)$/.test(f)),
        [],
        "perl/cleanup removed perllocal.pod and .packlist",
      );
    },
  );

  test(
    "git-am: patches applied as commits to a checked-out repository",
    skipUnless(has("git"), "git is not installed"),
    async () => {
      // The patch comes from a real repository: format-patch of a one-line change.
      const repo = tempDir();
      const git = (...args: string[]) => {
        const r = spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
          cwd: repo,
          encoding: "utf8",
        });
        assert.equal(r.status, 0, r.stderr);
        return r.stdout;
      };
      git("init", "-q");
      writeFileSync(path.join(repo, "greeting"), "hello\n");
      git("add", "greeting");
      git("commit", "-q", "-m", "base");
      writeFileSync(path.join(repo, "greeting"), "hello, patched\n");
      git("commit", "-q", "-am", "patch the greeting");
      const patch = git("format-patch", "-1", "--stdout");
      git("reset", "-q", "--hard", "HEAD~1");
      const built = await build(
        `package: {name: patched, version: 1.0.0, epoch: 0}\npipeline:\n  - uses: git-checkout\n    with:\n      repository: file://${repo}\n      destination: tree\n      depth: -1\n  - working-directory: tree\n    pipeline:\n      - uses: git-am\n        with:\n          patches: ../0001-greeting.patch\n      - runs: |\n          mkdir -p \${{targets.destdir}}/usr/share/patched\n          cp greeting \${{targets.destdir}}/usr/share/patched/\n          git log --format=%s >\${{targets.destdir}}/usr/share/patched/log\n`,
        { "0001-greeting.patch": patch },
      );
      const files = built.files.get("patched")!;
      assert.equal(files.get("usr/share/patched/greeting")!.content!.toString(), "hello, patched\n");
      assert.equal(files.get("usr/share/patched/log")!.content!.toString(), "patch the greeting\nbase\n");
    },
  );

  test(
    "python/build, python/import, python/test: setup.py build packaged; a failing import fails the build",
    skipUnless(has("python", "-c", "import setuptools"), "python with setuptools is not installed"),
    async () => {
      const files = {
        "setup.py":
          "from setuptools import setup\nsetup(name='hellopy', version='1.0', py_modules=['hellopy'])\n",
        "hellopy.py": "GREETING = 'hello from python'\n",
      };
      const recipe = (module: string) =>
        `package: {name: py-hello, version: 1.0.0, epoch: 0}\npipeline:\n  - uses: python/build\n  - runs: |\n      mkdir -p \${{targets.destdir}}/usr/lib/hellopy\n      cp build/lib/hellopy.py \${{targets.destdir}}/usr/lib/hellopy/\n  - uses: python/import\n    with:\n      python: python3\n      import: ${module}\n  - uses: python/test\n    with:\n      command: python3 -c 'import sys; sys.path.insert(0, "build/lib"); import hellopy; assert hellopy.GREETING == "hello from python"'\n`;
      const built = await build(recipe("json"), files);
      assert.equal(
        built.files.get("py-hello")!.get("usr/lib/hellopy/hellopy.py")!.content!.toString(),
        files["hellopy.py"],
      );
      await assert.rejects(
        build(recipe("no_such_module_here"), files),
        /python3 -c "import no_such_module_here": FAIL/,
      );
    },
  );

  test(
    "split/alldocs and split/debug: docs and debug info move to their subpackages",
    skipUnless(has("gcc") && has("objcopy") && has("readelf"), "gcc and binutils are needed"),
    async () => {
      const built = await build(
        "package: {name: libhello, version: 1.0.0, epoch: 0}\npipeline:\n  - runs: |\n      d=${{targets.destdir}}\n      mkdir -p $d/usr/lib $d/usr/share/man/man3 $d/usr/share/doc/libhello $d/usr/share/info\n      gcc -g -shared -fPIC -o $d/usr/lib/libhello.so.1 hello.c\n      echo '.TH HELLO 3' >$d/usr/share/man/man3/hello.3\n      echo readme >$d/usr/share/doc/libhello/README\n      echo info >$d/usr/share/info/hello.info\n      echo index >$d/usr/share/info/dir\nsubpackages:\n  - name: libhello-doc\n    pipeline:\n      - uses: split/alldocs\n  - name: libhello-dbg\n    pipeline:\n      - uses: split/debug\n",
        { "hello.c": "int hello(void) { return 42; }\n" },
      );
      const main = built.files.get("libhello")!;
      const doc = built.files.get("libhello-doc")!;
      const dbg = built.files.get("libhello-dbg")!;
      assert.deepEqual(
        [...main.keys()].filter((f) => f.startsWith("usr/share/") && main.get(f)!.type === "file"),
        [],
        "no docs left in the main package",
      );
      for (const f of [
        "usr/share/man/man3/hello.3",
        "usr/share/doc/libhello/README",
        "usr/share/info/hello.info",
      ])
        assert.ok(doc.has(f), f);
      assert.ok(!doc.has("usr/share/info/dir"), "the info index is dropped");
      assert.ok(dbg.has("usr/lib/debug/usr/lib/libhello.so.1.debug"));
      const root = tempDir();
      await extractApk(built.apks.get("libhello")!, root);
      const sections = spawnSync("readelf", ["-S", path.join(root, "usr/lib/libhello.so.1")], {
        encoding: "utf8",
      }).stdout;
      assert.match(sections, /\.gnu_debuglink/);
      assert.doesNotMatch(sections, /\.debug_info/);
    },
  );

  test(
    "npm/install: a package with a command installed from a registry, its bin linked",
    skipUnless(has("npm") && has("node"), "npm is not installed"),
    async () => {
      // A real tarball made by npm pack, served as a one-package registry on localhost.
      const pkgDir = tempDir();
      writeTree(pkgDir, {
        "package.json": JSON.stringify({
          name: "hello-npm",
          version: "1.0.0",
          bin: { "hello-npm": "cli.js" },
        }),
        "cli.js": "#!/usr/bin/env node\nconsole.log('hello from npm');\n",
      });
      const pack = spawnSync("npm", ["pack", "--silent", "--pack-destination", pkgDir], {
        cwd: pkgDir,
        encoding: "utf8",
      });
      assert.equal(pack.status, 0, pack.stderr);
      const tarball = readFileSync(path.join(pkgDir, pack.stdout.trim().split("\n").pop()!));
      const server = createServer((req, res) => {
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        if (req.url === "/hello-npm") {
          res.setHeader("content-type", "application/json");
          res.end(
            JSON.stringify({
              name: "hello-npm",
              "dist-tags": { latest: "1.0.0" },
              versions: {
                "1.0.0": {
                  name: "hello-npm",
                  version: "1.0.0",
                  bin: { "hello-npm": "cli.js" },
                  dist: {
                    tarball: `${base}/hello-npm/-/hello-npm-1.0.0.tgz`,
                    shasum: createHash("sha1").update(tarball).digest("hex"),
                    integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}`,
                  },
                },
              },
            }),
          );
        } else if (req.url === "/hello-npm/-/hello-npm-1.0.0.tgz") res.end(tarball);
        else {
          res.statusCode = 404;
          res.end("{}");
        }
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        const registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
        const built = await build(
          `package: {name: hello-npm, version: 1.0.0, epoch: 0}\nenvironment:\n  environment:\n    npm_config_registry: '${registry}'\n    npm_config_audit: 'false'\n    npm_config_fund: 'false'\n    npm_config_update_notifier: 'false'\npipeline:\n  - uses: npm/install\n    with:\n      package: hello-npm\n      version: 1.0.0\n`,
          {},
        );
        const files = built.files.get("hello-npm")!;
        assert.match(
          files.get("usr/lib/node_modules/hello-npm/cli.js")!.content!.toString(),
          /hello from npm/,
        );
        const bin = files.get("usr/bin/hello-npm");
        assert.equal(bin?.type, "symlink");
        assert.equal(bin?.linkname, "../lib/node_modules/hello-npm/cli.js");
      } finally {
        server.close();
      }
    },
  );
});
