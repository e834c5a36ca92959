/**
 * Flattening pipelines into concrete steps (melange's compile pass). For each step: decide its `if`,
 * merge the working directory and environment it inherits, expand `uses` (validate `with` against the
 * pipeline's inputs, fill defaults, enforce required inputs, give the inner steps `inputs.*`), and
 * substitute every `${{...}}` in scripts, directories, environment values and needed packages.
 */
import * as path from "node:path";
import { formatWhere, type SourceInfo } from "../../config";
import { DistrolessError } from "../../util/errors";
import { ConditionError, evaluateCondition } from "./condition";
import { type LoadedPipeline, type PipelineLoader, PipelineNotFoundError } from "./pipelines";
import type { BuildStep } from "./plan";
import { WORKSPACE } from "./plan";
import type { PipelineDefinition, PipelineStep } from "./schema-pipeline";
import { SubstitutionError, substitute } from "./substitute";

const MAX_USES_DEPTH = 16;

/** Shared by every step of one compilation. */
export interface StepCompiler {
  loader: PipelineLoader;
  /** The build environment's variables (every step's environment starts from these). */
  baseEnvironment: Record<string, string>;
  /** Every package any step needs, in first-seen order (becomes part of the build environment). */
  needs: string[];
}

/** What a step inherits from where it sits. */
export interface Scope {
  /** Substitution values (`package.name`, `vars.x`, `inputs.y`...). */
  values: ReadonlyMap<string, string>;
  environment: Record<string, string>;
  workingDirectory?: string;
  uses: string[];
  /** Display prefix for steps expanded from `uses`. */
  label?: string;
  needs: string[];
  /** The file these steps are written in. */
  source: SourceInfo;
  /** For steps in pipeline files: which recipe step pulled them in (appended to errors). */
  usedFrom?: string;
  /** Pipeline files being expanded, to refuse cycles. */
  stack: string[];
}

function join(a: string | undefined, b: string | undefined): string | undefined {
  return a !== undefined && b !== undefined ? `${a}: ${b}` : (a ?? b);
}

function fail(scope: Scope, at: string, message: string, code?: DistrolessError["code"]): never {
  throw scope.source.error(at, scope.usedFrom ? `${message} (${scope.usedFrom})` : message, code);
}

/** Substitutes with the scope's values; unknown or malformed references fail at `at`. */
function subst(scope: Scope, text: string, at: string): string {
  try {
    return substitute(text, (n) => scope.values.get(n));
  } catch (err) {
    if (err instanceof SubstitutionError) fail(scope, at, err.message);
    throw err;
  }
}

function substMap(scope: Scope, map: Record<string, string> | undefined, at: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(map ?? {})) out[k] = subst(scope, v, `${at}.${k}`);
  return out;
}

/** The step's process environment, keys sorted so plans compare and hash deterministically. */
function stepEnvironment(c: StepCompiler, own: Record<string, string>): Record<string, string> {
  const merged = { ...c.baseEnvironment, ...own };
  return Object.fromEntries(
    Object.keys(merged)
      .sort()
      .map((k) => [k, merged[k]!]),
  );
}

/** `file:line:col path` of a YAML path in the scope's file. */
function placeOf(scope: Scope, at: string): string {
  return `${formatWhere(scope.source.file, scope.source.locate(at))} ${at}`;
}

function originOf(scope: Scope, at: string): string {
  const here = placeOf(scope, at);
  return scope.usedFrom ? `${here} (${scope.usedFrom})` : here;
}

function guestPath(dir: string): string {
  return path.posix.isAbsolute(dir) ? path.posix.normalize(dir) : path.posix.join(WORKSPACE, dir);
}

function addUnique(list: string[], items: Iterable<string>): void {
  for (const item of items) if (!list.includes(item)) list.push(item);
}

function conditionHolds(scope: Scope, condition: string | undefined, at: string): boolean {
  if (condition === undefined) return true;
  try {
    return evaluateCondition(condition, (n) => scope.values.get(n));
  } catch (err) {
    if (err instanceof ConditionError) fail(scope, at, `if: ${err.message}`);
    throw err;
  }
}

/** Checksum-like inputs are checked for shape before anything runs, as melange does. */
const HEX_INPUTS: Record<string, number> = {
  "expected-sha256": 64,
  "expected-sha512": 128,
  "expected-commit": 40,
};

function resolveInputs(
  scope: Scope,
  pipeline: LoadedPipeline,
  given: Record<string, string>,
  at: string,
): Map<string, string> {
  const declared = pipeline.definition.inputs ?? {};
  const names = Object.keys(declared);
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(declared, key)) {
      fail(
        scope,
        `${at}.with.${key}`,
        `unknown input ${JSON.stringify(key)} to pipeline ${pipeline.name}; it takes: ${names.join(", ") || "no inputs"}`,
      );
    }
  }
  // Defaults may refer to built-ins and to other inputs; resolve on demand, refusing cycles.
  const resolved = new Map<string, string>();
  const resolving = new Set<string>();
  const value = (name: string): string => {
    const done = resolved.get(name);
    if (done !== undefined) return done;
    const given1 = given[name];
    let v: string;
    if (given1 !== undefined && given1 !== "") v = given1;
    else {
      const dflt = declared[name]?.default ?? "";
      if (resolving.has(name))
        fail(scope, at, `defaults of pipeline ${pipeline.name} refer to each other in a cycle (${name})`);
      resolving.add(name);
      try {
        v = substitute(dflt, (n) =>
          n.startsWith("inputs.") && Object.hasOwn(declared, n.slice(7))
            ? value(n.slice(7))
            : scope.values.get(n),
        );
      } catch (err) {
        if (err instanceof SubstitutionError)
          fail(scope, at, `default of input ${name} of pipeline ${pipeline.name}: ${err.message}`);
        throw err;
      } finally {
        resolving.delete(name);
      }
    }
    resolved.set(name, v);
    return v;
  };
  const inputs = new Map<string, string>();
  for (const name of names) {
    const v = value(name);
    if (declared[name]!.required && v === "") {
      fail(scope, `${at}.with`, `pipeline ${pipeline.name} requires input ${JSON.stringify(name)}`);
    }
    const hexLength = HEX_INPUTS[name];
    if (hexLength !== undefined && v !== "" && !new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(v)) {
      fail(
        scope,
        `${at}.with.${name}`,
        `${name} must be ${hexLength} hexadecimal digits, got ${JSON.stringify(v)}`,
      );
    }
    inputs.set(`inputs.${name}`, v);
  }
  return inputs;
}

