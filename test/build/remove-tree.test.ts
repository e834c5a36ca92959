/**
 * A build's scratch directory (workspace, overlay upper, staging) is removed when the build ends,
 * whatever the recipe left in it: read-only directories, files named like options. removeTree
 * runs `rm -rf` (cheaper than Node's per-entry recursion, issue #15); a build discards its scratch
 * dir in the background (renamed aside, then removed), and a later build sweeps trash a killed
 * removal left.
 */
import * as assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { buildPackage } from "../../provider/build/build";
import { discardTree, removalsSettled, removeTree, sweepTrash } from "../../provider/build/remove-tree";
import { hostArch } from "../../provider/image/config/arch";
import { tempDir } from "../helpers/tmp";

test("removeTree removes read-only directories and names that look like options", async () => {
  const dir = path.join(tempDir(), "-rf");
  mkdirSync(path.join(dir, "ro", "deep"), { recursive: true });
  writeFileSync(path.join(dir, "ro", "deep", "f"), "x");
  writeFileSync(path.join(dir, "--no-preserve-root"), "x");
  chmodSync(path.join(dir, "ro", "deep"), 0o500);
  chmodSync(path.join(dir, "ro"), 0o500);
  await removeTree(dir);
  assert.equal(existsSync(dir), false);
  await removeTree(dir); // already gone: no error
});

test("a build leaves nothing behind in the temp dir, even what its recipe made read-only", async () => {
  const dir = tempDir();
  const tmp = path.join(dir, "tmp");
  mkdirSync(tmp);
  const src = path.join(dir, "src");
  mkdirSync(src);
  writeFileSync(path.join(src, "data.txt"), "data\n");
  const recipeFile = path.join(dir, "melange.yaml");
  writeFileSync(
    recipeFile,
    `package:
  name: leaves-nothing
  version: 1.0.0
  epoch: 0
pipeline:
  - runs: |
      mkdir -p locked/inner "\${{targets.destdir}}/usr/share"
      cp data.txt locked/inner/ && chmod 500 locked/inner locked
      cp data.txt "\${{targets.destdir}}/usr/share/"
`,
  );
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    const r = await buildPackage({
      recipeFile,
      sourceDir: src,
      arch: hostArch(),
      runner: "host",
      outDir: path.join(dir, "out"),
      cacheDir: path.join(dir, "cache"),
      skipTests: true,
    });
    assert.equal(r.packages.length, 1);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  // The build returned with its scratch dir already out of the way (renamed to trash, or gone).
  assert.deepEqual(
    readdirSync(tmp).filter((n) => !n.startsWith("pd-trash-")),
    [],
  );
  await removalsSettled();
  assert.deepEqual(readdirSync(tmp), []);
});

test("discardTree renames the dir aside at once and removes it in the background", async () => {
  const parent = tempDir();
  const dir = path.join(parent, "pd-build-x");
  mkdirSync(path.join(dir, "ro"), { recursive: true });
  writeFileSync(path.join(dir, "ro", "f"), "x");
  chmodSync(path.join(dir, "ro"), 0o500);
  await discardTree(dir);
  assert.equal(existsSync(dir), false);
  await removalsSettled();
  assert.deepEqual(readdirSync(parent), []);
  await discardTree(dir); // already gone: no error
});

test("sweepTrash removes old trash dirs only, and nothing else", async () => {
  const parent = tempDir();
  for (const n of ["pd-trash-a", "pd-trash-b", "pd-build-busy"]) {
    mkdirSync(path.join(parent, n, "sub"), { recursive: true });
    writeFileSync(path.join(parent, n, "sub", "f"), "x");
  }
  // A ctime cannot be set back: with a threshold of 0 every trash dir is old enough.
  await sweepTrash(parent, 0);
  await removalsSettled();
  assert.deepEqual(readdirSync(parent).sort(), ["pd-build-busy"]);
  mkdirSync(path.join(parent, "pd-trash-young"));
  await sweepTrash(parent, 24 * 3600 * 1000);
  await removalsSettled();
  assert.deepEqual(readdirSync(parent).sort(), ["pd-build-busy", "pd-trash-young"]);
});
