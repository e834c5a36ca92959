/**
 * Side by side (issue #16): a package build by ours (bubblewrap runner) against `melange build`
 * (its bubblewrap runner), on the same recipe, the same offline environment repository (busybox
 * from Debian's busybox-static, published with our tools) and the same SOURCE_DATE_EPOCH. Both with
 * warm caches (one untimed build each first); runs alternate so drift hits both alike. Prints the
 * medians and the ratio ours / melange beside the goal (<= 1.0).
 *
 *   node dist/bench/vs-melange.js [--runs 7] [--recipe FILE]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { makeMelangeEnv, melangeBuild, ourBuild } from "../test/conformance/melange-env";
import { tool } from "../test/helpers/tools";
import { median } from "./_common";

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
    const b = (out: string) => ({ recipe: recipe!, sourceDir: src, outDir: path.join(dir, out) });
    const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
    // Warm-up: our guest root and melange's apk cache are filled here.
    await ourBuild(env, b("warm-ours"));
    await melangeBuild(melange, env, b("warm-melange"));
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t0 = process.hrtime.bigint();
      await ourBuild(env, b(`ours-${i}`));
      ours.push(ms(t0));
      t0 = process.hrtime.bigint();
      await melangeBuild(melange, env, b(`melange-${i}`));
      theirs.push(ms(t0));
    }
    const mo = median(ours);
    const mt = median(theirs);
    console.log(`package build, ${path.basename(recipe)}, ${runs} alternating runs, warm caches:`);
    console.log(
      `  ours (bubblewrap)           median ${mo.toFixed(0)} ms  (${ours.map((x) => x.toFixed(0)).join(", ")})`,
    );
    console.log(
      `  melange build (bubblewrap)  median ${mt.toFixed(0)} ms  (${theirs.map((x) => x.toFixed(0)).join(", ")})`,
    );
    console.log(`  ratio ours / melange: ${(mo / mt).toFixed(2)} (goal <= 1.0)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