/**
 * Compiles `steps` (found at `basePath` in `scope.source`) into `out`. Returns how many of them ran
 * (their `if` held), for `assertions.required-steps`.
 */
export function compileSteps(
  c: StepCompiler,
  steps: readonly PipelineStep[],
  basePath: string,
  scope: Scope,
  out: BuildStep[],
): number {
  let ran = 0;
  steps.forEach((step, i) => {
    const at = `${basePath}[${i}]`;
    if (!conditionHolds(scope, step.if, `${at}.if`)) return;
    ran++;
    const environment = { ...scope.environment, ...substMap(scope, step.environment, `${at}.environment`) };
    const workingDirectory =
      step.workingDirectory !== undefined
        ? subst(scope, step.workingDirectory, `${at}.working-directory`)
        : scope.workingDirectory;
    const ownNeeds = (step.needs?.packages ?? []).map((p, j) =>
      subst(scope, p, `${at}.needs.packages[${j}]`),
    );
    addUnique(c.needs, ownNeeds);
    const needs = [...scope.needs];
    addUnique(needs, ownNeeds);

    if (step.uses !== undefined) {
      expandUses(c, step, at, scope, { environment, workingDirectory, needs }, out);
      return;
    }
    const name = join(scope.label, step.name) ?? at;
    if (step.runs !== undefined) {
      out.push({
        name,
        uses: [...scope.uses],
        origin: originOf(scope, at),
        script: subst(scope, step.runs, `${at}.runs`),
        workingDirectory: guestPath(workingDirectory ?? WORKSPACE),
        environment: stepEnvironment(c, environment),
        needsPackages: needs,
      });
    }
    if (step.pipeline !== undefined) {
      const childScope: Scope = { ...scope, environment, needs };
      if (workingDirectory !== undefined) childScope.workingDirectory = workingDirectory;
      const childRan = compileSteps(c, step.pipeline, `${at}.pipeline`, childScope, out);
      const required = step.assertions?.requiredSteps;
      if (required !== undefined && childRan !== required) {
        fail(
          scope,
          `${at}.assertions.required-steps`,
          `requires ${required} of its steps to run, but ${childRan} would`,
        );
      }
    }
  });
  return ran;
}

function expandUses(
  c: StepCompiler,
  step: PipelineStep,
  at: string,
  scope: Scope,
  inherited: { environment: Record<string, string>; workingDirectory: string | undefined; needs: string[] },
  out: BuildStep[],
): void {
  const uses = step.uses!;
  let pipeline: LoadedPipeline;
  try {
    pipeline = c.loader.load(uses);
  } catch (err) {
    if (err instanceof PipelineNotFoundError) fail(scope, `${at}.uses`, err.message, "E_MISSING");
    if (err instanceof DistrolessError && err.code === "E_HOSTILE")
      fail(scope, `${at}.uses`, err.message, "E_HOSTILE");
    throw err;
  }
  if (scope.stack.includes(pipeline.file) || scope.stack.length >= MAX_USES_DEPTH) {
    fail(
      scope,
      `${at}.uses`,
      `pipeline ${uses} uses itself (${[...scope.stack, pipeline.file].join(" -> ")})`,
    );
  }
  const given = substMap(scope, step.with, `${at}.with`);
  const inputs = resolveInputs(scope, pipeline, given, at);
  const def: PipelineDefinition = pipeline.definition;
  const values = new Map(scope.values);
  for (const [k, v] of inputs) values.set(k, v);
  const inner: Scope = {
    values,
    environment: { ...inherited.environment },
    uses: [...scope.uses, uses],
    label: join(scope.label, step.name ?? uses)!,
    needs: [...inherited.needs],
    source: pipeline.source,
    usedFrom: `pipeline ${uses}, used at ${placeOf(scope, at)}`,
    stack: [...scope.stack, pipeline.file],
  };
  if (inherited.workingDirectory !== undefined) inner.workingDirectory = inherited.workingDirectory;
  // The pipeline file is itself a step: its own fields apply to everything inside it.
  if (!conditionHolds(inner, def.if, "if")) return;
  Object.assign(inner.environment, substMap(inner, def.environment, "environment"));
  if (def.workingDirectory !== undefined)
    inner.workingDirectory = subst(inner, def.workingDirectory, "working-directory");
  const fileNeeds = (def.needs?.packages ?? []).map((p, j) => subst(inner, p, `needs.packages[${j}]`));
  addUnique(c.needs, fileNeeds);
  addUnique(inner.needs, fileNeeds);
  if (def.runs !== undefined) {
    out.push({
      name: inner.label!,
      uses: inner.uses,
      origin: originOf(inner, "runs"),
      script: subst(inner, def.runs, "runs"),
      workingDirectory: guestPath(inner.workingDirectory ?? WORKSPACE),
      environment: stepEnvironment(c, inner.environment),
      needsPackages: inner.needs,
    });
  }
  compileSteps(c, def.pipeline ?? [], "pipeline", inner, out);
}
