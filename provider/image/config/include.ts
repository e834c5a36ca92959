/**
 * apko's deprecated `include:`: the included file is the base, the including config is laid over it
 * (fields that are empty in the overlay keep the base's value), and contents.keyring,
 * contents.repositories and contents.packages are concatenated base-first. Only local files are
 * accepted (apko also fetched remote ones; that is refused here). Paths in the included file resolve
 * against its own directory; the include path itself against the including file's directory.
 */
import { readFileSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { MAX_CONFIG_BYTES, type SourceInfo, validateYaml } from "../../config";
import { parseKey, parseRepository } from "./normalize";
import { apkoRawSchema, type RawApkoConfig } from "./schema";

const MAX_INCLUDE_DEPTH = 8;

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v).length === 0;
  return false;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function overlay(base: unknown, top: unknown): unknown {
  if (isEmpty(top)) return base;
  if (isPlainObject(base) && isPlainObject(top)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(top)) out[k] = overlay(base[k], v);
    return out;
  }
  return top;
}

/**
 * Merges `top` over the included `base` the way apko does. Local repository and key paths are made
 * absolute first, so each file's relative paths keep meaning "relative to that file".
 */
export function mergeIncluded(base: RawApkoConfig, top: RawApkoConfig): RawApkoConfig {
  const merged = overlay(base, { ...top, include: undefined }) as RawApkoConfig;
  const concat = (a: string[] | undefined, b: string[] | undefined) => [...(a ?? []), ...(b ?? [])];
  merged.contents = {
    ...merged.contents,
    keyring: concat(base.contents?.keyring, top.contents?.keyring),
    repositories: concat(base.contents?.repositories, top.contents?.repositories),
    packages: concat(base.contents?.packages, top.contents?.packages),
  };
  delete merged.include;
  return merged;
}

/** Rewrites relative local repository/key paths of a raw config to absolute ones. */
function absolutize(raw: RawApkoConfig, baseDir: string, source: SourceInfo): RawApkoConfig {
  const c = raw.contents;
  if (!c) return raw;
  const repo = (list: string[] | undefined, key: string) =>
    list?.map((r, i) => {
      const ref = parseRepository(r, baseDir, `contents.${key}[${i}]`, source);
      if (ref.kind !== "local") return r;
      return ref.tag !== undefined ? `@${ref.tag} ${ref.location}` : ref.location;
    });
  const out = { ...c };
  const repositories = repo(c.repositories, "repositories");
  const buildRepositories = repo(c.buildRepositories, "build_repositories");
  const keyring = c.keyring?.map((k, i) => {
    const ref = parseKey(k, baseDir, `contents.keyring[${i}]`, source);
    return ref.kind === "local" ? ref.location : k;
  });
  if (c.baseimage) {
    // Both are local paths; the included file's are relative to that file.
    out.baseimage = {
      image: path.resolve(baseDir, c.baseimage.image),
      apkindex: path.resolve(baseDir, c.baseimage.apkindex),
    };
  }
  if (repositories) out.repositories = repositories;
  if (buildRepositories) out.buildRepositories = buildRepositories;
  if (keyring) out.keyring = keyring;
  return { ...raw, contents: out };
}

/**
 * Resolves `include` chains: returns the config with its includes merged in. Paths that came from an
 * included file are made absolute; the including config's own entries are left as written.
 */
export function resolveIncludes(
  raw: RawApkoConfig,
  source: SourceInfo,
  baseDir: string,
  chain: string[] = [],
): RawApkoConfig {
  if (raw.include === undefined) return raw;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(raw.include)) {
    throw source.error("include", "only local files can be included (remote includes are refused)");
  }
  if (chain.length >= MAX_INCLUDE_DEPTH)
    throw source.error("include", `includes nest deeper than ${MAX_INCLUDE_DEPTH}`);
  const file = path.resolve(baseDir, raw.include);
  let real: string;
  try {
    real = realpathSync(file);
    const size = statSync(real).size;
    if (size > MAX_CONFIG_BYTES) throw new Error(`${size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
  } catch (err) {
    throw source.error("include", `cannot read ${file}: ${(err as Error).message}`);
  }
  if (chain.includes(real)) throw source.error("include", `include cycle: ${[...chain, real].join(" -> ")}`);
  const included = validateYaml(apkoRawSchema, readFileSync(real, "utf8"), file);
  const includedDir = path.dirname(real);
  const base = resolveIncludes(included.value, included.source, includedDir, [...chain, real]);
  // The base's relative paths mean "relative to the included file", so pin them before merging.
  return mergeIncluded(absolutize(base, includedDir, included.source), raw);
}
