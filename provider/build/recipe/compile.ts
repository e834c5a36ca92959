/**
 * compileRecipe: a validated recipe + a target arch -> BuildPlan. Follows melange: build options
 * patch vars and packages; vars and var-transforms are resolved; the config-load pass substitutes
 * package.* and vars.* and unrolls ranges; subpackage `if`s are decided; then every pipeline is
 * compiled step by step with the full substitution map (see steps.ts).
 */

import { isValidPackageVersion } from "../../apk/names";
import {
  type ApkArch,
  gnuTriplet,
  goArch,
  parseArch,
  requireArch,
  rustTriplet,
} from "../../image/config/arch";
import { compileTestSection, type PackageTestPlan } from "../test/compile-tests";
import { ConditionError, evaluateCondition } from "./condition";
import { buildEnvironment } from "./environment";
import {
  checkPackageNames,
  configValues,
  type ExpandedSubpackage,
  expandSubpackages,
  firstPass,
} from "./expand";
import { recipeOrigin, recipeVars } from "./load";
import { licenseExpression, planMetadata, type Subst } from "./metadata";
import { PipelineLoader } from "./pipelines";
import { type BuildPlan, type BuildStep, OUT_DIR, type SubpackagePlan, WORKSPACE } from "./plan";
import type { Recipe } from "./schema";
import { compileSteps, type Scope, type StepCompiler } from "./steps";
import { type Lookup, SubstitutionError, substitute } from "./substitute";

export interface CompileOptions {
  /** Target arch, apk or OCI name (`x86_64`, `amd64`, `arm/v7`...). */
  arch: string;
  /** Extra vars; they win over the recipe's and the build options'. */
  vars?: Record<string, string>;
  /** Build options (keys of the recipe's `options`) to enable. */
  options?: string[];
  /** Directories searched for `uses` pipelines before the built-in ones. */
  pipelineDirs?: string[];
  /** Default 0. */
  sourceDateEpoch?: number;
  /** Base for relative local paths in `environment` (default: the recipe's directory). */
  baseDir?: string;
  /**
   * Refuse versions apk cannot parse (default true). `melange compile` does not check (its build
   * does, before anything runs), so the compile verb turns this off to accept what melange accepts.
   */
  checkVersion?: boolean;
}

/** Whether the recipe builds for `arch` (`package.target-architecture`, default all). */
export function recipeTargetsArch(recipe: Recipe, arch: string): boolean {
  const targets = recipe.package.targetArchitecture ?? ["all"];
  const want = requireArch(arch);
  return targets.includes("all") || targets.some((t) => parseArch(t) === want);
}

/** The built-in substitutions for the main package (melange's NewSubstitutionMap). */
function builtins(recipe: Recipe, arch: ApkArch, enabled: readonly string[]): Map<string, string> {
  const p = recipe.package;
  const destdir = `${OUT_DIR}/${p.name}`;
  const m = new Map<string, string>([
    ["package.name", p.name],
    ["package.version", p.version],
    ["package.epoch", String(p.epoch)],
    ["package.full-version", `${p.version}-r${p.epoch}`],
    ["package.description", p.description ?? ""],
    ["package.srcdir", WORKSPACE],
    ["targets.outdir", OUT_DIR],
    ["targets.destdir", destdir],
    ["targets.contextdir", destdir],
    ["context.name", p.name],
    ["build.arch", arch],
    ["build.goarch", goArch(arch)],
    ["host.triplet.gnu", gnuTriplet(arch, "gnu")],
    ["host.triplet.rust", rustTriplet(arch, "gnu")],
    ["cross.triplet.gnu.glibc", gnuTriplet(arch, "gnu")],
    ["cross.triplet.gnu.musl", gnuTriplet(arch, "musl")],
    ["cross.triplet.rust.glibc", rustTriplet(arch, "gnu")],
    ["cross.triplet.rust.musl", rustTriplet(arch, "musl")],
  ]);
  for (const name of Object.keys(recipe.options ?? {}))
    m.set(`options.${name}.enabled`, String(enabled.includes(name)));
  return m;
}

