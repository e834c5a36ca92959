import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { ApkoConfig } from "../image/config";
import { redactUrl } from "../repository/source";
import { type ApkoLockFile, toApkoLock } from "../resolve/apko-lock";
import type { Lock } from "../resolve/lock";

/*
 * A lock file is committed and used from other checkouts, CI workspaces and working directories, so
 * the paths in it are relative: repositories, keys and package URLs to the config file's directory
 * (where apko's own locks have them: apko writes the config's strings, read from its directory),
 * and the config's name to the lock file's directory, so a reader can find the one from the other.
 */

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;

/** A local path as `./x` or `../x` from `baseDir` (POSIX separators); URLs unchanged (credentials removed). */
export function portablePath(location: string, baseDir: string): string {
  if (SCHEME.test(location)) return redactUrl(location);
  const rel = path.relative(baseDir, location).split(path.sep).join("/");
  if (rel === "") return ".";
  return rel.startsWith("../") || rel === ".." ? rel : `./${rel}`;
}

/** apko's lock of `lock` for `config`, with every local path portable as above. */
export function portableApkoLock(
  lock: Lock,
  config: ApkoConfig,
  configFile: string,
  lockFile: string,
): ApkoLockFile {
  const configDir = path.dirname(configFile);
  const relocated: Lock = {
    lockDigest: lock.lockDigest,
    archs: Object.fromEntries(
      Object.entries(lock.archs).map(([arch, pkgs]) => [
        arch,
        pkgs.map((p) => ({ ...p, repository: portablePath(p.repository, configDir) })),
      ]),
    ),
  };
  return toApkoLock(relocated, {
    configName: portablePath(configFile, path.dirname(lockFile)),
    keyring: config.contents.keyring.map((k) => portablePath(k.location, configDir)),
    repositories: config.contents.repositories.map((r) => portablePath(r.location, configDir)),
  });
}

/**
 * What a lock names that the config no longer does: its repositories (read relative to the config's
 * directory, as written) that are not among `config`'s, as notices. A lock whose paths are absolute
 * (older locks, apko run elsewhere) reads the same way.
 */
export async function lockRepositoryNotices(
  lockFile: string,
  config: ApkoConfig,
  configFile: string,
): Promise<string[]> {
  let json: Partial<ApkoLockFile>;
  try {
    json = JSON.parse(await fsp.readFile(lockFile, "utf8")) as Partial<ApkoLockFile>;
  } catch {
    return []; // reading the pins already said what is wrong with the file
  }
  const configDir = path.dirname(configFile);
  const known = new Set(
    [...config.contents.repositories, ...config.contents.buildRepositories].map((r) =>
      SCHEME.test(r.location) ? redactUrl(r.location) : r.location,
    ),
  );
  const notices: string[] = [];
  for (const repo of json.contents?.repositories ?? []) {
    if (typeof repo?.url !== "string") continue;
    // `<root>/<arch>/APKINDEX.tar.gz` -> `<root>`.
    const root = repo.url.replace(/\/[^/]+\/APKINDEX\.tar\.gz$/, "");
    const where = SCHEME.test(root) ? root : path.resolve(configDir, root);
    if (!known.has(where) && !notices.some((n) => n.includes(JSON.stringify(root)))) {
      notices.push(
        `${lockFile}: the lock was made with repository ${JSON.stringify(root)} (${where}), which ${path.basename(configFile)} does not list; packages are looked up in the config's repositories`,
      );
    }
  }
  return notices;
}
