import * as fsp from "node:fs/promises";
import * as path from "node:path";

/**
 * apko's `--vcs` probe (pkg/vcs, v1.2.37): from the config file's directory up to the working
 * directory, the first directory holding `.git` is the checkout; its `origin` remote URL
 * (credentials removed, scp-style `user@host:path` turned into `git+ssh://host/path`) and the
 * commit HEAD resolves to become `org.opencontainers.image.source`/`.revision`. Like apko, any
 * failure (no checkout, no origin, no commit yet, config outside the working directory) means no
 * VCS information at all, never an error. Only files are read: no git binary, no network, and
 * nothing time-dependent, so the same checkout gives the same image.
 */

export interface VcsInfo {
  url: string;
  commit: string;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, "utf8");
  } catch {
    return undefined;
  }
}

/** The git directory of a checkout at `dir` (`.git`, or where a `.git` file points), if any. */
async function gitDirOf(dir: string): Promise<string | undefined> {
  const dotGit = path.join(dir, ".git");
  const stat = await fsp.stat(dotGit).catch(() => undefined);
  if (stat?.isDirectory()) return dotGit;
  if (!stat?.isFile()) return undefined;
  const m = /^gitdir:\s*(.+?)\s*$/m.exec((await readText(dotGit)) ?? "");
  return m ? path.resolve(dir, m[1]!) : undefined;
}

/** The first `url` of `[remote "<name>"]` in a git config file. */
export function remoteUrl(configText: string, name = "origin"): string | undefined {
  let inRemote = false;
  for (const raw of configText.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) {
      const m = /^\[\s*remote\s+"((?:[^"\\]|\\.)*)"\s*\]/.exec(line);
      inRemote = m?.[1] === name;
      continue;
    }
    if (!inRemote) continue;
    const kv = /^url\s*=\s*(.*)$/i.exec(line);
    if (kv) return kv[1]!.replace(/^"(.*)"$/, "$1").trim();
  }
  return undefined;
}

/**
 * The URL as apko records it: a URL with a scheme (or a plain path) keeps its text minus any
 * `user[:password]@`; an scp-style `user@host:path` (Go's url.Parse refuses a colon in the first
 * path segment) becomes `git+ssh://host/path`.
 */
export function normalizeVcsUrl(remote: string): string {
  const stripUser = (url: string) => url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@?#]*@/, "$1");
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(remote)) return stripUser(remote);
  const firstSegment = remote.split("/")[0]!;
  if (firstSegment.includes(":")) return stripUser(`git+ssh://${remote.replace(":", "/")}`);
  return remote;
}

/** The commit `HEAD` names (a detached hash, or a branch through loose refs or packed-refs). */
async function resolveHead(gitDir: string, commonDir: string): Promise<string | undefined> {
  let head = (await readText(path.join(gitDir, "HEAD")))?.trim();
  for (let hops = 0; head !== undefined && hops < 5; hops++) {
    if (/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(head)) return head;
    const ref = /^ref:\s*(refs\/\S+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    head =
      (await readText(path.join(gitDir, ref)))?.trim() ?? (await readText(path.join(commonDir, ref)))?.trim();
    if (head === undefined) {
      const packed = (await readText(path.join(commonDir, "packed-refs"))) ?? "";
      head = packed
        .split("\n")
        .map((l) => l.trim().split(" "))
        .find(([hash, name]) => name === ref && hash !== undefined && !hash.startsWith("#"))?.[0];
    }
  }
  return undefined;
}

/**
 * Probes the checkout holding `configFile` (or `configFile` itself when it is a directory), no
 * higher than `topLevel` (apko: the working directory).
 */
export async function probeVcs(configFile: string, topLevel: string): Promise<VcsInfo | undefined> {
  let dir = path.resolve(configFile);
  const top = path.resolve(topLevel);
  const stat = await fsp.stat(dir).catch(() => undefined);
  if (!stat) return undefined;
  if (!stat.isDirectory()) dir = path.dirname(dir);
  for (;;) {
    if (!dir.startsWith(top)) return undefined;
    const gitDir = await gitDirOf(dir);
    if (gitDir) {
      const common = (await readText(path.join(gitDir, "commondir")))?.trim();
      const commonDir = common ? path.resolve(gitDir, common) : gitDir;
      const url = remoteUrl((await readText(path.join(commonDir, "config"))) ?? "");
      if (!url) return undefined;
      const commit = await resolveHead(gitDir, commonDir);
      return commit ? { url: normalizeVcsUrl(url), commit } : undefined;
    }
    if (dir === top || dir === path.dirname(dir)) return undefined;
    dir = path.dirname(dir);
  }
}
