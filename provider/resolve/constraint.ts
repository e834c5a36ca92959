import { type Dependency, parseDependency } from "../apk/dependency";
import { isValidVersion, type VersionOp, versionSatisfies } from "../apk/version";
import { DistrolessError, errorMessage } from "../util/errors";

/** A parsed world entry or dependency (`[!]name[@tag][op version]`), ready for matching. */
export interface Constraint {
  /** As written, for messages (`so:libc.musl-x86_64.so.1`, `foo@local>=2`). */
  text: string;
  name: string;
  op?: VersionOp;
  /** Compared version (see `soVersion`); for `><` a `Q1` checksum. */
  version?: string;
  tag?: string;
  conflict: boolean;
}

/** A `p:` entry: `name` (a virtual, unversioned) or `name=version`. */
export interface Provide {
  name: string;
  version?: string;
}

/*
 * Parsed forms by text. Indexes repeat the same dependency strings thousands of times
 * (`so:libc.musl-x86_64.so.1`), so parsing each once pays off; the map is bounded.
 */
const constraintCache = new Map<string, Constraint>();
const CACHE_LIMIT = 200_000;

/**
 * Shared-object names get apko's treatment: a version without `-rN` (melange writes the soname's
 * digits) is compared as `0.<version>`, so it sorts below full package versions.
 */
export function soVersion(name: string, version: string): string {
  return name.startsWith("so:") && !/-r\d+$/.test(version) ? `0.${version}` : version;
}

export function parseConstraint(text: string): Constraint {
  const hit = constraintCache.get(text);
  if (hit) return hit;
  const dep = pathDependency(text) ?? parseDependency(text);
  const c: Constraint = { text: text.trim(), name: dep.name, conflict: dep.conflict };
  if (dep.tag) c.tag = dep.tag;
  if (dep.op && dep.version !== undefined) {
    c.op = dep.op;
    c.version = dep.op === "><" ? dep.version : soVersion(dep.name, dep.version);
  }
  if (constraintCache.size >= CACHE_LIMIT) constraintCache.clear();
  constraintCache.set(text, c);
  return c;
}

/**
 * File-path names (`/bin/sh`, provided by busybox and friends) are valid apk names that
 * provider/apk's parser does not accept yet; they carry no version or tag in practice.
 */
function pathDependency(text: string): Dependency | undefined {
  const m = /^(!?)(\/[A-Za-z0-9_.+\-/]*)$/.exec(text.trim());
  return m ? { name: m[2]!, conflict: m[1] === "!" } : undefined;
}

/** A `><` constraint's operand: a package's `C:` checksum (`Q1` + base64 SHA-1). */
const CHECKSUM_RE = /^Q1[A-Za-z0-9+/]{27}=$/;

/**
 * Why `text` is not a valid world entry, or undefined when it is. Stricter than dependency parsing
 * (index entries are read as written): the version must be a real apk version, as apk-tools
 * requires of `apk add`, so `pkg>=abc!!` is refused instead of matching by accident or never.
 */
export function worldEntryProblem(text: string): string | undefined {
  let dep: Dependency;
  try {
    dep = pathDependency(text) ?? parseDependency(text);
  } catch (err) {
    return errorMessage(err);
  }
  if (dep.op === undefined || dep.version === undefined) return undefined;
  const valid = dep.op === "><" ? CHECKSUM_RE.test(dep.version) : isValidVersion(dep.version);
  if (valid) return undefined;
  return dep.op === "><"
    ? `"${dep.version}" is not a package checksum (Q1 + base64 SHA-1)`
    : `"${dep.version}" is not a valid apk version (format: name[@tag][<>~=]version, e.g. foo>=1.2.3-r0)`;
}

/** Parses a world entry, naming it in the error when it is not a valid constraint. */
export function parseWorldEntry(text: string): Constraint {
  const problem = worldEntryProblem(text);
  if (problem !== undefined) {
    throw new DistrolessError("E_CONFIG", `invalid package constraint "${text}": ${problem}`, {
      subject: "packages",
    });
  }
  return parseConstraint(text);
}

/** Fast path for `p:` entries: only `name` and `name=version` occur there. */
export function parseProvide(text: string): Provide {
  const eq = text.indexOf("=");
  if (eq < 0) return { name: text };
  const name = text.slice(0, eq);
  return { name, version: soVersion(name, text.slice(eq + 1)) };
}

/**
 * Does something carrying `version` for the constraint's name (a package's own version, or the
 * version of its provide; undefined for an unversioned provide) satisfy the constraint? An
 * unversioned provide satisfies only unversioned constraints. `checksum` serves `><Q1...` pins.
 */
export function versionMatches(c: Constraint, version: string | undefined, checksum?: string): boolean {
  if (!c.op || c.version === undefined) return true;
  if (c.op === "><") return checksum === c.version;
  if (version === undefined) return false;
  return versionSatisfies(version, c.op, c.version);
}
