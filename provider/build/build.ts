/**
 * buildPackage: recipe -> signed apks for one arch, the way `melange build` makes them.
 *   1. prepare (compile, runner, source digest, environment lock, inputDigest) — errors in the
 *      recipe stop the build here, before anything runs;
 *   2. a workspace with the source copied in and melange-out/<pkg> for every package;
 *   3. the guest root (bubblewrap; cached by the lock) and the steps, main package then subpackages;
 *   4. each (sub)package emitted to <out>/<arch>/<name>-<ver>-r<epoch>.apk.
 * The melange runner hands steps 2-4 to a real `melange` binary.
 */
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { packageFilePath } from "../apk/names";
import { DistrolessError, errorMessage } from "../util/errors";
import { type Progress, silentProgress } from "../util/log";
import { directoryPackageFs } from "./detect/package-fs";
import { type EmittedPackage, emitPackage } from "./emit/emit-package";
import { licenseTextsOf } from "./emit/license-texts-of";
import { renderMelangeYaml } from "./emit/melange-yaml";
import { type OwnerNames, readOwnerNames } from "./emit/owner-names";
import { type BuildCache, harvestBuildCache, prepareBuildCache } from "./environment/build-cache";
import { type GuestInstaller, prepareGuestRoot } from "./environment/guest-root";
import type { EnvironmentLock } from "./environment/lock";
import { type LintSettings, lintPackages } from "./lint/lint";
import { type BuildInputs, type PreparedBuild, prepareBuild } from "./prepare";
import { type WrittenProvenance, writeBuildProvenance } from "./provenance";
import { BUILD_ID } from "./recipe/environment";
import type { BuildStep } from "./recipe/plan";
import { discardTree, sweepTrash } from "./remove-tree";
import { bubblewrapRunner, runAsIds } from "./runners/bubblewrap";
import { hostRunner } from "./runners/host";
import { buildWithMelange } from "./runners/melange";
import type { StepRunner } from "./runners/runner";
import { prepareWorkspace, type Workspace } from "./source/workspace";
import { testUsesOf } from "./test/compile-tests";
import { runPackageTests } from "./test/run-tests";

export interface BuildPackageOptions extends BuildInputs {
  /** Packages go to `<outDir>/<arch>/`. */
  outDir: string;
  /** Share the host network with sandboxed steps (default true; `fetch` needs it). */
  network?: boolean;
  /** Keep the workspace (its path is reported) instead of deleting it. */
  keepWorkspace?: boolean;
  /**
   * Where the build's scratch dir (workspace, overlay upper) is made; default the temp dir. A tmpfs
   * (/dev/shm) makes the recipe's own file writes cheap (creating a file on an ext4 disk can cost
   * more than compressing it), but holds everything the build writes in memory: a big build can
   * exhaust it. melange's --workspace-dir.
   */
  workspaceDir?: string;
  /** Installs the build guest (default: the image installer, `imageInstaller`). */
  guestInstaller?: GuestInstaller;
  /** Receives every output line of every step (default: progress.info). */
  onStepOutput?: (line: string) => void;
  /** Which linters fail the build and which warn (melange's --lint-require / --lint-warn). */
  lint?: LintSettings;
  /** Do not run the recipe's `test:` sections (melange's build never does; `package` does by default). */
  skipTests?: boolean;
  /** Write SLSA provenance beside each apk (melange's --generate-provenance). */
  generateProvenance?: boolean;
}

/** A package the build wrote: what emission reports, and its provenance file when asked for. */
export interface BuiltPackage extends EmittedPackage {
  provenance?: WrittenProvenance;
}

async function withProvenance(
  prepared: PreparedBuild,
  options: BuildPackageOptions,
  packages: EmittedPackage[],
): Promise<BuiltPackage[]> {
  if (!options.generateProvenance) return packages;
  const yaml = renderMelangeYaml(prepared.plan, prepared.environment);
  const written = await writeBuildProvenance(prepared, options, packages, yaml);
  return packages.map((p) => ({ ...p, provenance: written.get(p.file)! }));
}

export interface BuildResult {
  packages: BuiltPackage[];
  inputDigest: string;
  runner: PreparedBuild["runner"];
  environment: EnvironmentLock;
  /** Set when keepWorkspace was asked for. */
  workspace?: string;
}

