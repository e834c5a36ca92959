import type { Constraint } from "./constraint";
import type { Candidate, PackageIndex, ProviderRef } from "./package-index";

/** A triggered package name: its versions whose conditions hold, and the repository tag it may come from. */
export interface TriggeredGroup {
  refs: ProviderRef[];
  tag: string | undefined;
}

/** What the solver has chosen so far, as install_if reads it. */
export interface ChosenView {
  index: PackageIndex;
  selected: ReadonlyMap<string, Candidate>;
  dq: ReadonlyMap<Candidate, unknown>;
  /** The repository tag each chosen package was allowed (its pin). */
  pins: ReadonlyMap<Candidate, string | undefined>;
  /** An install_if condition: `name` holds when a chosen package satisfies it, `!name` when none does. */
  conditionHolds(t: Constraint): boolean;
}

/**
 * The install_if packages that the packages chosen in `fresh` trigger and whose every condition now
 * holds, grouped by package name. A condition can only become true when a package providing it is
 * chosen, so the solver asks about the packages chosen since it last asked.
 */
export function triggeredByChosen(
  view: ChosenView,
  fresh: readonly Candidate[],
): Map<string, TriggeredGroup> {
  const into = new Map<string, TriggeredGroup>();
  for (const cand of fresh) {
    const tag = view.pins.get(cand);
    collect(view, cand.name, tag, into);
    for (const p of cand.provides) collect(view, p.name, tag, into);
  }
  return into;
}

function collect(
  view: ChosenView,
  name: string,
  tag: string | undefined,
  into: Map<string, TriggeredGroup>,
): void {
  for (const iif of view.index.triggeredBy(name)) {
    if (view.selected.has(iif.name) || view.dq.has(iif)) continue;
    // A tagged repository opens to a triggered package only through a trigger pinned to that tag.
    if (iif.repo.tag !== undefined && iif.repo.tag !== tag) continue;
    if (!iif.installIf().every((t) => view.conditionHolds(t))) continue;
    const group = into.get(iif.name);
    const ref: ProviderRef = { cand: iif, version: iif.version, own: true };
    if (!group) into.set(iif.name, { refs: [ref], tag: iif.repo.tag ?? tag });
    else if (!group.refs.some((r) => r.cand === iif)) {
      group.refs.push(ref);
      if (iif.repo.tag !== undefined) group.tag = iif.repo.tag;
    }
  }
}
