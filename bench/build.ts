/**
 * Package build speed.
 *  1. Overhead of a build whose pipeline does nothing (`runs: "true"`), sandboxed with bubblewrap in
 *     a busybox environment from a local signed repository: cold (guest made) once, then warm
 *     (environment from the cache) several times, with the phases timed separately: compile,
 *     prepare (compile + source digest + environment resolution from cached indexes + inputDigest),
 *     sandbox start (one bwrap step), emission + signing (4096-bit key).
 *  2. Emission throughput for a ~100 MB destdir (60% text-like, 40% random; many small files, a few
 *     large), beside `tar -c | gzip -6` of the same directory, in the same run.
 *
 *   node dist/bench/build.js [--mb 100] [--runs 10]
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { generateSigningKey, parsePrivateKey } from "../provider/apk/keys";
import { buildPackage } from "../provider/build/build";
import { directoryPackageFs } from "../provider/build/detect/package-fs";
import { emitPackage } from "../provider/build/emit/emit-package";
import { prepareGuestRoot } from "../provider/build/environment/guest-root";
import { prepareBuild } from "../provider/build/prepare";
import { compileRecipe, loadRecipe } from "../provider/build/recipe";
import { bubblewrapRunner } from "../provider/build/runners/bubblewrap";
import { makeBusyboxRepo } from "../test/build/build-helpers";
import { median, rng } from "./_common";

const NOOP_RECIPE = `package:
  name: noop
  version: 1.0
  epoch: 0
  copyright:
    - license: MIT
environment:
  contents:
    packages:
      - busybox
pipeline:
  - runs: "true"
`;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
/** A deterministic ~`mb` MB tree: many small text files, some medium, a few large binaries. */
function makeDestdir(dir: string, mb: number): { files: number; bytes: number } {
  const rand = rng(7);
  const words = "lorem ipsum dolor sit amet server listen port value true false null return const".split(" ");
  let corpus = "";
  while (corpus.length < 8 << 20) {
    corpus += `${Array.from({ length: 8 }, () => words[Math.floor(rand() * words.length)]).join(" ")} ${Math.floor(rand() * 1e5)}\n`;
  }
  const text = Buffer.from(corpus);
  let bytes = 0;
  let files = 0;
  for (let i = 0; bytes < mb << 20; i++) {
    const d = path.join(dir, "usr/share/bench", `d${i % 31}`, `s${i % 5}`);
    mkdirSync(d, { recursive: true });
    const r = rand();
    const n =
      r < 0.9
        ? 256 + Math.floor(rand() * 8192)
        : r < 0.995
          ? 32768 + Math.floor(rand() * 98304)
          : (1 << 20) + Math.floor(rand() * (3 << 20));
    const body = rand() < 0.6 ? text.subarray(0, n) : randomBytes(n);
    writeFileSync(path.join(d, `f${i}`), body);
    bytes += n;
    files++;
  }
  return { files, bytes };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const mb = Number(argv[argv.indexOf("--mb") + 1] ?? 100) || 100;
  const runs = Number(argv[argv.indexOf("--runs") + 1] ?? 10) || 10;
  const work = mkdtempSync(path.join(os.tmpdir(), "pd-bench-build-"));
  const quiet = { info: () => {}, warn: () => {} };
  try {
    const key = parsePrivateKey((await generateSigningKey(4096)).privateKeyPem, "bench.rsa.pub");
    // The build environment: busybox from the host's static binary, in a signed local repository
    // (made as the sandbox tests make it; its cache is <work>/cache).
    const bb = await makeBusyboxRepo(work);
    const cacheDir = path.join(work, "cache");

    const recipeFile = path.join(work, "noop.yaml");
    writeFileSync(recipeFile, NOOP_RECIPE);
    const src = path.join(work, "noop-src");
    mkdirSync(src);
    const inputs = {
      recipeFile,
      sourceDir: src,
      arch: "x86_64",
      runner: "bubblewrap" as const,
      signingKey: key,
      cacheDir,
      repositories: [bb.repo],
      keyring: [bb.publicKey],
      progress: quiet,
    };

    let t = process.hrtime.bigint();
    await buildPackage({ ...inputs, outDir: path.join(work, "noop-cold") });
    const cold = ms(t);

    const totals: number[] = [];
    for (let i = 0; i < runs; i++) {
      t = process.hrtime.bigint();
      await buildPackage({ ...inputs, outDir: path.join(work, `noop-${i}`) });
      totals.push(ms(t));
    }

    // The phases, each on its own.
    const compile: number[] = [];
    const prepare: number[] = [];
    const sandbox: number[] = [];
    const emit: number[] = [];
    const prepared = await prepareBuild(inputs);
    const guest = await prepareGuestRoot({
      cacheDir,
      lock: prepared.environment,
      env: prepared.plan.environment,
      fetch: (p) => prepared.resolved!.fetch(p),
    });
    /** Emits `dir` as the noop package (detection, SBOM, .apk, signing), as a build does. */
    const emitDir = (dir: string, output: string) => {
      const fs = directoryPackageFs(dir);
      return emitPackage({
        meta: prepared.plan.package,
        origin: prepared.plan.package,
        arch: "x86_64",
        dir,
        fs,
        relatives: [{ name: "noop", fs }],
        output,
        melangeYaml: "package: {}\n",
        signingKey: key,
        sourceDateEpoch: 0,
        rootIds: { uids: [0], gids: [0] },
        namespace: "unknown",
        progress: quiet,
      });
    };
    const ws = path.join(work, "ws");
    mkdirSync(path.join(ws, "melange-out/noop"), { recursive: true });
    const runner = await bubblewrapRunner({
      guestRoot: guest.dir,
      environment: prepared.plan.environment,
      workspace: ws,
      cacheMount: path.join(cacheDir, "melange-cache"),
    });
    for (let i = 0; i < runs; i++) {
      t = process.hrtime.bigint();
      compileRecipe(await loadRecipe(recipeFile), { arch: "x86_64" });
      compile.push(ms(t));
      t = process.hrtime.bigint();
      await prepareBuild(inputs);
      prepare.push(ms(t));
      t = process.hrtime.bigint();
      await runner.runStep(prepared.plan.steps[0]!, "noop: true");
      sandbox.push(ms(t));
      t = process.hrtime.bigint();
      await emitDir(path.join(ws, "melange-out/noop"), path.join(work, "emit", `noop-${i}.apk`));
      emit.push(ms(t));
    }
    const f = (x: number) => `${x.toFixed(1)} ms`;
    console.log(`no-op build, bubblewrap, busybox environment (${runs} runs, medians):`);
    console.log(`  first build (guest installed from the repository): ${f(cold)}`);
    console.log(
      `  build with the cached environment: ${f(median(totals))} (min ${f(Math.min(...totals))}; target < 300 ms)`,
    );
    console.log(`    compile: ${f(median(compile))}`);
    console.log(
      `    prepare (compile, source digest, environment from cached indexes, inputDigest): ${f(median(prepare))}`,
    );
    console.log(`    sandbox start + no-op step (bwrap): ${f(median(sandbox))}`);
    console.log(`    emission + signing (detection, SBOM, .apk, RSA-4096): ${f(median(emit))}`);

    // 2. Emission throughput.
    const dest = path.join(work, "dest");
    const made = makeDestdir(dest, mb);
    const MiB = made.bytes / (1 << 20);
    const emitTimes: number[] = [];
    let apkSize = 0;
    for (let i = 0; i < 3; i++) {
      spawnSync("sync");
      t = process.hrtime.bigint();
      const out = await emitDir(dest, path.join(work, "big", `big-${i}.apk`));
      emitTimes.push(ms(t));
      apkSize = out.size;
    }
    const tarTimes: number[] = [];
    let tgzSize = 0;
    for (let i = 0; i < 3; i++) {
      const target = path.join(work, "baseline.tar.gz");
      t = process.hrtime.bigint();
      const r = spawnSync("sh", ["-c", `tar -c -C '${dest}' . | gzip -6 > '${target}'`], {
        stdio: "inherit",
      });
      if (r.status !== 0) throw new Error("tar | gzip failed");
      tarTimes.push(ms(t));
      tgzSize = statSync(target).size;
    }
    const ours = median(emitTimes);
    const base = median(tarTimes);
    console.log(
      `emission of a ${MiB.toFixed(1)} MiB destdir (${made.files} files; medians of 3, ${os.cpus().length} CPUs):`,
    );
    console.log(
      `  ours (detection + SBOM + data tar + gzip -6 + SHA-1/SHA-256 + sign): ${f(ours)}  ${(MiB / (ours / 1000)).toFixed(0)} MiB/s, apk ${(apkSize / (1 << 20)).toFixed(1)} MiB`,
    );
    console.log(
      `  tar -c | gzip -6:                                                   ${f(base)}  ${(MiB / (base / 1000)).toFixed(0)} MiB/s, tgz ${(tgzSize / (1 << 20)).toFixed(1)} MiB`,
    );
    console.log(`  ratio ours / tar|gzip: ${(ours / base).toFixed(2)} (target <= 1.0)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
