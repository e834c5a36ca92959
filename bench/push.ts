/**
 * Push speed against a local CNCF registry: our client beside `skopeo copy oci:... docker://...` of
 * the same ~200 MB single-layer layout, each into a fresh registry (so neither finds blobs the
 * other uploaded), then the request count of a no-op re-push, then the CLI's WebAssembly setting on
 * big transfers: the layer downloaded through undici with V8's defaults and with the CLI's
 * `--liftoff-only` (provider/cli/wasm-tiering.ts), alternating. Prints figures; asserts nothing.
 *
 *   npm run build && node dist/bench/push.js [--mib N] [--rounds N]
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { OciLayout } from "../provider/image/oci-layout";
import { type ImageConfig, type ImageManifest, MEDIA_TYPES } from "../provider/image/oci-types";
import { pushLayout } from "../provider/registry";
import { pseudoRandom, writeLayer } from "../test/helpers/oci-test-image";
import { startRegistry } from "../test/helpers/registry-server";
import { median } from "./_common";

const run = promisify(execFile);
const MiB = 1 << 20;

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function makeLayout(
  dir: string,
  contentBytes: number,
): Promise<{ digest: string; layerBytes: number }> {
  const layout = new OciLayout(dir);
  const layer = await writeLayer(
    layout,
    [
      { name: "opt", type: "directory", mode: 0o755 },
      {
        name: "opt/payload.bin",
        type: "file",
        mode: 0o644,
        size: contentBytes,
        // Compresses roughly like real binaries, the same bytes every run.
        data: () => pseudoRandom("bench", contentBytes, { compressible: true }),
      },
    ],
    1,
  );
  const config: ImageConfig = {
    architecture: "amd64",
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
    config: { Entrypoint: ["/opt/payload.bin"] },
  };
  const configBlob = await layout.writeBlob(Buffer.from(JSON.stringify(config)));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, ...configBlob },
    layers: [{ mediaType: MEDIA_TYPES.layerGzip, digest: layer.digest, size: layer.size }],
  };
  const m = await layout.writeBlob(Buffer.from(JSON.stringify(manifest)));
  await layout.writeIndex([{ mediaType: MEDIA_TYPES.manifest, ...m }]);
  return { digest: m.digest, layerBytes: layer.size };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
}

async function withFreshRegistry<T>(fn: (host: string) => Promise<T>): Promise<T> {
  const registry = await startRegistry();
  try {
    return await fn(registry.host);
  } finally {
    await registry.stop();
  }
}

/**
 * GETs a blob through our undici client in a fresh node process (with `flags`), draining the body:
 * wall seconds and CPU seconds (user + system) of that process.
 */
function timedDownload(url: string, flags: string[]): { seconds: number; cpu: number } {
  const lean = path.join(__dirname, "..", "provider", "util", "undici-lean.js");
  const script = `require(${JSON.stringify(lean)}).request(${JSON.stringify(url)}, { method: "GET" })
    .then(async (r) => { let n = 0; for await (const c of r.body) n += c.length; if (r.statusCode !== 200 || n === 0) process.exit(1); })`;
  const start = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-f", "%U %S", process.execPath, ...flags, "-e", script], {
    encoding: "utf8",
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`download of ${url} failed: ${r.stderr}`);
  const [user = 0, system = 0] = (r.stderr.trim().split("\n").pop() ?? "").split(" ").map(Number);
  return { seconds, cpu: user + system };
}

