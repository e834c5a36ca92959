import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { archDirName, packageFileName } from "../apk/names";
import { DistrolessError } from "../util/errors";

/**
 * Where a repository lives: an http(s) URL or a local directory laid out as
 * `<root>/<arch>/APKINDEX.tar.gz` plus the `.apk` files, optionally pinned with an `@tag`.
 *
 * Structurally the same as the apko config's `RepositoryRef`, so a validated config can be handed
 * over as it is.
 */
export interface RepositorySource {
  /** The entry as written (`@local ./repo`, `https://...`). */
  raw: string;
  /** The `@tag` of a pinned repository, without the `@`. */
  tag?: string;
  kind: "url" | "local";
  /** The URL without trailing slashes, or the absolute directory. */
  location: string;
}

const TAG_RE = /^[A-Za-z0-9_.-]+$/;

/**
 * Parses a repository line as apk and apko accept it: `[@tag ]<url-or-path>`. Relative paths are
 * resolved against `baseDir` (the directory of the config that named them).
 */
export function parseRepositorySource(text: string, baseDir = process.cwd()): RepositorySource {
  const raw = text.trim();
  let rest = raw;
  let tag: string | undefined;
  if (rest.startsWith("@")) {
    const space = rest.search(/\s/);
    if (space < 0) throw new DistrolessError("E_CONFIG", `repository "${raw}" has a tag but no location`);
    tag = rest.slice(1, space);
    rest = rest.slice(space).trim();
    if (!TAG_RE.test(tag))
      throw new DistrolessError("E_CONFIG", `invalid repository tag "@${tag}" in "${raw}"`);
  }
  if (rest === "") throw new DistrolessError("E_CONFIG", "empty repository entry");
  const source: RepositorySource = /^https?:\/\//i.test(rest)
    ? { raw, kind: "url", location: rest.replace(/\/+$/, "") }
    : { raw, kind: "local", location: localPath(rest, baseDir) };
  if (tag !== undefined) source.tag = tag;
  return source;
}

function localPath(text: string, baseDir: string): string {
  if (/^file:/i.test(text)) return path.resolve(fileURLToPath(text));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    throw new DistrolessError(
      "E_CONFIG",
      `unsupported repository scheme in "${text}" (use http, https or a path)`,
    );
  }
  return path.resolve(baseDir, text);
}

/** The location with any `user:password@` removed, for messages, locks and logs. */
export function displayLocation(source: Pick<RepositorySource, "kind" | "location">): string {
  return source.kind === "url" ? redactUrl(source.location) : source.location;
}

export function redactUrl(url: string): string {
  return url.replace(/^(https?:\/\/)[^/@]*@/i, "$1");
}

/** `<repo>/<arch>/APKINDEX.tar.gz` as a URL or a path; the arch must be a known one. */
export function indexLocation(source: RepositorySource, arch: string): string {
  return join(source, archDirName(arch), "APKINDEX.tar.gz");
}

/**
 * `<repo>/<arch>/<name>-<version>.apk` as a URL or a path. The parts come from signed indexes and
 * lock files, and are checked against apk's grammar here, so none can step out of the repository.
 */
export function packageLocation(
  source: RepositorySource,
  arch: string,
  name: string,
  version: string,
): string {
  return join(source, archDirName(arch, `${name}-${version}`), packageFileName(name, version));
}

function join(source: RepositorySource, arch: string, file: string): string {
  if (source.kind === "local") return path.join(source.location, arch, file);
  return `${source.location}/${encodeURIComponent(arch)}/${encodeURIComponent(file)}`;
}
