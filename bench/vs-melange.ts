/**
 * Side by side (issue #16): a package build by ours (bubblewrap runner) against `melange build`
 * (its bubblewrap runner), on the same recipe, the same offline environment repository (busybox
 * from Debian's busybox-static, published with our tools) and the same SOURCE_DATE_EPOCH. Both with
 * warm caches (one untimed build each first); runs alternate so drift hits both alike. Prints the
 * medians and the ratio ours / melange beside the goal (<= 1.0).
 *
 * A second row builds a recipe whose source dir holds a large tree (`cp -a usr` into the destdir,
 * ~100 MiB in 4,400 files by default, as bench/commands' package row): melange copies the tree
 * into its workspace, ours mounts it (source/workspace.ts).
 *
 *   node dist/bench/vs-melange.js [--runs 7] [--recipe FILE] [--tree-runs 3] [--mb 100] [--files 4400]
 *   (--tree-runs 0 skips the tree row)
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { removalsSettled } from "../provider/build/remove-tree";
import {
  type MelangeEnv,
  makeMelangeEnv,
  melangeBuild,
  ourBuild,
  type RecipeBuild,
} from "../test/conformance/melange-env";
import { tool } from "../test/helpers/tools";
import { median } from "./_common";
import { makeTree } from "./commands/_shared";

/** A small but real package: a few files, a symlink, a subpackage, detected commands. */
const RECIPE = `package:
  name: bench-pkg
  version: 1.0.0
  epoch: 0
  description: the side-by-side bench package
  copyright:
    - license: MIT
environment:
  contents:
    packages:
      - busybox
pipeline:
  - runs: |
      d=\${{targets.destdir}}
      mkdir -p $d/usr/bin $d/usr/share/bench
      for i in $(seq 1 200); do echo "line $i of the bench data" > $d/usr/share/bench/f$i.txt; done
      printf '#!/bin/sh\\necho bench\\n' > $d/usr/bin/bench
      chmod 755 $d/usr/bin/bench
      ln -s bench $d/usr/bin/bench-alias
subpackages:
  - name: bench-pkg-doc
    pipeline:
      - runs: |
          mkdir -p \${{targets.contextdir}}/usr/share
          mv \${{targets.destdir}}/usr/share/bench \${{targets.contextdir}}/usr/share/
`;

/** The source-tree recipe: the sandboxed twin of bench/commands' package row. */
const TREE_RECIPE = `package:
  name: bench-tree
  version: 1.0.0
  epoch: 0
  description: a large source tree copied into the package
  copyright:
    - license: MIT
environment:
  contents:
    packages:
      - busybox
pipeline:
  - runs: cp -a usr "\${{targets.destdir}}"
`;

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const melange = tool("melange");
  if (!melange) {
    console.log("vs-melange: skipped (no melange: scripts/tools.sh melange builds it, with Go)");
    return;
  }
  const runs = Number(flag("runs") ?? 7);
  const dir = mkdtempSync(path.join(os.tmpdir(), "pd-bench-vs-melange-"));
  try {
    const env = await makeMelangeEnv(path.join(dir, "env"));
    const src = path.join(dir, "src");
    mkdirSync(src);
    let recipe = flag("recipe");
    if (!recipe) {
      recipe = path.join(dir, "recipe", "bench-pkg.yaml");
      mkdirSync(path.dirname(recipe));
      writeFileSync(recipe, RECIPE);
    }
    await sideBySide(melange, env, path.basename(recipe), runs, (out) => ({
      recipe: recipe!,
      sourceDir: src,
      outDir: path.join(dir, out),
    }));
    const treeRuns = Number(flag("tree-runs") ?? 3);
    if (treeRuns > 0) {
      const tree = path.join(dir, "tree");
      const mb = Number(flag("mb") ?? 100);
      const files = Number(flag("files") ?? 4400);
      const bytes = makeTree(path.join(tree, "src"), mb, files);
      const treeRecipe = path.join(tree, "recipe", "bench-tree.yaml");
      mkdirSync(path.dirname(treeRecipe));
      writeFileSync(treeRecipe, TREE_RECIPE);
      const label = `bench-tree.yaml (${(bytes / 2 ** 20).toFixed(0)} MiB source tree in ${files} files)`;
      await sideBySide(melange, env, label, treeRuns, (out) => {
        // Each build's output is removed before the next: 100 MiB per run would fill /tmp.
        rmSync(path.join(tree, "out"), { recursive: true, force: true });
        return { recipe: treeRecipe, sourceDir: path.join(tree, "src"), outDir: path.join(tree, "out", out) };
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU seconds (user + system) of this process (all its threads) and of the children it has reaped
 * (bwrap, the steps' shells, melange and everything melange ran): from /proc/self/stat, so a
 * build's sandboxed work counts for both sides. Steadier than wall time on a shared machine.
 */
function cpuSeconds(): number {
  const stat = readFileSync("/proc/self/stat", "utf8");
  // Fields after the command name: state is field 3; utime, stime, cutime, cstime are 14-17.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
}

/** Alternating builds of one recipe by ours and melange (after one warm-up each); prints the row. */
async function sideBySide(
  melange: string,
  env: MelangeEnv,
  label: string,
  runs: number,
  b: (out: string) => RecipeBuild,
): Promise<void> {
  const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
  // Warm-up: our guest root and melange's apk cache are filled here.
  await ourBuild(env, b("warm-ours"));
  await melangeBuild(melange, env, b("warm-melange"));
  const ours: number[] = [];
  const theirs: number[] = [];
  const oursCpu: number[] = [];
  const theirsCpu: number[] = [];
  for (let i = 0; i < runs; i++) {
    const mine = b(`ours-${i}`);
    let c0 = cpuSeconds();
    let t0 = process.hrtime.bigint();
    await ourBuild(env, mine);
    ours.push(ms(t0));
    // Our workspace is removed in the background once the packages are written (remove-tree.ts):
    // not in our wall time, as for a user, but in our CPU, and never in melange's run.
    await removalsSettled();
    oursCpu.push(cpuSeconds() - c0);
    const other = b(`melange-${i}`);
    c0 = cpuSeconds();
    t0 = process.hrtime.bigint();
    await melangeBuild(melange, env, other);
    theirs.push(ms(t0));
    theirsCpu.push(cpuSeconds() - c0);
  }
  const mo = median(ours);
  const mt = median(theirs);
  const co = median(oursCpu);
  const ct = median(theirsCpu);
  console.log(
    `package build, ${label}, ${runs} alternating runs, warm caches, load ${os.loadavg()[0]!.toFixed(1)}:`,
  );
  console.log(
    `  ours (bubblewrap)           median ${mo.toFixed(0)} ms  CPU ${co.toFixed(2)} s  (${ours.map((x) => x.toFixed(0)).join(", ")})`,
  );
  console.log(
    `  melange build (bubblewrap)  median ${mt.toFixed(0)} ms  CPU ${ct.toFixed(2)} s  (${theirs.map((x) => x.toFixed(0)).join(", ")})`,
  );
  console.log(
    `  ratio ours / melange: ${(mo / mt).toFixed(2)} (goal <= 1.0)  CPU ratio ${(co / ct).toFixed(2)}` +
      "  (ours runs in this process: no Node start-up; melange is a whole command)",
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