/** The layer downloaded with V8's WebAssembly defaults and with the CLI's, alternating. */
async function downloadByWasmTier(layoutDir: string, rounds: number): Promise<void> {
  await withFreshRegistry(async (host) => {
    const reference = `${host}/bench/download:latest`;
    await pushLayout({ layoutDir, reference });
    const index = JSON.parse(readFileSync(path.join(layoutDir, "index.json"), "utf8")) as {
      manifests: { digest: string }[];
    };
    const manifestPath = path.join(layoutDir, "blobs", ...index.manifests[0]!.digest.split(":"));
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as ImageManifest;
    const layer = manifest.layers[0]!;
    const url = `http://${host}/v2/bench/download/blobs/${layer.digest}`;
    const tiered: { seconds: number; cpu: number }[] = [];
    const liftoff: { seconds: number; cpu: number }[] = [];
    for (let i = 0; i < Math.max(3, rounds); i++) {
      tiered.push(timedDownload(url, []));
      liftoff.push(timedDownload(url, ["--liftoff-only"]));
    }
    const mb = layer.size / 1e6;
    const line = (label: string, runs: { seconds: number; cpu: number }[]) => {
      const s = median(runs.map((r) => r.seconds));
      const cpu = median(runs.map((r) => r.cpu));
      return `  ${label.padEnd(26)} ${s.toFixed(2)} s (${(mb / s).toFixed(0)} MB/s), CPU ${cpu.toFixed(2)} s`;
    };
    process.stdout.write(
      `\ndownload of the ${mb.toFixed(0)} MB layer through undici (medians of ${tiered.length}, alternating):\n` +
        `${line("V8 defaults (TurboFan)", tiered)}\n${line("--liftoff-only (the CLI's)", liftoff)}\n`,
    );
  });
}

async function main(): Promise<void> {
  const contentMiB = argValue("--mib", 380);
  const rounds = argValue("--rounds", 2);
  const work = mkdtempSync(path.join(os.tmpdir(), "pd-bench-push-"));
  try {
    const layoutDir = path.join(work, "layout");
    process.stdout.write(`generating a single-layer image from ${contentMiB} MiB of content...\n`);
    const gen = await timed(() => makeLayout(layoutDir, contentMiB * MiB));
    const mb = gen.value.layerBytes / 1e6;
    process.stdout.write(`layer: ${mb.toFixed(1)} MB gzip (made in ${gen.seconds.toFixed(1)} s)\n\n`);

    const ours: number[] = [];
    const theirs: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const a = await withFreshRegistry((host) =>
        timed(() => pushLayout({ layoutDir, reference: `${host}/bench/ours:${round}` })),
      );
      const b = await withFreshRegistry((host) =>
        timed(() =>
          run("skopeo", [
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            `oci:${layoutDir}`,
            `docker://${host}/bench/skopeo:${round}`,
          ]),
        ),
      );
      ours.push(a.seconds);
      theirs.push(b.seconds);
      process.stdout.write(
        `round ${round}: pulumi-distroless ${a.seconds.toFixed(2)} s (${(mb / a.seconds).toFixed(0)} MB/s), ` +
          `skopeo copy ${b.seconds.toFixed(2)} s (${(mb / b.seconds).toFixed(0)} MB/s)\n`,
      );
    }
    const best = (xs: number[]) => Math.min(...xs);
    process.stdout.write(
      `\nbest of ${rounds}: ours ${best(ours).toFixed(2)} s, skopeo ${best(theirs).toFixed(2)} s, ` +
        `ratio ours/skopeo ${(best(ours) / best(theirs)).toFixed(2)} (target <= 1.0)\n`,
    );

    await withFreshRegistry(async (host) => {
      const reference = `${host}/bench/noop:latest`;
      await pushLayout({ layoutDir, reference });
      const again = await timed(() => pushLayout({ layoutDir, reference }));
      const r = again.value.requests;
      process.stdout.write(
        `no-op re-push: ${r.total} requests (${Object.entries(r.byMethod)
          .map(([m, n]) => `${n} ${m}`)
          .join(", ")}) for 2 blobs + 1 manifest, ${again.value.uploaded.blobs} blobs uploaded, ` +
          `${again.seconds.toFixed(3)} s (target: one HEAD per blob and manifest)\n`,
      );
    });
    await downloadByWasmTier(layoutDir, rounds);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/push: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
