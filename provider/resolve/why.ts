import type { Solution } from "./solver";

/** Per arch, the chain of world entries and dependencies that pulled `name` (or a provider of it) in. */
export function explainWhy(name: string, solutions: ReadonlyMap<string, Solution>): string[] {
  const lines: string[] = [];
  for (const [arch, solution] of solutions) {
    const hits = solution.packages.filter((c) => c.name === name || c.provides.some((p) => p.name === name));
    if (hits.length === 0) lines.push(`${arch}: ${name} is not installed`);
    for (const cand of hits) {
      const via = cand.name === name ? "" : ` (provides ${name})`;
      lines.push(`${arch}: ${solution.why(cand)}${via}`);
    }
  }
  return lines;
}

/**
 * What a new resolution changes against a previous lock (arch -> name -> version), one line per
 * package, each with the chain that pulls the new version in: the preview's answer to "why is
 * openssl changing in my image?".
 */
export function versionChanges(
  before: Readonly<Record<string, Readonly<Record<string, string>>>>,
  solutions: ReadonlyMap<string, Solution>,
): string[] {
  const lines: string[] = [];
  for (const [arch, solution] of solutions) {
    const old = before[arch];
    if (!old) continue;
    const now = new Set<string>();
    for (const cand of solution.packages) {
      now.add(cand.name);
      const was = old[cand.name];
      if (was === cand.version) continue;
      const change = was === undefined ? `${cand.version} (new)` : `${was} -> ${cand.version}`;
      lines.push(`${arch}: ${cand.name} ${change}, pulled in by ${solution.why(cand)}`);
    }
    for (const [name, version] of Object.entries(old)) {
      if (!now.has(name)) lines.push(`${arch}: ${name} ${version} is no longer installed`);
    }
  }
  return lines;
}