async function runSteps(runner: StepRunner, prepared: PreparedBuild, progress: Progress) {
  const plan = prepared.plan;
  // melange's package.timeout bounds the whole pipeline; each step gets what is left of it.
  const timeoutMs = plan.package.timeoutSeconds ? plan.package.timeoutSeconds * 1000 : undefined;
  const deadline = timeoutMs ? Date.now() + timeoutMs : undefined;
  const groups: { pkg: string; steps: BuildStep[] }[] = [
    { pkg: plan.package.name, steps: plan.steps },
    ...plan.subpackages.map((s) => ({ pkg: s.name, steps: s.steps })),
  ];
  for (const g of groups) {
    for (const step of g.steps) {
      const label = `${g.pkg}: ${step.name}`;
      const left = deadline === undefined ? undefined : deadline - Date.now();
      if (left !== undefined && left <= 0) {
        throw new DistrolessError(
          "E_BUILD",
          `the build ran past its timeout (${plan.package.timeoutSeconds} s) before step "${label}"`,
        );
      }
      progress.info(`running ${label}`);
      await runner.runStep(step, label, left);
    }
  }
}

/** Every step's script, main package and subpackages: what the build cache looks for checksums in. */
function stepScripts(plan: PreparedBuild["plan"]): string[] {
  return [...plan.steps, ...plan.subpackages.flatMap((s) => s.steps)].map((s) => s.script);
}

