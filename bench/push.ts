/**
 * Push speed against a local CNCF registry: our client beside `skopeo copy oci:... docker://...` of
 * the same ~200 MB single-layer layout, each into a fresh registry (so neither finds blobs the
 * other uploaded), then the request count of a no-op re-push. Prints figures; asserts nothing.
 *
 *   npm run build && node dist/bench/push.js [--mib N] [--rounds N]
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { OciLayout } from "../provider/image/oci-layout";
import { type ImageConfig, type ImageManifest, MEDIA_TYPES } from "../provider/image/oci-types";
import { pushLayout } from "../provider/registry";
import { pseudoRandom, writeLayer } from "../test/helpers/oci-test-image";
import { startRegistry } from "../test/helpers/registry-server";

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
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/push: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
