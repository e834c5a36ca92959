import type { Candidate } from "./package-index";

/**
 * Install order: a depth-first post-order walk, dependencies before their dependents. Roots are the
 * world's packages in sorted constraint order (apk sorts its world), then anything else chosen
 * (install_if additions), in the order chosen. Children are visited in `D:` order; a dependency
 * cycle is cut where the walk re-enters it. Deterministic for a given selection.
 */
export function installOrder(
  roots: readonly Candidate[],
  chosen: readonly Candidate[],
  children: (cand: Candidate) => (Candidate | undefined)[],
): Candidate[] {
  const out: Candidate[] = [];
  const seen = new Set<Candidate>(); // on the walk or done: either way not entered again
  const visit = (root: Candidate) => {
    // An explicit stack: dependency chains in real indexes can be deep.
    const stack: { cand: Candidate; kids: (Candidate | undefined)[]; i: number }[] = [];
    const push = (cand: Candidate) => {
      seen.add(cand);
      stack.push({ cand, kids: children(cand), i: 0 });
    };
    if (seen.has(root)) return;
    push(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (top.i < top.kids.length) {
        const kid = top.kids[top.i++];
        if (kid && !seen.has(kid)) push(kid);
        continue;
      }
      stack.pop();
      out.push(top.cand);
    }
  };
  for (const r of roots) visit(r);
  for (const c of chosen) visit(c);
  return out;
}