export async function buildPackage(options: BuildPackageOptions): Promise<BuildResult> {
  const progress = options.progress ?? silentProgress;
  const prepared = await prepareBuild(options);
  const plan = prepared.plan;
  if (prepared.runner === "melange") {
    const packages = await withProvenance(prepared, options, await buildWithMelange(prepared, options));
    return {
      packages,
      inputDigest: prepared.inputDigest,
      runner: "melange",
      environment: prepared.environment,
    };
  }
  if (prepared.runner === "host" && plan.environment.contents.packages.length > 0) {
    progress.info(
      `host runner: the build environment (${plan.environment.contents.packages.join(", ")}) is not installed; steps use the host's tools`,
    );
  }

  const scratchParent = options.workspaceDir ? path.resolve(options.workspaceDir) : os.tmpdir();
  const scratch = await fsp
    .mkdir(scratchParent, { recursive: true })
    .then(() => fsp.mkdtemp(path.join(scratchParent, "pd-build-")))
    .catch((err: unknown) => {
      throw new DistrolessError(
        "E_CONFIG",
        `cannot make the build workspace in ${scratchParent}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}`,
        { subject: "workspaceDir" },
      );
    });
  let workspace = path.join(scratch, "workspace");
  let ws: Workspace | undefined;
  // The host runner trusts its recipe (it runs on the host anyway) and uses the shared cache; a
  // sandboxed build gets its own, seeded read-only from the shared one (build-cache.ts).
  const sharedCache = path.join(prepared.cacheDir, "melange-cache");
  let buildCache: BuildCache | undefined;
  let stagingDir: string | undefined;
  let keep = false;
  try {
    await fsp.mkdir(sharedCache, { recursive: true });
    const names = [plan.package.name, ...plan.subpackages.map((s) => s.name)];
    ws = await prepareWorkspace(prepared.source, scratch, names, {
      runner: prepared.runner,
      keep: options.keepWorkspace === true,
      onFallback: (why) => progress.info(`workspace: source tree copied (${why})`),
    });
    workspace = ws.dir;
    if (ws.kind === "overlay" && prepared.source.entries.length > 0)
      progress.info(`workspace: source tree mounted (overlay), not copied`);

    const onLine = options.onStepOutput ?? ((line: string) => progress.info(`  | ${line}`));
    let runner: StepRunner;
    let ownerNames: OwnerNames | undefined;
    if (prepared.runner === "bubblewrap") {
      const resolved = prepared.resolved!;
      const guest = await prepareGuestRoot({
        cacheDir: prepared.cacheDir,
        lock: resolved.lock,
        env: plan.environment,
        fetch: (p) => resolved.fetch(p),
        progress,
        ...(options.guestInstaller ? { installer: options.guestInstaller } : {}),
      });
      progress.info(
        `build guest ${guest.key.slice(0, 12)} ${guest.reused ? "reused from the cache" : "prepared"}`,
      );
      ownerNames = await readOwnerNames(guest.dir);
      buildCache = await prepareBuildCache(sharedCache, scratch, stepScripts(plan));
      runner = await bubblewrapRunner({
        guestRoot: guest.dir,
        environment: plan.environment,
        workspace,
        cacheMount: buildCache.dir,
        cacheSeeds: buildCache.seeds,
        onLine,
        ...(ws.kind === "overlay" ? { enter: ws.enter } : {}),
        capabilities: plan.capabilities,
        ...(options.network === false ? { network: false } : {}),
      });
    } else {
      runner = hostRunner({
        workspace,
        cacheMount: sharedCache,
        onLine,
        ...(ws.kind === "overlay" ? { enter: ws.enter } : {}),
      });
    }
    await runSteps(runner, prepared, progress);
    if (buildCache) {
      const kept = await harvestBuildCache(buildCache, sharedCache, progress);
      if (kept > 0) progress.info(`build cache: ${kept} verified download(s) kept for later builds`);
    }

    const outDirOf = (n: string) => ws!.outputDir(n);
    const relatives = names.map((n) => ({ name: n, fs: directoryPackageFs(outDirOf(n)) }));
    // Linted before anything is packaged: a required linter's finding leaves no apk behind.
    await lintPackages(
      [plan.package, ...plan.subpackages].map((meta, i) => ({
        name: meta.name,
        dir: outDirOf(meta.name),
        fs: relatives[i]!.fs,
        disabled: meta.checks.disabled,
        testUses: testUsesOf(plan, meta.name),
      })),
      options.lint ?? {},
      progress,
    );
    const melangeYaml = renderMelangeYaml(plan, prepared.environment);
    const ids = runAsIds(plan.environment);
    const rootIds = {
      uids: [BUILD_ID, ids.uid, process.getuid?.() ?? 0],
      gids: [BUILD_ID, ids.gid, process.getgid?.() ?? 0],
    };
    const outDir = path.resolve(options.outDir);
    // Packages are written to a staging directory beside their destination and moved into place
    // only once every test passed: a package whose tests fail is never in --out.
    await fsp.mkdir(outDir, { recursive: true });
    const staging = await fsp.mkdtemp(path.join(outDir, ".pd-staging-"));
    stagingDir = staging;
    const texts = await licenseTextsOf(plan.package.copyright, ws);
    const emitted: EmittedPackage[] = [];
    for (const meta of [plan.package, ...plan.subpackages]) {
      const pkg = await emitPackage({
        meta,
        origin: plan.package,
        arch: plan.arch,
        dir: outDirOf(meta.name),
        fs: relatives.find((r) => r.name === meta.name)!.fs,
        relatives,
        // Named from checked parts only: a recipe's name or version never leaves --out.
        output: packageFilePath(staging, plan.arch, meta.name, plan.package.fullVersion),
        melangeYaml,
        sourceDateEpoch: prepared.sourceDateEpoch,
        rootIds,
        namespace: prepared.namespace,
        licenseTexts: texts,
        progress,
        ...(ownerNames ? { ownerNames } : {}),
        ...(prepared.signingKey ? { signingKey: prepared.signingKey } : {}),
        ...(prepared.recipeFile ? { recipeFile: path.basename(prepared.recipeFile) } : {}),
      });
      emitted.push(pkg);
    }
    if (plan.tests.length > 0 && options.skipTests) {
      progress.info(`tests of ${plan.tests.map((t) => t.pkg).join(", ")} skipped`);
    } else if (plan.tests.length > 0) {
      await runPackageTests({
        plan,
        runner: prepared.runner,
        apks: emitted.map((p) => p.file),
        sources: {
          ...(options.repositories ? { repositories: options.repositories } : {}),
          ...(options.keyring ? { keyring: options.keyring } : {}),
          ...(options.baseDir ? { baseDir: options.baseDir } : {}),
          ...(options.offline ? { offline: true } : {}),
          ...(options.allowUntrusted ? { allowUntrusted: true } : {}),
        },
        cacheDir: prepared.cacheDir,
        source: prepared.source,
        onStepOutput: onLine,
        progress,
        ...(options.network === false ? { network: false } : {}),
        ...(options.guestInstaller ? { guestInstaller: options.guestInstaller } : {}),
      });
    }
    for (const p of emitted) {
      const final = packageFilePath(outDir, plan.arch, p.name, plan.package.fullVersion);
      await fsp.mkdir(path.dirname(final), { recursive: true });
      await fsp.rename(p.file, final);
      p.file = final;
    }
    const packages = await withProvenance(prepared, options, emitted);
    keep = options.keepWorkspace === true;
    const result: BuildResult = {
      packages,
      inputDigest: prepared.inputDigest,
      runner: prepared.runner,
      environment: prepared.environment,
    };
    if (keep) result.workspace = workspace;
    return result;
  } catch (err) {
    if (options.keepWorkspace) {
      keep = true;
      progress.warn(`build failed (${errorMessage(err).split("\n")[0]}); workspace kept at ${workspace}`);
    }
    throw err;
  } finally {
    if (stagingDir) await fsp.rm(stagingDir, { recursive: true, force: true }).catch(() => {});
    await ws?.release();
    // In the background: the packages are written; removing the workspace is not on their path.
    if (!keep) await discardTree(scratch);
    void sweepTrash(scratchParent);
  }
}
