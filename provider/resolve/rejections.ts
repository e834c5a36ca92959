import type { Constraint } from "./constraint";
import { type Chain, chainText, closeNames, ResolveError } from "./explain";
import type { PackageIndex, ProviderRef } from "./package-index";
import type { Rejection } from "./solver";

interface RejectionSource {
  rejection(ref: ProviderRef, c: Constraint, allowTag: string | undefined): Rejection | undefined;
}

const MAX_LISTED = 8;

/**
 * The error for a constraint nothing can satisfy: an unknown name (with close names), or every
 * candidate and why it was turned down, after the chain that asked for it.
 */
export function unsatisfiable(
  solver: RejectionSource,
  index: PackageIndex,
  c: Constraint,
  chain: Chain,
  allowTag: string | undefined,
): ResolveError {
  const asked = chainText(chain, c.text);
  const refs = index.providers(c.name);
  if (refs.length === 0) {
    const close = closeNames(c.name, index.names());
    return new ResolveError(
      index.arch,
      "unknown",
      `unknown package "${c.name}" (required by ${asked})${close.length ? `; did you mean ${close.join(", ")}?` : ""}`,
      c.name,
    );
  }
  const lines: string[] = [];
  for (const ref of refs) {
    const r = solver.rejection(ref, c, allowTag);
    if (!r) continue; // only avoided (multi-arch) candidates: cannot happen when the pool was empty
    lines.push(`${describe(ref, c)}: ${rejectionText(r, ref, c)}`);
  }
  const shown = lines.slice(0, MAX_LISTED);
  if (lines.length > shown.length) shown.push(`and ${lines.length - shown.length} more`);
  return new ResolveError(
    index.arch,
    "unsatisfiable",
    `cannot satisfy ${asked}: ${shown.join("; ")}`,
    c.name,
  );
}

function describe(ref: ProviderRef, c: Constraint): string {
  if (ref.own) return ref.cand.label;
  return `${ref.cand.label} [provides ${c.name}${ref.version !== undefined ? `=${ref.version}` : ""}]`;
}

export function rejectionText(r: Rejection, ref: ProviderRef, c: Constraint): string {
  switch (r.kind) {
    case "excluded":
      return r.reason;
    case "version":
      if (c.op === "><") return `its checksum ${ref.cand.checksum} is not the pinned ${c.version}`;
      return ref.version === undefined
        ? `it provides ${c.name} without a version, which cannot satisfy ${c.op}${c.version}`
        : `version ${ref.version} does not match ${c.op}${c.version}`;
    case "pinned":
      return `${c.text} takes ${c.name} only from @${r.tag}, and this one is in ${
        ref.cand.repo.tag ? `@${ref.cand.repo.tag}` : "an untagged repository"
      } (${ref.cand.repo.location})`;
    case "tagged":
      return `it is in the repository pinned as @${r.tag} (${ref.cand.repo.location}), which only constraints naming @${r.tag} and their dependencies may use`;
    case "conflict":
      return `it conflicts with ${r.with.label} [!${r.constraint.text.replace(/^!/, "")}], which is installed`;
    case "needs":
      return `it requires ${r.constraint.text}, and ${r.with.label} is installed`;
  }
}
