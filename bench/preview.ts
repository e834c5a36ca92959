/**
 * A no-change `pulumi preview` of a three-resource stack (package -> repository -> image) through
 * the real dynamic-provider server over gRPC (test/helpers: ProviderServer + MiniEngine): the time
 * of Check+Diff for all three with indexes cached, beside the 150 ms target; then with the image's
 * repository served over HTTP by a local server, the requests one preview makes (target: exactly
 * one conditional request per repository and arch). Asserts nothing.
 *
 *   npm run build && node dist/bench/preview.js [--runs N]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { generateSigningKey } from "../provider/apk/keys";
import { MiniEngine, type Registration, ref, secret } from "../test/helpers/mini-engine";
import { ProviderServer } from "../test/helpers/provider-server";
import { startRegistry } from "../test/helpers/registry-server";
import { serializedProviders } from "../test/helpers/sdk-providers";

/** melange's substitution (not a JS template): `${{targets.destdir}}`. */
const DESTDIR = `$${"{{targets.destdir}}"}`;

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 15;

/** Serves a repository directory over HTTP with ETags, counting requests. */
function serveDirectory(root: string): Promise<{ url: string; requests: string[]; close(): void }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const conditional = req.headers["if-none-match"] !== undefined;
    requests.push(`${req.method} ${req.url}${conditional ? " (conditional)" : ""}`);
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    const etag = `"${st.size}-${st.mtimeMs}"`;
    if (req.headers["if-none-match"] === etag) {
      res.writeHead(304, { etag }).end();
      return;
    }
    res.writeHead(200, { etag, "content-length": st.size }).end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        requests,
        close: () => server.close(),
      }),
    ),
  );
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), "pd-bench-preview-"));
  const registry = await startRegistry();
  const server = await ProviderServer.start({ env: { XDG_CACHE_HOME: path.join(work, "cache") } });
  try {
    const key = (await generateSigningKey(2048)).privateKeyPem;
    mkdirSync(path.join(work, "app"));
    const recipe = path.join(work, "app", "melange.yaml");
    writeFileSync(
      recipe,
      `package:\n  name: app\n  version: 1.0.0\n  epoch: 0\npipeline:\n  - runs: |\n      mkdir -p "${DESTDIR}/usr/bin"\n      echo "echo hi" > "${DESTDIR}/usr/bin/app"\n`,
    );
    const engine = new MiniEngine(server, await serializedProviders());
    const program = (repositories: unknown[]): Registration[] => [
      {
        name: "app",
        type: "ApkPackage",
        inputs: {
          resourceName: "app",
          configFile: recipe,
          signingKey: secret(key),
          runner: "host",
          archs: ["x86_64"],
          outDir: path.join(work, "out"),
        },
      },
      {
        name: "repo",
        type: "ApkRepository",
        inputs: {
          resourceName: "repo",
          path: path.join(work, "repo"),
          signingKey: secret(key),
          packages: [ref("app", "packages")],
        },
      },
      {
        name: "image",
        type: "DistrolessImage",
        inputs: {
          resourceName: "image",
          config: { contents: { packages: [] }, archs: ["x86_64"] },
          repositories,
          packages: [ref("app", "ref")],
          repository: `${registry.host}/bench/app`,
          sourceDateEpoch: 0,
        },
      },
    ];
    const local = program([ref("repo", "reference")]);
    await engine.up(local);

    const time = async (p: Registration[]) => {
      const times: number[] = [];
      for (let i = 0; i < runs + 2; i++) {
        const t = process.hrtime.bigint();
        const steps = await engine.preview(p);
        if (steps.some((s) => s.op !== "same"))
          throw new Error(`not a no-change preview: ${JSON.stringify(steps.map((s) => s.op))}`);
        if (i >= 2) times.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      times.sort((a, b) => a - b);
      return times[Math.floor(times.length / 2)]!;
    };
    const localMs = await time(local);
    console.log(
      `no-change preview, 3 resources (Check + Diff over gRPC, indexes cached), median of ${runs}:`,
    );
    console.log(`  local repository: ${localMs.toFixed(1)} ms (target < 150 ms)`);

    const http = await serveDirectory(path.join(work, "repo"));
    const keys = (engine.state.get("repo")!.outputs.reference as { keys: unknown[] }).keys;
    const remote = program([{ url: http.url, keys }]);
    await engine.up(remote);
    http.requests.length = 0;
    await engine.preview(remote);
    const one = [...http.requests];
    const remoteMs = await time(remote);
    console.log(`  repository over HTTP: ${remoteMs.toFixed(1)} ms (target < 150 ms)`);
    console.log(
      `  requests one preview made to the HTTP repository (target: one conditional per repository and arch): ${one.length}`,
    );
    for (const r of one) console.log(`    ${r}`);
    http.close();
  } finally {
    await server.stop();
    await registry.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
