/**
 * Runs the compiled `test:` sections against packages (melange's Test.TestPackage): for each
 * package with tests — the main package first, then subpackages in recipe order, each in a fresh
 * guest so one test's packages cannot hide another's missing dependency — resolve the test guest
 * (its packages + the package under test, from the test environment's repositories, the caller's,
 * and a throwaway repository holding the packages under test), prepare it, populate a fresh
 * workspace with the source tree, and run the test steps. The first failing step fails the run
 * with the step's name and the tail of its output.
 *
 * bubblewrap: the steps run in the test guest as `test.environment.accounts.run-as` (unset: root,
 * as melange's runners do when it runs as root). host: there is no guest; the steps run with the
 * host's tools, the packages under test unpacked into a scratch directory whose bin directories
 * lead PATH (a trusted-recipe convenience, as the host build runner is).
 */
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { DistrolessError, errorMessage } from "../../util/errors";
import { type Progress, silentProgress } from "../../util/log";
import { extractApkInto } from "../environment/extract";
import { type GuestInstaller, prepareGuestRoot } from "../environment/guest-root";
import { type EnvironmentSources, resolveEnvironment } from "../environment/resolve";
import type { BuildPlan, BuildStep } from "../recipe/plan";
import { discardTree } from "../remove-tree";
import { bubblewrapRunner } from "../runners/bubblewrap";
import { hostRunner } from "../runners/host";
import type { StepRunner } from "../runners/runner";
import type { SourceTree } from "../source/source-tree";
import { prepareWorkspace, type Workspace } from "../source/workspace";
import type { PackageTestPlan } from "./compile-tests";
import { type StagingRepository, stageTestRepository } from "./staging-repo";

export interface RunTestsOptions {
  plan: BuildPlan;
  runner: "bubblewrap" | "host";
  /** The .apk files under test (a build's packages, or the `test` verb's arguments). */
  apks: string[];
  /** Repositories and keys added to each test environment's own (melange's --repository-append). */
  sources: Omit<EnvironmentSources, "progress" | "cacheDir">;
  cacheDir: string;
  /** In each test's workspace (/home/build), as melange's --source-dir. */
  source?: SourceTree;
  /** Share the host network with the test steps (default true, as melange does). */
  network?: boolean;
  guestInstaller?: GuestInstaller;
  onStepOutput?: (line: string) => void;
  progress?: Progress;
}

const EMPTY_TREE: SourceTree = {
  root: undefined,
  entries: [],
  excluded: [],
  complete: true,
  ownedByCaller: true,
};

export interface TestRunReport {
  /** Packages whose tests ran and passed, in order. */
  tested: string[];
}

/** Host runs: the package's binaries first on PATH. */
function withInstalledPath(step: BuildStep, root: string): BuildStep {
  const dirs = ["usr/sbin", "usr/bin", "sbin", "bin"].map((d) => path.join(root, d)).join(":");
  return { ...step, script: `PATH='${dirs}':"$PATH"; export PATH\n${step.script}` };
}

async function runOne(
  test: PackageTestPlan,
  options: RunTestsOptions,
  staged: StagingRepository,
  scratch: string,
  progress: Progress,
): Promise<void> {
  const cacheMount = path.join(scratch, `cache-${test.pkg}`);
  await fsp.mkdir(cacheMount, { recursive: true });
  // The source tree mounted (or copied where it cannot be) as for the build: source/workspace.ts.
  const ws = await prepareWorkspace(options.source ?? EMPTY_TREE, path.join(scratch, `ws-${test.pkg}`), [], {
    runner: options.runner,
  });
  try {
    await runIn(ws, test, options, staged, scratch, progress, cacheMount);
  } finally {
    await ws.release();
  }
}

async function runIn(
  ws: Workspace,
  test: PackageTestPlan,
  options: RunTestsOptions,
  staged: StagingRepository,
  scratch: string,
  progress: Progress,
  cacheMount: string,
): Promise<void> {
  const workspace = ws.dir;
  const enter = ws.kind === "overlay" ? { enter: ws.enter } : {};
  const onLine = options.onStepOutput ?? ((line: string) => progress.info(`  | ${line}`));
  let runner: StepRunner;
  let installedRoot: string | undefined;
  if (options.runner === "bubblewrap") {
    const resolved = await resolveEnvironment(test.environment, options.plan.arch, {
      ...options.sources,
      repositories: [...(options.sources.repositories ?? []), ...(staged.packages.size ? [staged.repo] : [])],
      keyring: [...(options.sources.keyring ?? []), staged.publicKeyFile],
      cacheDir: options.cacheDir,
      progress,
    });
    const guest = await prepareGuestRoot({
      cacheDir: options.cacheDir,
      lock: resolved.lock,
      env: test.environment,
      fetch: (p) => resolved.fetch(p),
      progress,
      ...(options.guestInstaller ? { installer: options.guestInstaller } : {}),
    });
    runner = await bubblewrapRunner({
      guestRoot: guest.dir,
      environment: test.environment,
      workspace,
      cacheMount,
      onLine,
      ...enter,
      capabilities: options.plan.capabilities,
      ...(options.network === false ? { network: false } : {}),
    });
  } else {
    const apk = staged.packages.get(test.pkg);
    if (!apk) {
      throw new DistrolessError(
        "E_MISSING",
        `the host runner tests only packages given as apks, and no apk of ${test.pkg} was given (given: ${[...staged.packages.keys()].join(", ") || "none"})`,
        { subject: test.pkg },
      );
    }
    installedRoot = path.join(scratch, `installed-${test.pkg}`);
    await fsp.mkdir(installedRoot, { recursive: true });
    await extractApkInto(installedRoot, apk);
    runner = hostRunner({ workspace, cacheMount, onLine, ...enter });
  }
  for (const step of test.steps) {
    const label = `${test.pkg} test: ${step.name}`;
    progress.info(`running ${label}`);
    await runner.runStep(installedRoot ? withInstalledPath(step, installedRoot) : step, label);
  }
}

/** Runs every test section of the plan; throws E_BUILD naming the package and step that failed. */
export async function runPackageTests(options: RunTestsOptions): Promise<TestRunReport> {
  const progress = options.progress ?? silentProgress;
  const tests = options.plan.tests ?? [];
  if (tests.length === 0) return { tested: [] };
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), "pd-test-"));
  try {
    const staged = await stageTestRepository(path.join(scratch, "staging"), options.apks);
    const tested: string[] = [];
    for (const test of tests) {
      progress.info(`testing ${test.pkg} (${test.steps.length} step(s))`);
      try {
        await runOne(test, options, staged, scratch, progress);
      } catch (err) {
        if (err instanceof DistrolessError && err.code === "E_BUILD") {
          throw new DistrolessError("E_BUILD", `test failed: ${errorMessage(err)}`, {
            subject: test.pkg,
            cause: err,
          });
        }
        throw err;
      }
      tested.push(test.pkg);
    }
    return { tested };
  } finally {
    await discardTree(scratch);
  }
}
