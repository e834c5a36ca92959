import { ResolveError } from "./explain";

/** Thrown out of an attempt when the search has spent its steps; never a user-facing error itself. */
export class SearchExhausted extends Error {
  constructor(readonly steps: number) {
    super(`search exhausted after ${steps} steps`);
  }
}

/** What a later attempt throws instead of an explained error (only the first attempt's is shown). */
export const RETRY = new ResolveError("", "unsatisfiable", "this choice of versions does not work");

/** Steps (candidates looked at) shared by every attempt of one solve. */
export class Budget {
  steps = 0;
  constructor(readonly limit: number) {}

  spend(units: number): void {
    this.steps += units;
    if (this.steps > this.limit) throw new SearchExhausted(this.limit);
  }
}

/**
 * The choices of one attempt. The solver is a deterministic greedy pass; backtracking replays it
 * with a forced prefix of decisions (the k-th ranked candidate at the i-th choice point) and lets it
 * choose freely after that. Replaying costs a pass per alternative but keeps the greedy pass, apko's
 * order and every message it produces exactly as they are when nothing needs to be undone.
 */
export class Decisions {
  /** How many ranked candidates each choice point this attempt reached had. */
  private readonly widths: number[] = [];

  constructor(
    private readonly forced: readonly number[],
    private readonly budget: Budget,
  ) {}

  /** True on the first attempt: later ones fail only to be retried, so their errors need no text. */
  get explaining(): boolean {
    return this.forced.length === 0;
  }

  /** Which of `width` ranked candidates to take at the next choice point (0: the preferred one). */
  next(width: number): number {
    const i = this.widths.length;
    this.widths.push(width);
    const k = i < this.forced.length ? this.forced[i]! : 0;
    return k < width ? k : 0;
  }

  /** Counts work (candidates looked at), so a search always ends. */
  work(units: number): void {
    this.budget.spend(units);
  }

  /** The decisions to try next: the latest choice point moved to its next candidate. */
  successor(): number[] | undefined {
    for (let i = this.widths.length - 1; i >= 0; i--) {
      const k = (i < this.forced.length ? this.forced[i]! : 0) + 1;
      if (k < this.widths[i]!) {
        const next = this.widths.slice(0, i).map((_, j) => (j < this.forced.length ? this.forced[j]! : 0));
        next.push(k);
        return next;
      }
    }
    return undefined;
  }
}

/**
 * Runs `attempt` over every sequence of decisions, chronologically, until one succeeds. Failures are
 * ResolveErrors; the first one (the preferred choices' failure) is the one worth showing, since every
 * later one only differs by a choice the user never asked for.
 */
export function search<T>(
  limit: number,
  attempt: (decisions: Decisions) => T,
):
  | { result: T; attempts: number; steps: number }
  | { error: ResolveError; attempts: number; steps: number; exhausted?: number } {
  const budget = new Budget(limit);
  let forced: number[] = [];
  let first: ResolveError | undefined;
  for (let attempts = 1; ; attempts++) {
    const decisions = new Decisions(forced, budget);
    try {
      return { result: attempt(decisions), attempts, steps: budget.steps };
    } catch (err) {
      if (err instanceof SearchExhausted) {
        if (!first) throw err; // cannot happen: the budget outlasts one pass unless it is tiny
        return { error: first, attempts, steps: budget.steps, exhausted: err.steps };
      }
      if (!(err instanceof ResolveError)) throw err;
      first ??= err;
      const next = decisions.successor();
      if (!next) return { error: first, attempts, steps: budget.steps };
      forced = next;
    }
  }
}

/**
 * The smallest set of world entries that still cannot be installed together (deletion-based: an
 * entry stays only when the world fails without it). `fails` answers undefined when a trial runs
 * out of steps; such an entry is kept, so the set returned always fails.
 */
export function minimalConflict(
  world: readonly string[],
  fails: (subset: readonly string[]) => boolean | undefined,
): string[] {
  let set = [...world];
  for (const entry of world) {
    if (set.length <= 1) break;
    const without = set.filter((e) => e !== entry);
    if (fails(without) === true) set = without;
  }
  return set;
}
