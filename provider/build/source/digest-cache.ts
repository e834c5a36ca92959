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
 *
 * The cache directory may be shared (README, "What is trusted"), and a planted record would make a
 * changed source look unchanged, so no build would run for it. So the file carries an HMAC under
 * the cache seal key (repository/cache-seal.ts, kept outside the cache), bound to the source root;
 * without a usable key nothing is recorded or read.
 */
import type { Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { loadSealKey, SEAL_BYTES, sealBytes, sealBytesMatch } from "../../repository/cache-seal";
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

/** What the seal binds the record to: its source root (a record is never used for another tree). */
const sealedFor = (root: string) => `source-digests\0${root}`;

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
    /** The seal key; undefined: nothing is read or recorded. */
    private readonly key: Buffer | undefined,
  ) {}

  /** The cache of source root `root` (a real path) under `cacheDir`; empty when there is none yet. */
  static async load(
    cacheDir: string,
    root: string,
    options: { settledMs?: number; now?: number; env?: NodeJS.ProcessEnv; keyFile?: string } = {},
  ): Promise<SourceDigestCache> {
    const file = path.join(cacheDir, "source-digests", `${sha256Hex(root).slice(0, 32)}.json`);
    const known = new Map<string, [string, string]>();
    const key = await loadSealKey({ env: options.env ?? process.env, keyFile: options.keyFile });
    try {
      if (!key) throw new Error("no seal key");
      const bytes = await fsp.readFile(file);
      const body = bytes.subarray(0, Math.max(0, bytes.length - SEAL_BYTES));
      if (!sealBytesMatch(key, sealedFor(root), body, bytes.subarray(body.length)))
        throw new Error("seal does not verify");
      const doc = JSON.parse(body.toString("utf8")) as Partial<CacheFile>;
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
    return new SourceDigestCache(file, root, known, now - (options.settledMs ?? SETTLED_MS), key);
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
    if (!this.key || (same && count === this.known.size)) return;
    const doc: CacheFile = { v: VERSION, root: this.root, files };
    const body = Buffer.from(JSON.stringify(doc));
    const sealed = Buffer.concat([body, sealBytes(this.key, sealedFor(this.root), body)]);
    // A cache that cannot be written costs the next build a re-hash, nothing else.
    await writeFileAtomic(this.file, sealed).catch(() => {});
  }
}
