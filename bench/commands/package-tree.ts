/**
 * `package` of a recipe that copies a ~100 MiB, 4,400-file source tree into its destdir (host
 * runner), beside `tar -c usr | gzip -6` of the same tree. Also makes the signing key and the
 * package the image row (build-image.ts) assembles.
 *
 * The recipe's own `cp -a` is timed too ("recipe alone"): on an ext4 disk, creating 4,400 files
 * can cost more than compressing them, and no packager can do without the recipe's writes.
 * `--workspace-dir DIR` (e.g. /dev/shm) passes the same flag to ours: the workspace, and so the
 * recipe's writes, on a tmpfs (an explicit choice: it holds the build in memory).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { median } from "../_common";
import { alternate, argValue, cli, makeTree, type Run, report, timeCommand } from "./_shared";

export const RECIPE = `package:
  name: tree
  version: 1.0.0
  epoch: 0
  copyright:
    - license: MIT
pipeline:
  - runs: cp -a usr "\${{targets.destdir}}"
`;

export interface PackagedTree {
  source: string;
  key: string;
  publicKey: string;
  apk: string;
}

/** The source tree, the key and the recipe under work (made once; both rows use them). */
export function prepareTree(work: string): {
  source: string;
  recipe: string;
  key: string;
  publicKey: string;
} {
  const source = path.join(work, "src");
  const recipe = path.join(work, "tree.yaml");
  const keys = path.join(work, "keys");
  if (!existsSync(source)) {
    const mb = argValue("--mb", 100);
    const files = argValue("--files", 4400);
    const t0 = Date.now();
    const bytes = makeTree(source, mb, files);
    console.log(
      `\n(made a source tree of ${(bytes / 2 ** 20).toFixed(0)} MiB in ${files} files in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    writeFileSync(recipe, RECIPE);
    mkdirSync(keys);
    timeCommand(cli("keygen", "--out", keys, "--name", "bench", "--bits", "2048"));
  }
  // keygen --name bench writes bench (private) and bench.pub.
  const key = path.join(keys, "bench");
  return { source, recipe, key, publicKey: `${key}.pub` };
}

/** One `package` run into out; returns the apk it wrote. */
export function packageTree(work: string, out: string): string {
  const { source, recipe, key } = prepareTree(work);
  rmSync(out, { recursive: true, force: true });
  timeCommand(packageArgv(recipe, source, key, out, work));
  const dir = path.join(out, "x86_64");
  return path.join(dir, readdirSync(dir).find((f) => f.endsWith(".apk"))!);
}

/** The bench's --workspace-dir, passed on to ours. */
function workspaceDirArg(): string | undefined {
  const i = process.argv.indexOf("--workspace-dir");
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/**
 * Waits (untimed) until no build scratch dir is being removed in `dir`: ours removes its workspace
 * in the background after it exits, which must not slow the yardstick's run that follows.
 */
function waitForTrash(dir: string): void {
  const until = Date.now() + 60_000;
  while (Date.now() < until && readdirSync(dir).some((n) => n.startsWith("pd-trash-"))) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}

function packageArgv(recipe: string, source: string, key: string, out: string, work: string): string[] {
  const wsDir = workspaceDirArg();
  return cli(
    "package",
    recipe,
    "--arch",
    "x86_64",
    "--runner",
    "host",
    "--source-dir",
    source,
    "--signing-key",
    key,
    "--out",
    out,
    "--cache-dir",
    path.join(work, "cache-package"),
    ...(wsDir ? ["--workspace-dir", wsDir] : []),
  );
}

export function packageRow(work: string): void {
  const { source, recipe, key } = prepareTree(work);
  const out = path.join(work, "out-package");
  const wsDir = workspaceDirArg();
  const scratchParent = wsDir ?? os.tmpdir();
  const copyTo = path.join(scratchParent, "pd-bench-recipe-alone");
  const recipeAlone: Run[] = [];
  const runs = alternate(
    argValue("--rounds", 3),
    () => {
      // The recipe's command by itself, where ours runs it (untimed removal): its share of ours.
      rmSync(copyTo, { recursive: true, force: true });
      mkdirSync(copyTo);
      recipeAlone.push(timeCommand(["cp", "-a", "usr", copyTo], { cwd: source }));
      rmSync(copyTo, { recursive: true, force: true });
      return timeCommand(packageArgv(recipe, source, key, out, work));
    },
    () => timeCommand(["sh", "-c", `cd '${source}' && tar -c usr | gzip -6 > '${work}/yard.tar.gz'`]),
    () => {
      rmSync(out, { recursive: true, force: true });
      waitForTrash(scratchParent);
    },
  );
  report(
    `package, ~100 MiB source tree copied to destdir, host runner${wsDir ? `, --workspace-dir ${wsDir}` : ""}`,
    "pulumi-distroless package",
    "tar -c usr | gzip -6",
    runs,
    {
      kind: "ratio",
      max: 1,
    },
  );
  const alone = median(recipeAlone.map((r) => r.seconds));
  const aloneCpu = median(recipeAlone.map((r) => r.cpu));
  const ours = median(runs.ours.map((r) => r.seconds));
  const oursCpu = median(runs.ours.map((r) => r.cpu));
  console.log(
    `  recipe alone (cp -a usr into ${scratchParent}): ${alone.toFixed(2)} s, CPU ${aloneCpu.toFixed(2)} s` +
      ` = ${((alone / ours) * 100).toFixed(0)} % of ours (CPU ${((aloneCpu / oursCpu) * 100).toFixed(0)} %);` +
      ` ours without it / yardstick: ${((ours - alone) / median(runs.yardstick.map((r) => r.seconds))).toFixed(2)}x`,
  );
}
