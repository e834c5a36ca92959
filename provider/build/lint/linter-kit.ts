/**
 * What a linter is and sees (melange v0.59.1 pkg/linter): a check over one package's output tree
 * with a default behaviour — require (a finding fails the build), warn (a warning) or ignore (run
 * only when asked for) — plus the helpers the linters share.
 */
import type { PackageFsEntry } from "../detect/package-fs";

export type LintBehavior = "require" | "warn" | "ignore";

/** One package as the linters see it. */
export interface LintTarget {
  /** The (sub)package name. */
  name: string;
  /** Its output directory on disk (melange-out/<name>). */
  dir: string;
  /** Every entry under `dir`, relative paths. */
  entries: PackageFsEntry[];
  /** The `uses` of the package's top-level test steps (`test/pkgconf`, ...). */
  testUses: string[];
}

export interface LintFinding {
  message: string;
  /** The offending paths (relative to the package root), when the finding is about paths. */
  paths: string[];
}

export interface Linter {
  name: string;
  /** What to do about a finding (melange's Explain text). */
  explain: string;
  behavior: LintBehavior;
  check(target: LintTarget): Promise<LintFinding | undefined>;
}

export const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);
export const isDir = (e: PackageFsEntry) => e.type === "directory";
export const ignored = (p: string) => p.startsWith("var/lib/db/sbom/");

/** A linter that reports every entry a predicate picks (melange's AllPaths). */
export function allPaths(
  predicate: (e: PackageFsEntry, t: LintTarget) => boolean,
  message: (t: LintTarget, paths: string[]) => string,
  skip?: (t: LintTarget) => boolean,
): Linter["check"] {
  return async (t) => {
    if (skip?.(t)) return undefined;
    const paths = t.entries.filter((e) => predicate(e, t)).map((e) => e.path);
    return paths.length === 0 ? undefined : { message: message(t, paths), paths };
  };
}

/** Go's filepath.Ext: the suffix from the last dot of the last element. */
export function ext(p: string): string {
  const base = p.slice(p.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot < 0 ? "" : base.slice(dot);
}

const OBJECT_EXT = /\.(a|so|dylib)(\..*)?/;

/** Regular files that may be ELF objects: executable, or named like a library (melange's filter). */
export function elfCandidates(t: LintTarget): PackageFsEntry[] {
  return t.entries.filter(
    (e) =>
      e.type === "file" &&
      !ignored(e.path) &&
      e.size >= 4 &&
      ((e.mode & 0o111) !== 0 || OBJECT_EXT.test(ext(e.path))),
  );
}