function subpackageValues(
  main: ReadonlyMap<string, string>,
  name: string,
  range?: { key: string; value: string },
) {
  const m = new Map(main);
  const dir = `${OUT_DIR}/${name}`;
  m.set("subpkg.name", name);
  m.set("context.name", name);
  m.set("targets.subpkgdir", dir);
  m.set("targets.contextdir", dir);
  if (range) {
    m.set("range.key", range.key);
    m.set("range.value", range.value);
  }
  return m;
}

export function compileRecipe(recipe: Recipe, options: CompileOptions): BuildPlan {
  const { source, dir } = recipeOrigin(recipe);
  const arch = requireArch(options.arch);
  if (!recipeTargetsArch(recipe, arch)) {
    throw source.error(
      "package.target-architecture",
      `${recipe.package.name} is not built for ${arch} (target-architecture: ${(recipe.package.targetArchitecture ?? []).join(", ")})`,
    );
  }

  // Build options: their vars and package changes patch the recipe.
  const enabled = [...new Set(options.options ?? [])];
  const optionVars: Record<string, string> = {};
  const optionPackages = { add: [] as string[], remove: [] as string[] };
  for (const name of enabled) {
    const opt = recipe.options?.[name];
    if (!opt) {
      const known = Object.keys(recipe.options ?? {});
      throw source.error(
        "options",
        `no build option named ${JSON.stringify(name)}${known.length ? ` (options: ${known.join(", ")})` : ""}`,
      );
    }
    Object.assign(optionVars, opt.vars ?? {});
    optionPackages.add.push(...(opt.environment?.contents?.packages?.add ?? []));
    optionPackages.remove.push(...(opt.environment?.contents?.packages?.remove ?? []));
  }

  const base = builtins(recipe, arch, enabled);
  const vars = recipeVars(recipe, (n) => base.get(n), source, { ...optionVars, ...(options.vars ?? {}) });
  const values = configValues(recipe.package, vars);

  // melange's config-load pass, then range expansion and the name rules on the result.
  const pkg = firstPass(recipe.package, values);
  const expanded = expandSubpackages(recipe, values, source);
  checkPackageNames(pkg.name, expanded, source);
  // The version names the output file (`<name>-<version>-r<epoch>.apk`): apk's grammar or nothing.
  if (options.checkVersion !== false && !isValidPackageVersion(`${pkg.version}-r${pkg.epoch}`)) {
    throw source.error(
      "package.version",
      `${JSON.stringify(pkg.version)} is not a valid apk version (like 1.2.3 or 1.2.3_rc1; no / or spaces)`,
    );
  }

  const main = new Map([...base, ...vars]);
  for (const name of [pkg.name, ...expanded.map((e) => e.subpackage.name)]) {
    main.set(`targets.package.${name}`, `${OUT_DIR}/${name}`);
  }
  const strict =
    (lookup: Lookup): Subst =>
    (text, at) => {
      try {
        return substitute(text, lookup);
      } catch (err) {
        if (err instanceof SubstitutionError) throw source.error(at, err.message);
        throw err;
      }
    };
  const mainSubst = strict((n) => main.get(n));

  const built = expanded.filter((e) => subpackageIsBuilt(e, main, source));

  const loader = new PipelineLoader(options.pipelineDirs ?? []);
  const sourceDateEpoch = options.sourceDateEpoch ?? 0;
  const rawEnv = firstPass(recipe.environment, values);
  const environment = buildEnvironment({
    raw: rawEnv && {
      ...rawEnv,
      contents: rawEnv.contents && {
        ...rawEnv.contents,
        packages: (rawEnv.contents.packages ?? []).map((p, i) =>
          mainSubst(p, `environment.contents.packages[${i}]`),
        ),
      },
      environment:
        rawEnv.environment &&
        Object.fromEntries(
          Object.entries(rawEnv.environment).map(([k, v]) => [
            k,
            mainSubst(v, `environment.environment.${k}`),
          ]),
        ),
    },
    source,
    baseDir: options.baseDir ?? dir,
    arch,
    optionPackages,
    sourceDateEpoch,
  });

  const compiler: StepCompiler = { loader, baseEnvironment: environment.environment, needs: [] };
  const scope = (values: ReadonlyMap<string, string>): Scope => ({
    values,
    environment: {},
    uses: [],
    needs: [],
    source,
    stack: [],
  });

  const steps: BuildStep[] = [];
  compileSteps(compiler, firstPass(recipe.pipeline ?? [], values), "pipeline", scope(main), steps);

  const subpackages: SubpackagePlan[] = built.map((e) => {
    const sp = e.subpackage;
    const at = `subpackages[${e.index}]`;
    const spValues = subpackageValues(main, sp.name, e.range);
    const spSteps: BuildStep[] = [];
    compileSteps(compiler, sp.pipeline ?? [], `${at}.pipeline`, scope(spValues), spSteps);
    return {
      ...planMetadata(
        sp,
        at,
        strict((n) => spValues.get(n)),
        pkg.commit,
      ),
      outDir: `${OUT_DIR}/${sp.name}`,
      steps: spSteps,
    };
  });

  for (const p of compiler.needs)
    if (!environment.contents.packages.includes(p)) environment.contents.packages.push(p);

  // Test sections: their own guests and steps (provider/build/test/compile-tests.ts).
  const testInput = {
    source,
    baseDir: options.baseDir ?? dir,
    loader,
    buildEnvironment: environment.environment,
    arch,
  };
  const tests = [
    compileTestSection({
      ...testInput,
      pkg: pkg.name,
      test: firstPass(recipe.test, values),
      at: "test",
      values: main,
    }),
    ...built.map((e) =>
      compileTestSection({
        ...testInput,
        pkg: e.subpackage.name,
        test: e.subpackage.test,
        at: `subpackages[${e.index}].test`,
        values: subpackageValues(main, e.subpackage.name, e.range),
      }),
    ),
  ].filter((t): t is PackageTestPlan => t !== undefined);

  const plan: BuildPlan = {
    arch,
    sourceDateEpoch,
    package: {
      ...planMetadata(pkg, "package", mainSubst, undefined),
      version: pkg.version,
      epoch: pkg.epoch,
      fullVersion: `${pkg.version}-r${pkg.epoch}`,
      copyright: pkg.copyright ?? [],
      license: licenseExpression(pkg.copyright ?? []),
      annotations: { ...(pkg.annotations ?? {}) },
      targetArchitectures: pkg.targetArchitecture ?? ["all"],
    },
    outDir: `${OUT_DIR}/${pkg.name}`,
    environment,
    steps,
    subpackages,
    capabilities: { add: recipe.capabilities?.add ?? [], drop: recipe.capabilities?.drop ?? [] },
    options: enabled,
    tests,
    vars: Object.fromEntries([...vars].map(([k, v]) => [k.slice("vars.".length), v])),
  };
  if (pkg.timeout !== undefined) plan.package.timeoutSeconds = pkg.timeout;
  if (pkg.resources !== undefined) plan.package.resources = { ...pkg.resources };
  return plan;
}

function subpackageIsBuilt(
  e: ExpandedSubpackage,
  main: ReadonlyMap<string, string>,
  source: ReturnType<typeof recipeOrigin>["source"],
): boolean {
  const condition = e.subpackage.if;
  if (condition === undefined) return true;
  const values = subpackageValues(main, e.subpackage.name, e.range);
  try {
    return evaluateCondition(condition, (n) => values.get(n));
  } catch (err) {
    if (err instanceof ConditionError) throw source.error(`subpackages[${e.index}].if`, err.message);
    throw err;
  }
}
