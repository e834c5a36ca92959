/**
 * The source directory of a build: listed once (honouring `.melangeignore`, and leaving out private
 * key material: see key-material.ts), digested for the package's inputDigest, and copied into the
 * build workspace. Regular files, directories and symlinks are taken (symlinks as links, never
 * followed); sockets, FIFOs and devices are skipped.
 */
import { constants, createReadStream, existsSync, lstatSync, readdirSync, readlinkSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { isKnownArch } from "../../apk/names";
import { comparePaths } from "../../archive/safe-path";
import { DistrolessError } from "../../util/errors";
import { newHash } from "../../util/hash";
import { SourceDigestCache } from "./digest-cache";
import { DEFAULT_IGNORES, IGNORE_FILE, IgnoreRules } from "./ignore";
import { type ExclusionReason, KeyMaterialFilter, type SigningKeyIdentity } from "./key-material";

export interface SourceEntry {
  /** Slash separated, relative to the source root. */
  path: string;
  type: "file" | "directory" | "symlink";
  /** Permission bits. */
  mode: number;
  size: number;
  linkname?: string;
  /**
   * SHA-256 (hex) of the file's content: taken when a small file was read for the key scan, from
   * the digest cache when the file is unchanged, or by sourceTreeDigest.
   */
  sha256?: string;
  /** The file's stat stamp when its hash may be remembered (digest-cache.ts). */
  stamp?: string;
}

export interface SourceTree {
  /** The real path of the source directory, or undefined when there is none. */
  root: string | undefined;
  entries: SourceEntry[];
  /** Files left out because they are private keys (not in `entries`, not copied, not digested). */
  excluded: { path: string; reason: ExclusionReason }[];
  /**
   * Every entry under the root is listed (nothing ignored, excluded or skipped): the directory
   * itself shows exactly the tree (workspace.ts mounts it instead of copying).
   */
  complete: boolean;
  /** Every entry is owned by the calling user (a copy would be; a mount keeps the owners). */
  ownedByCaller: boolean;
  /** Remembers the file hashes for the next listing (set when listed with `cacheDir`). */
  digestCache?: SourceDigestCache;
}

export interface ListSourceOptions {
  /** The key packages are signed with: never copied into the workspace. */
  signingKey?: SigningKeyIdentity;
  /** Told when the tree is large enough to slow every build (a notice, not an error). */
  onLarge?: (message: string) => void;
  /**
   * Where file hashes are remembered between builds (digest-cache.ts): an unchanged file is then
   * neither read nor hashed again.
   */
  cacheDir?: string;
}

const LARGE_TREE_FILES = 10_000;
const LARGE_TREE_BYTES = 100 * 2 ** 20;

/** Lists the source directory; a missing directory is an empty tree (recipes that fetch everything). */
export async function listSourceTree(
  dir: string | undefined,
  options: ListSourceOptions = {},
): Promise<SourceTree> {
  const empty = (): SourceTree => ({
    root: undefined,
    entries: [],
    excluded: [],
    complete: true,
    ownedByCaller: true,
  });
  if (dir === undefined) return empty();
  let root: string;
  try {
    root = await fsp.realpath(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return empty();
    throw err;
  }
  const st = await fsp.stat(root);
  if (!st.isDirectory())
    throw new DistrolessError("E_CONFIG", "the source directory is not a directory", { subject: dir });
  const cache = options.cacheDir ? await SourceDigestCache.load(options.cacheDir, root) : undefined;
  const ignoreText = await fsp.readFile(path.join(root, IGNORE_FILE), "utf8").catch(() => "");
  const rules = new IgnoreRules(`${DEFAULT_IGNORES}\n${ignoreText}`);
  const keys = await KeyMaterialFilter.create(options.signingKey);
  const entries: SourceEntry[] = [];
  const excluded: SourceTree["excluded"] = [];
  const uid = process.getuid?.();
  let complete = true;
  let ownedByCaller = true;
  /**
   * Lists a directory; false when everything in it was ignored (so it is left out too).
   * Synchronous calls: one async call per file costs a thread-pool round trip each, which on a
   * busy machine made listing a 4,400-file tree take seconds instead of a second (bench/commands).
   */
  const walk = (abs: string, rel: string): boolean => {
    let ignoredAny = false;
    const listedBefore = entries.length;
    const names = readdirSync(abs);
    // An apk repository (`<arch>/APKINDEX.tar.gz` inside) is an output, not a source: an
    // ApkRepository publishing into the project would otherwise change the next build's digest.
    if (rel && !rules.reincludes(rel, true) && isApkRepository(abs, names)) {
      complete = false;
      return false;
    }
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(abs, name);
      const s = lstatSync(p);
      const isDir = s.isDirectory();
      if (rules.ignores(r, isDir)) {
        ignoredAny = true;
        complete = false;
        continue;
      }
      if (s.uid !== uid) ownedByCaller = false;
      if (isDir) {
        const at = entries.length;
        entries.push({ path: r, type: "directory", mode: s.mode & 0o7777, size: 0 });
        // A directory that holds only ignored things (a repository of built apks) is not a source:
        // as in git, it leaves no trace, so publishing into it cannot change the digest.
        if (!walk(p, r)) {
          entries.splice(at, 1);
          ignoredAny = true;
        }
      } else if (s.isFile()) {
        const stamp = cache?.stampOf(s);
        const known = stamp === undefined ? undefined : cache!.lookup(r, stamp);
        const { reason, content, pem } = keys.check(
          p,
          r,
          s,
          () => rules.reincludes(r, false),
          known !== undefined,
        );
        if (reason) {
          excluded.push({ path: r, reason });
          complete = false;
        } else {
          const e: SourceEntry = { path: r, type: "file", mode: s.mode & 0o7777, size: s.size };
          if (known) e.sha256 = known;
          else if (content) e.sha256 = newHash("sha256").update(content).digest("hex");
          // A PEM key is scanned on every listing: whether it is excluded depends on the signing key.
          if (stamp !== undefined && !pem) e.stamp = stamp;
          entries.push(e);
        }
      } else if (s.isSymbolicLink()) {
        const linkname = readlinkSync(p);
        entries.push({ path: r, type: "symlink", mode: 0o777, size: 0, linkname });
      } else complete = false; // sockets, FIFOs, devices are not taken
    }
    return entries.length > listedBefore || !ignoredAny;
  };
  walk(root, "");
  entries.sort((a, b) => comparePaths(a.path, b.path));
  const bytes = entries.reduce((n, e) => n + e.size, 0);
  if (entries.length > LARGE_TREE_FILES || bytes > LARGE_TREE_BYTES) {
    options.onLarge?.(
      `the source directory ${root} holds ${entries.length} files (${Math.round(bytes / 2 ** 20)} MiB), all copied into each build and hashed into its input digest: set sourceDir, or list what the build does not need in ${IGNORE_FILE}`,
    );
  }
  excluded.sort((a, b) => comparePaths(a.path, b.path));
  return { root, entries, excluded, complete, ownedByCaller, ...(cache ? { digestCache: cache } : {}) };
}

function isApkRepository(dir: string, names: readonly string[]): boolean {
  return names.some((n) => isKnownArch(n) && existsSync(path.join(dir, n, "APKINDEX.tar.gz")));
}

/**
 * SHA-256 over the tree's paths, types, modes, symlink targets and file contents (each file's own
 * SHA-256, kept on its entry). Independent of mtimes, owners and the directory's location. A tree
 * listed with a cache dir remembers the file hashes for the next listing.
 */
export async function sourceTreeDigest(tree: SourceTree): Promise<string> {
  const h = newHash("sha256");
  h.update("source-tree-v1\n");
  for (const e of tree.entries) {
    let detail = "";
    if (e.type === "symlink") detail = e.linkname ?? "";
    else if (e.type === "file" && e.sha256) detail = e.sha256;
    else if (e.type === "file") {
      const fh = newHash("sha256");
      for await (const chunk of createReadStream(path.join(tree.root!, e.path), { highWaterMark: 1 << 20 })) {
        fh.update(chunk as Buffer);
      }
      detail = fh.digest("hex");
      e.sha256 = detail;
    }
    h.update(`${e.type}\0${e.path}\0${e.mode.toString(8)}\0${detail}\n`);
  }
  await tree.digestCache?.save(tree.entries);
  return `sha256:${h.digest("hex")}`;
}

/** Copies the tree into `dest` (which must exist), cloning file data where the filesystem can. */
export async function copySourceTree(tree: SourceTree, dest: string): Promise<void> {
  if (!tree.root) return;
  const dirs: SourceEntry[] = [];
  for (const e of tree.entries) {
    const to = path.join(dest, e.path);
    if (e.type === "directory") {
      await fsp.mkdir(to, { recursive: true });
      dirs.push(e);
    } else if (e.type === "file") {
      await fsp.copyFile(path.join(tree.root, e.path), to, constants.COPYFILE_FICLONE);
      await fsp.chmod(to, e.mode);
    } else await fsp.symlink(e.linkname ?? "", to);
  }
  // Directory modes last, so a read-only directory does not block its own contents.
  for (const d of dirs.reverse()) await fsp.chmod(path.join(dest, d.path), d.mode);
}
