import { type Constraint, versionMatches } from "./constraint";
import type { Candidate, PackageIndex } from "./package-index";
import type { Reason } from "./solver";

/**
 * A world entry's `!name`, version and `@tag` pin apply to every candidate of the name, before any
 * choice (apko): the candidates it rules out go into `dq` with the entry that ruled them out.
 * `name@tag` prefers the tagged repository and falls back to untagged ones (apk-tools, apko);
 * repositories under another tag stay closed to it.
 */
export function excludeByWorld(index: PackageIndex, c: Constraint, dq: Map<Candidate, Reason>): void {
  for (const ref of index.providers(c.name)) {
    if (dq.has(ref.cand)) continue;
    if (c.conflict) {
      if (versionMatches(c, ref.version, ref.cand.checksum)) dq.set(ref.cand, `excluded by world[${c.text}]`);
      continue;
    }
    if (
      c.op &&
      (ref.own || ref.version !== undefined) &&
      !versionMatches(c, ref.version, ref.cand.checksum)
    ) {
      dq.set(ref.cand, `does not satisfy world[${c.text}]`);
    } else if (c.tag && ref.cand.repo.tag !== undefined && ref.cand.repo.tag !== c.tag) {
      dq.set(
        ref.cand,
        `world[${c.text}] takes ${c.name} from @${c.tag} or an untagged repository, and this one is in @${ref.cand.repo.tag}`,
      );
    }
  }
}
