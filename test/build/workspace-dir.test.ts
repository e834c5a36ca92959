/**
 * `workspaceDir` (the CLI's --workspace-dir, melange's too): the build's scratch dir is made there
 * (a tmpfs, say) instead of the temp dir. Where the workspace lives changes nothing in the package,
 * and the build cleans up there as it does in the temp dir.
 */
import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { buildPackage } from "../../provider/build/build";
import { removalsSettled } from "../../provider/build/remove-tree";
import { hostArch } from "../../provider/image/config/arch";
import { tempDir } from "../helpers/tmp";

const RECIPE = `package:
  name: ws-dir
  version: 1.0.0
  epoch: 0
  copyright:
    - license: MIT
pipeline:
  - runs: |
      mkdir -p "\${{targets.destdir}}/usr/share/ws"
      cp -a data "\${{targets.destdir}}/usr/share/ws/"
`;

function project(): { dir: string; recipeFile: string; src: string } {
  const dir = tempDir();
  const src = path.join(dir, "src");
  mkdirSync(path.join(src, "data"), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(path.join(src, "data", `f${i}`), `file ${i}\n`.repeat(i + 1));
  const recipeFile = path.join(dir, "melange.yaml");
  writeFileSync(recipeFile, RECIPE);
  return { dir, recipeFile, src };
}

test("a build in another workspace dir makes the same package and cleans up there", async () => {
  const { dir, recipeFile, src } = project();
  const common = {
    recipeFile,
    sourceDir: src,
    arch: hostArch(),
    runner: "host" as const,
    cacheDir: path.join(dir, "cache"),
    skipTests: true,
  };
  const plain = await buildPackage({ ...common, outDir: path.join(dir, "out-plain") });
  const wsDir = path.join(dir, "not-yet", "workspaces");
  const kept = await buildPackage({
    ...common,
    outDir: path.join(dir, "out-kept"),
    workspaceDir: wsDir,
    keepWorkspace: true,
  });
  assert.ok(kept.workspace?.startsWith(`${wsDir}${path.sep}`), `${kept.workspace} is under ${wsDir}`);
  assert.ok(existsSync(path.join(kept.workspace!, "data", "f19")));
  assert.equal(kept.packages[0]!.datahash, plain.packages[0]!.datahash);

  const other = path.join(dir, "other-ws");
  const moved = await buildPackage({ ...common, outDir: path.join(dir, "out-moved"), workspaceDir: other });
  assert.equal(moved.packages[0]!.datahash, plain.packages[0]!.datahash);
  await removalsSettled();
  assert.deepEqual(readdirSync(other), []);
});

test("a workspace dir that cannot be made is an error naming it, and nothing is built", async () => {
  const { dir, recipeFile, src } = project();
  const file = path.join(dir, "a-file");
  writeFileSync(file, "not a directory\n");
  const outDir = path.join(dir, "out");
  await assert.rejects(
    buildPackage({
      recipeFile,
      sourceDir: src,
      arch: hostArch(),
      runner: "host",
      cacheDir: path.join(dir, "cache"),
      outDir,
      workspaceDir: path.join(file, "ws"),
    }),
    (err: Error & { code?: string; subject?: string }) =>
      err.code === "E_CONFIG" &&
      err.message.includes(path.join(file, "ws")) &&
      err.subject === "workspaceDir",
  );
  assert.equal(existsSync(outDir), false);
});
