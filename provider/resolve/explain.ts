import { editDistance } from "../util/edit-distance";
import { DistrolessError } from "../util/errors";

/** Who asked for a package: `world`, then each package down to the requirer. */
export interface Chain {
  label: string;
  parent?: Chain;
}

export const WORLD: Chain = { label: "world" };

export function childChain(parent: Chain, label: string): Chain {
  return { label, parent };
}

/** `world -> a-1.0-r0 -> b>=2` */
export function chainText(chain: Chain, constraint?: string): string {
  const parts: string[] = [];
  for (let c: Chain | undefined = chain; c; c = c.parent) parts.push(c.label);
  parts.reverse();
  if (constraint !== undefined) parts.push(constraint);
  return parts.join(" -> ");
}

/** A solver failure; `arch` is set so multi-arch callers can group messages. */
export class ResolveError extends DistrolessError {
  constructor(
    readonly arch: string,
    readonly kind: "unknown" | "unsatisfiable" | "ambiguous" | "conflict" | "lock" | "exhausted",
    /** What went wrong, without the arch in front. */
    readonly detail: string,
    /** The package or virtual name the failure is about. */
    readonly about?: string,
  ) {
    super("E_RESOLVE", detail, { subject: arch });
  }
}

/**
 * Names close to `name` by edit distance (case-insensitive), best first: what the user probably
 * meant. Only names of the same kind (`so:`, `cmd:`, plain) are considered.
 */
export function closeNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const target = name.toLowerCase();
  const prefix = kindPrefix(name);
  const maxDistance = Math.max(1, Math.min(4, Math.floor(target.length / 3)));
  const scored: [number, string][] = [];
  for (const c of candidates) {
    if (kindPrefix(c) !== prefix) continue;
    const lc = c.toLowerCase();
    if (Math.abs(lc.length - target.length) > maxDistance && !lc.startsWith(target)) continue;
    const d =
      lc.startsWith(target) && lc !== target
        ? Math.min(maxDistance, lc.length - target.length)
        : editDistance(target, lc, maxDistance);
    if (d <= maxDistance) scored.push([d, c]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].length - b[1].length || (a[1] < b[1] ? -1 : 1));
  return scored.slice(0, limit).map((s) => s[1]);
}

function kindPrefix(name: string): string {
  const m = /^([a-z]+):/.exec(name);
  return m ? m[1]! : "";
}
