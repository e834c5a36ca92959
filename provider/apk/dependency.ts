import { DistrolessError } from "../util/errors";
import { isValidVersion, type VersionOp, versionSatisfies } from "./version";

/**
 * A dependency or world entry: `[!]name[@tag][op version]`. apk-tools writes the pin before the
 * operator (`foo@edge>=1.2`); apko and go-apk accept it after the version (`foo=1.2@edge`); both parse.
 */
export interface Dependency {
  name: string;
  /** Absent = any version. */
  op?: VersionOp;
  version?: string;
  /** `@tag` repository pin. */
  tag?: string;
  /** `!name`: nothing providing `name` may be installed. */
  conflict: boolean;
}

const OPS: VersionOp[] = ["><", "<=", ">=", "<~", ">~", "=~", "~", "<", ">", "="] as VersionOp[];

/** apk's character set for package (and virtual) names. */
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+:\-/]*$/;

export function parseDependency(text: string): Dependency {
  let s = text.trim();
  const conflict = s.startsWith("!");
  if (conflict) s = s.slice(1);
  let tag: string | undefined;
  // `@tag` either directly after the name or at the very end.
  const at = s.indexOf("@");
  if (at >= 0) {
    const afterAt = s.slice(at + 1);
    const opStart = afterAt.search(/[<>=~]/);
    if (opStart >= 0) {
      tag = afterAt.slice(0, opStart);
      s = s.slice(0, at) + afterAt.slice(opStart);
    } else {
      tag = afterAt;
      s = s.slice(0, at);
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(tag)) {
      throw new DistrolessError("E_CONFIG", `invalid repository tag "@${tag}" in dependency "${text}"`);
    }
  }
  const opIndex = s.search(/[<>=~]/);
  const name = opIndex >= 0 ? s.slice(0, opIndex) : s;
  if (!NAME_RE.test(name))
    throw new DistrolessError("E_CONFIG", `invalid package name in dependency "${text}"`);
  const dep: Dependency = { name, conflict };
  if (tag !== undefined) dep.tag = tag;
  if (opIndex >= 0) {
    const rest = s.slice(opIndex);
    const op = OPS.find((o) => rest.startsWith(o));
    const version = op ? rest.slice(op.length) : "";
    if (!op || version.length === 0) {
      throw new DistrolessError("E_CONFIG", `invalid version constraint in dependency "${text}"`);
    }
    dep.op = op === ("=~" as VersionOp) ? "~" : op;
    dep.version = version;
  }
  return dep;
}

export function formatDependency(dep: Dependency): string {
  const ver = dep.op && dep.version !== undefined ? `${dep.op}${dep.version}` : "";
  return `${dep.conflict ? "!" : ""}${dep.name}${dep.tag ? `@${dep.tag}` : ""}${ver}`;
}

/**
 * Does a package (or a provide) at `version` satisfy the version part of `dep`? Conflicts are not
 * inverted here; callers decide what a match of a conflict means.
 *
 * A provide without a version (`p:cmd:foo`) only satisfies unversioned dependencies. A `so:`
 * constraint compares against the provide's version, which for shared objects is the soname digits.
 */
export function dependencyVersionMatches(dep: Dependency, version: string | undefined): boolean {
  if (!dep.op || dep.version === undefined) return true;
  if (version === undefined) return false;
  if (dep.op === "><") return false; // checksum pins are matched by the caller against C:
  return versionSatisfies(version, dep.op, dep.version);
}

export { isValidPackageName } from "./names";
export { isValidVersion };
