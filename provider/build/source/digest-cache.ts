/**
 * Remembered SHA-256s of a source directory's files, so an unchanged tree is digested from `lstat`
 * alone (issue #15: reading and hashing a 100 MiB tree on every build, and twice per `pulumi up`,
 * check then create). The same idea as git's index: a file's hash is reused only while its stat
 * stamp (device, inode, size, mode, mtime, ctime) is exactly the one recorded with the hash.
 *
 * Why that is safe: every write, truncate, chmod, rename over or `touch -d` sets the file's ctime to
 * the current time, and no system call sets ctime to a chosen value; restoring the mtime after a
 * same-size edit still changes the ctime. One hole remains, the one git calls "racily clean": a
 * write in the same timestamp tick as the stamp was taken leaves the ctime unchanged. So only files
 * whose ctime and mtime lie well before the listing began (SETTLED_MS) are recorded; a file changed
 * since gets a ctime after the listing began, which cannot equal the recorded one.
 *
 * Files holding a PEM private key are never recorded: their exclusion depends on the signing key
 * (key-material.ts), so they are read on every listing. The cache is a hint: unreadable, corrupt or
 * foreign content is ignored and the tree is hashed as if there were none.
 */
import type { Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { writeFileAtomic } from "../../util/fs";
import { sha256Hex } from "../../util/hash";

/** How long before the listing began a file must have last changed to be recorded (see above). */
export const SETTLED_MS = 1000;

const VERSION = 1;

interface CacheFile {
  v: number;
  root: string;
  /** path -> [stamp, sha256 hex] */
  files: Record<string, [string, string]>;
}

/** What the listing records per file: enough for `save`. */
export interface StampedFile {
  path: string;
  type: string;
  stamp?: string;
  sha256?: string;
}

export class SourceDigestCache {
  private constructor(
    private readonly file: string,
    private readonly root: string,
    private readonly known: Map<string, [string, string]>,
    /** Files changed at or after this time (ms since the epoch) are not recorded. */
    private readonly settledBefore: number,
  ) {}

  /** The cache of source root `root` (a real path) under `cacheDir`; empty when there is none yet. */
  static async load(
    cacheDir: string,
    root: string,
    options: { settledMs?: number; now?: number } = {},
  ): Promise<SourceDigestCache> {
    const file = path.join(cacheDir, "source-digests", `${sha256Hex(root).slice(0, 32)}.json`);
    const known = new Map<string, [string, string]>();
    try {
      const doc = JSON.parse(await fsp.readFile(file, "utf8")) as Partial<CacheFile>;
      if (doc.v === VERSION && doc.root === root && doc.files && typeof doc.files === "object") {
        for (const [rel, value] of Object.entries(doc.files)) {
          if (Array.isArray(value) && typeof value[0] === "string" && /^[0-9a-f]{64}$/.test(String(value[1])))
            known.set(rel, [value[0], value[1]]);
        }
      }
    } catch {
      // No cache yet, or one we cannot use: every file is hashed.
    }
    const now = options.now ?? Date.now();
    return new SourceDigestCache(file, root, known, now - (options.settledMs ?? SETTLED_MS));
  }

  /**
   * The stamp of a regular file, when it changed long enough ago to be recorded; undefined for a
   * file changed too recently (or on a filesystem without a ctime).
   */
  stampOf(st: Stats): string | undefined {
    if (st.ctimeMs <= 0) return undefined;
    if (st.ctimeMs >= this.settledBefore || st.mtimeMs >= this.settledBefore) return undefined;
    return `${st.dev}:${st.ino}:${st.size}:${st.mode}:${st.mtimeMs}:${st.ctimeMs}`;
  }

  /** The SHA-256 recorded for `rel` with exactly this stamp. */
  lookup(rel: string, stamp: string): string | undefined {
    const hit = this.known.get(rel);
    return hit && hit[0] === stamp ? hit[1] : undefined;
  }

  /** Records the stamped files' hashes (written only when they differ from what was loaded). */
  async save(entries: readonly StampedFile[]): Promise<void> {
    const files: Record<string, [string, string]> = {};
    let count = 0;
    let same = true;
    for (const e of entries) {
      if (e.type !== "file" || !e.stamp || !e.sha256) continue;
      files[e.path] = [e.stamp, e.sha256];
      count++;
      if (same) {
        const had = this.known.get(e.path);
        same = had !== undefined && had[0] === e.stamp && had[1] === e.sha256;
      }
    }
    if (same && count === this.known.size) return;
    const doc: CacheFile = { v: VERSION, root: this.root, files };
    // A cache that cannot be written costs the next build a re-hash, nothing else.
    await writeFileAtomic(this.file, JSON.stringify(doc)).catch(() => {});
  }
}
