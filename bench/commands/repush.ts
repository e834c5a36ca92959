/**
 * A no-op re-push of an image (every blob and the manifest already in the registry) to a local
 * CNCF registry: ours (`push`) beside `skopeo copy` of the same layout and reference.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { OciLayout } from "../../provider/image/oci-layout";
import { type ImageConfig, type ImageManifest, MEDIA_TYPES } from "../../provider/image/oci-types";
import { pseudoRandom, writeLayer } from "../../test/helpers/oci-test-image";
import { startRegistry } from "../../test/helpers/registry-server";
import { median } from "../_common";
import { alternate, argValue, cli, NODE, report, timeCommand } from "./_shared";

/** A two-layer image of a few MiB (so the re-push HEADs two layers, the config and the manifest). */
async function makeLayout(dir: string): Promise<void> {
  const layout = new OciLayout(dir);
  const layers = [];
  for (const name of ["a", "b"]) {
    layers.push(
      await writeLayer(
        layout,
        [
          {
            name: `${name}.bin`,
            type: "file",
            mode: 0o644,
            size: 2 << 20,
            data: () => pseudoRandom(name, 2 << 20, { compressible: true }),
          },
        ],
        1,
      ),
    );
  }
  const config: ImageConfig = {
    architecture: "amd64",
    os: "linux",
    created: "1970-01-01T00:00:00Z",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    config: {},
  };
  const configBlob = await layout.writeBlob(Buffer.from(JSON.stringify(config)));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, ...configBlob },
    layers: layers.map((l) => ({ mediaType: MEDIA_TYPES.layerGzip, digest: l.digest, size: l.size })),
  };
  const m = await layout.writeBlob(Buffer.from(JSON.stringify(manifest)));
  await layout.writeIndex([{ mediaType: MEDIA_TYPES.manifest, ...m }]);
}

export async function repush(work: string): Promise<void> {
  if (spawnSync("sh", ["-c", "command -v skopeo"]).status !== 0) {
    console.log("\n[re-push] skipped: skopeo not installed");
    return;
  }
  const layout = path.join(work, "layout-repush");
  await makeLayout(layout);
  const registry = await startRegistry();
  try {
    const reference = `${registry.host}/bench/repush:1`;
    const ours = cli("push", layout, reference, "--insecure");
    const skopeo = [
      "skopeo",
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      `oci:${layout}`,
      `docker://${reference}`,
    ];
    timeCommand(ours); // the first push uploads (and saves the code cache); every one after is a no-op
    timeCommand(skopeo);
    const runs = alternate(
      argValue("--rounds", 15),
      () => timeCommand(ours),
      () => timeCommand(skopeo),
    );
    report("no-op re-push (2 layers, config, manifest)", "pulumi-distroless push", "skopeo copy", runs, {
      kind: "ratio",
      max: 2,
    });
    // For scale: what starting node alone costs here (skopeo is one Go binary with no runtime to
    // start), and how far ours is above it.
    const node = Array.from({ length: 7 }, () => timeCommand([NODE, "-e", "0"]));
    const nodeWall = median(node.map((r) => r.seconds));
    const nodeCpu = median(node.map((r) => r.cpu));
    const oursWall = median(runs.ours.map((r) => r.seconds));
    const oursCpu = median(runs.ours.map((r) => r.cpu));
    const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
    console.log(
      `  for scale: node -e 0 ${ms(nodeWall)} (CPU ${ms(nodeCpu)}); ours - node -e 0 +${ms(oursWall - nodeWall)}` +
        ` (CPU +${ms(oursCpu - nodeCpu)}); node -e 0 alone is ${(nodeWall / median(runs.yardstick.map((r) => r.seconds))).toFixed(1)}x skopeo`,
    );
  } finally {
    await registry.stop();
  }
}
