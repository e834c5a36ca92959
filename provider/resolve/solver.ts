import { type Attempt, Solver } from "./attempt";
import { type Constraint, parseWorldEntry } from "./constraint";
import { ResolveError } from "./explain";
import type { Candidate, PackageIndex } from "./package-index";
import { type Decisions, minimalConflict, SearchExhausted, search } from "./search";

export interface SolveOptions {
  /** Candidates that must not be chosen, with the reason (shown when nothing else fits). */
  exclude?: ReadonlyMap<Candidate, string>;
  /** Candidates to avoid: chosen only when nothing else fits, with a notice (multi-arch skew). */
  avoid?: ReadonlyMap<Candidate, string>;
  /** name -> version to prefer (a lock being honoured). */
  prefer?: ReadonlyMap<string, string>;
  /** Choices the search may consider before giving up (default: DEFAULT_SEARCH_STEPS). */
  maxSteps?: number;
}

/** A reason text, or how to make it when it is needed. */
export type Reason = string | (() => string);

export interface Solution {
  arch: string;
  /** Install order: dependencies before their dependents; deterministic. */
  packages: Candidate[];
  /** Why a package is installed: the chain that pulled it in (`world -> a-1.0-r0 -> b-2.0-r0`). */
  why(cand: Candidate): string;
  /** Things the user may want to know that are not errors. */
  notices: string[];
}

/** Why a candidate was turned down for a constraint (formatted only when an error needs it). */
export type Rejection =
  | { kind: "excluded"; reason: string }
  | { kind: "version" }
  | { kind: "tagged"; tag: string }
  | { kind: "pinned"; tag: string }
  | { kind: "conflict"; with: Candidate; constraint: Constraint }
  | { kind: "needs"; with: Candidate; constraint: Constraint };

/** Enough for any real world many times over; an adversarial index reports exhaustion instead of hanging. */
export const DEFAULT_SEARCH_STEPS = 200_000;
/** Looking for the smallest conflicting set of world entries: per trial, and in all. */
const CONFLICT_TRIAL_STEPS = 50_000;
const CONFLICT_TOTAL_STEPS = 400_000;
/** Re-solving with a left-out install_if package chosen up front: per try. */
const PROMOTION_STEPS = 20_000;

/**
 * Solves `world` against one arch's packages: apko's greedy order first, then (only when that
 * fails) every other choice, latest first, until one works or none can. Throws a ResolveError the
 * user can act on: the preferred choices' failure, and which world entries conflict.
 */
export function solve(index: PackageIndex, world: readonly string[], options: SolveOptions = {}): Solution {
  const entries = world.map(parseWorldEntry); // invalid entries fail here, before any search
  const limit = options.maxSteps ?? DEFAULT_SEARCH_STEPS;
  const outcome = search(limit, (d) => new Solver(index, options, d).run(entries));
  if ("result" in outcome) return withLeftOutInstallIf(index, entries, options, outcome.result);
  const err = outcome.error;
  if (outcome.exhausted !== undefined) {
    throw new ResolveError(
      index.arch,
      "exhausted",
      `${err.detail}; no other choice of versions was found either: the search gave up after ${outcome.exhausted} steps (${outcome.attempts} combinations tried)`,
      err.about,
    );
  }
  const conflict = conflictingEntries(index, entries, options);
  if (!conflict) throw err;
  throw new ResolveError(
    index.arch,
    err.kind,
    `${err.detail}; these requests cannot be installed together (each set without one of them resolves): ${conflict.join(", ")}`,
    err.about,
  );
}

/**
 * apk-tools installs a triggered install_if package even when that means other providers than the
 * preferred ones (a dependency of it provides a name the world's choice already took): its solver
 * scores whole solutions. The greedy pass leaves such a package out; this re-solves with each one
 * chosen up front, keeping the result only when it resolves and the package's conditions still
 * hold, and says what changed.
 */
function withLeftOutInstallIf(
  index: PackageIndex,
  world: readonly Constraint[],
  options: SolveOptions,
  first: Attempt,
): Solution {
  let best = first;
  const promoted: Candidate[] = [];
  const tried = new Set<string>();
  for (;;) {
    const group = best.skippedInstallIf.find((versions) => !tried.has(versions[0]!.name));
    if (!group) return best.solution;
    tried.add(group[0]!.name);
    for (const cand of group) {
      const next = attemptQuietly(PROMOTION_STEPS, (d) =>
        new Solver(index, options, d).run(world, [...promoted, cand]),
      );
      if (!next) continue;
      const had = new Set(best.solution.packages);
      const now = new Set(next.solution.packages);
      const removed = best.solution.packages.filter((c) => !now.has(c)).map((c) => c.label);
      const added = next.solution.packages.filter((c) => !had.has(c) && c !== cand).map((c) => c.label);
      next.solution.notices.push(
        `${index.arch}: adding ${cand.label} (install_if[${cand.installIfText.join(" ")}]) takes ${added.join(", ") || "nothing else"} in place of ${removed.join(", ") || "nothing"}`,
      );
      promoted.push(cand);
      best = next;
      break;
    }
  }
}

/** A search's result, or undefined when it fails or runs out of steps. */
function attemptQuietly(limit: number, attempt: (d: Decisions) => Attempt): Attempt | undefined {
  try {
    const outcome = search(limit, attempt);
    return "result" in outcome ? outcome.result : undefined;
  } catch (err) {
    if (err instanceof SearchExhausted) return undefined;
    throw err;
  }
}

/** The smallest set (two or more) of world entries that fails, when that says more than the error. */
function conflictingEntries(
  index: PackageIndex,
  world: readonly Constraint[],
  options: SolveOptions,
): string[] | undefined {
  if (world.length < 2) return undefined;
  const byText = new Map(world.map((c) => [c.text, c] as const));
  let left = CONFLICT_TOTAL_STEPS;
  const fails = (subset: readonly string[]): boolean | undefined => {
    const entries = subset.map((t) => byText.get(t)!);
    if (left <= 0) return undefined;
    try {
      const outcome = search(Math.min(CONFLICT_TRIAL_STEPS, left), (d) =>
        new Solver(index, options, d).run(entries),
      );
      left -= outcome.steps;
      if ("result" in outcome) return false;
      return outcome.exhausted === undefined ? true : undefined;
    } catch (err) {
      if (err instanceof SearchExhausted) return undefined;
      throw err;
    }
  };
  const set = minimalConflict([...byText.keys()], fails);
  return set.length >= 2 ? set : undefined;
}
