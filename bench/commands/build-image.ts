/**
 * `build` of an image of one ~100 MiB package from a local signed repository, warm cache, beside
 * `tar -c | pigz -6` of the image's tree (the layer, unpacked) in the same run.
 */
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { alternate, argValue, cli, report, timeCommand } from "./_shared";
import { packageTree, prepareTree } from "./package-tree";

export function buildImageRow(work: string): void {
  const { key, publicKey } = prepareTree(work);
  const apk = packageTree(work, path.join(work, "out-for-image"));
  const repo = path.join(work, "repo-image");
  timeCommand(cli("publish", repo, apk, "--signing-key", key));
  const config = path.join(work, "image.yaml");
  writeFileSync(
    config,
    `contents:\n  keyring:\n    - ${publicKey}\n  repositories:\n    - ${repo}\n  packages:\n    - tree\narchs:\n  - x86_64\n`,
  );
  const cache = path.join(work, "cache-image");
  const out = path.join(work, "image");
  const build = cli("build", config, "--output", out, "--cache-dir", cache, "--source-date-epoch", "0");
  timeCommand(build); // warm the cache (index, package, file store)
  // The yardstick compresses the same tree: the layer, unpacked.
  const tree = path.join(work, "image-tree");
  mkdirSync(tree);
  const blobs = path.join(out, "blobs", "sha256");
  const layer = readdirSync(blobs)
    .map((f) => path.join(blobs, f))
    .sort((a, b) => sizeOf(b) - sizeOf(a))[0]!;
  timeCommand(["sh", "-c", `gzip -dc '${layer}' | tar -C '${tree}' --numeric-owner -xf -`]);
  const runs = alternate(
    argValue("--rounds", 3),
    () => timeCommand(build),
    () => timeCommand(["sh", "-c", `cd '${tree}' && tar -c . | pigz -6 > '${work}/yard-image.tar.gz'`]),
    () => rmSync(out, { recursive: true, force: true }),
  );
  report(
    "build, ~100 MiB single-package image, warm cache",
    "pulumi-distroless build",
    "tar -c | pigz -6",
    runs,
    {
      kind: "ratio",
      max: 1,
    },
  );
}

function sizeOf(file: string): number {
  return statSync(file).size;
}
