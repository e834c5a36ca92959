import type { Pending } from "./attempt";
import type { Constraint } from "./constraint";
import { type Chain, chainText, ResolveError } from "./explain";
import type { Candidate } from "./package-index";

/** What the checks at the end of an attempt read of its state. */
export interface AttemptView {
  arch: string;
  satisfiedBy(c: Constraint): Candidate | undefined;
  chains: ReadonlyMap<Candidate, Chain>;
}

/**
 * Virtual names parked because no provider may be picked for them alone (apk-tools' rule) must
 * have been met by something chosen since; otherwise the user has to pick one.
 */
export function checkParkedVirtuals(view: AttemptView, parked: readonly Pending[]): void {
  for (const p of parked) {
    if (view.satisfiedBy(p.c)) continue;
    const names = [...new Set(p.pool.map((r) => r.cand.name))].sort();
    throw new ResolveError(
      view.arch,
      "ambiguous",
      `${p.c.name} (virtual): no provider may be picked for it automatically (none has a provider_priority): provided by: ${names.join(" ")}; required by: ${chainText(p.chain, p.c.text)}. Add the one you want to the packages (or give it a provider_priority).`,
      p.c.name,
    );
  }
}

/** `!name` of the world and of every chosen package, against what was chosen in the end. */
export function checkConflicts(
  view: AttemptView,
  world: readonly Constraint[],
  chosen: readonly Candidate[],
): void {
  const check = (owner: string, d: Constraint, self?: Candidate) => {
    const s = view.satisfiedBy(d);
    if (s && s !== self) {
      throw new ResolveError(
        view.arch,
        "conflict",
        `${owner} conflicts with ${d.name} [!${d.text.replace(/^!/, "")}], but ${s.label} is installed (${chainText(view.chains.get(s)!, s.label)})`,
      );
    }
  };
  for (const c of world) if (c.conflict) check("world", c);
  for (const cand of chosen) for (const d of cand.conflicts()) check(cand.label, d, cand);
}
