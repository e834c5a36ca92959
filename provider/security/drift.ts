import { fixedBetween, missingFixes, type SecurityDb } from "./secdb";

/** arch -> package name -> version (a resolved lock, as check records it). */
export type VersionLock = Readonly<Record<string, Readonly<Record<string, string>>>>;

export interface SecurityNotes {
  /** arch -> name -> ids the version change fixes (only packages whose change fixes something). */
  fixes: Record<string, Record<string, string[]>>;
  notices: string[];
}

/**
 * What a security database says about a resolution: the ids each version change fixes (against the
 * previous lock, when there is one), and every package still below a known fix.
 */
export function securityNotes(db: SecurityDb, after: VersionLock, before?: VersionLock): SecurityNotes {
  const out: SecurityNotes = { fixes: {}, notices: [] };
  for (const [arch, pkgs] of Object.entries(after)) {
    for (const [name, version] of Object.entries(pkgs)) {
      const was = before?.[arch]?.[name];
      if (was !== undefined && was !== version) {
        const ids = fixedBetween(db, name, was, version);
        if (ids.length > 0) {
          out.fixes[arch] = { ...out.fixes[arch], [name]: ids };
          out.notices.push(`${arch}: ${name} ${was} -> ${version} fixes ${ids.join(", ")}`);
        }
      }
      const missing = missingFixes(db, name, version);
      if (missing.length > 0) {
        const list = missing.map((f) => `${f.ids.join(", ")} (fixed in ${f.version})`).join("; ");
        out.notices.push(`${arch}: ${name} ${version} is below the fix for ${list}`);
      }
    }
  }
  return out;
}
