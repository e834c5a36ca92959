/**
 * The `test:` sections of a recipe compiled like its pipelines (melange's Build.Compile /
 * Test.Compile): per package with tests, the test guest and the flattened test steps.
 *
 * Facts taken from melange v0.59.1 (pkg/build/compile.go, test.go, pkg/config/config.go):
 *  - the test guest is `test.environment` only; the build environment's repositories and packages
 *    are not inherited (the runtime dependencies come with the package under test);
 *  - its packages get the package under test (the main package, or the subpackage for a
 *    subpackage's test) and every package the test steps need, sorted and deduplicated;
 *  - the `build` user and group are added as for the build guest; `run-as` stays as written
 *    (unset: root);
 *  - steps see the build environment's variables overlaid with the test environment's own;
 *  - substitutions are the build's (a subpackage test sees the subpackage's `targets.*`/`subpkg.*`).
 */
import type { SourceInfo } from "../../config";
import type { ApkArch } from "../../image/config/arch";
import { normalizeApkoConfig } from "../../image/config/normalize";
import type { RawApkoConfig } from "../../image/config/schema";
import type { ApkoConfig } from "../../image/config/types";
import { addBuildAccount, prefixedSource } from "../recipe/environment";
import type { PipelineLoader } from "../recipe/pipelines";
import type { BuildStep } from "../recipe/plan";
import type { RecipeTest } from "../recipe/schema";
import { compileSteps, type StepCompiler } from "../recipe/steps";
import { SubstitutionError, substitute } from "../recipe/substitute";

/** One package's tests, ready to run. */
export interface PackageTestPlan {
  /** The package under test. */
  pkg: string;
  /** The test guest (its `contents.packages` include `pkg` and the steps' needs). */
  environment: ApkoConfig;
  steps: BuildStep[];
  /** The `uses` of the top-level test steps (the pkgconf and lddcheck linters look for theirs). */
  uses: string[];
}

export interface TestSectionInput {
  pkg: string;
  test: RecipeTest | undefined;
  /** `test` or `subpackages[N].test`, for error paths. */
  at: string;
  /** The substitution values of the package (main or subpackage). */
  values: ReadonlyMap<string, string>;
  source: SourceInfo;
  baseDir: string;
  loader: PipelineLoader;
  /** The build guest's variables (with melange's defaults). */
  buildEnvironment: Record<string, string>;
  arch: ApkArch;
}

function sortedUnique(list: string[]): string[] {
  return [...new Set(list)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The test plan of one package; `undefined` when it has no test steps (melange's IsTestless). */
export function compileTestSection(input: TestSectionInput): PackageTestPlan | undefined {
  const { test, at, source } = input;
  if (!test || (test.pipeline ?? []).length === 0) return undefined;
  const env = normalizeApkoConfig(
    (test.environment ?? {}) as RawApkoConfig,
    prefixedSource(source, `${at}.environment`),
    input.baseDir,
  );
  env.archs = [input.arch];
  env.archsExplicit = true;
  const subst = (text: string, where: string) => {
    try {
      return substitute(text, (n) => input.values.get(n));
    } catch (err) {
      if (err instanceof SubstitutionError) throw source.error(where, err.message);
      throw err;
    }
  };
  const packages = env.contents.packages.map((p, i) => subst(p, `${at}.environment.contents.packages[${i}]`));
  const variables = { ...input.buildEnvironment, ...env.environment };
  const compiler: StepCompiler = { loader: input.loader, baseEnvironment: variables, needs: [] };
  const steps: BuildStep[] = [];
  compileSteps(
    compiler,
    test.pipeline ?? [],
    `${at}.pipeline`,
    {
      values: input.values,
      environment: {},
      uses: [],
      needs: [],
      source,
      stack: [],
    },
    steps,
  );
  env.contents.packages = sortedUnique([...packages, input.pkg, ...compiler.needs]);
  env.environment = Object.fromEntries(Object.entries(variables).sort(([a], [b]) => (a < b ? -1 : 1)));
  // melange leaves run-as unset for tests, and its runners then run the steps as root.
  env.accounts.runAs ??= "root";
  addBuildAccount(env);
  const uses = sortedUnique(steps.map((s) => s.uses[0]).filter((u): u is string => u !== undefined));
  return { pkg: input.pkg, environment: env, steps, uses };
}

/** The `uses` of a package's top-level test steps ([] without tests). */
export function testUsesOf(plan: { tests?: PackageTestPlan[] }, pkg: string): string[] {
  return plan.tests?.find((t) => t.pkg === pkg)?.uses ?? [];
}
