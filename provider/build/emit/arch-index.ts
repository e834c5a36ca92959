/**
 * `<out>/<arch>/APKINDEX.tar.gz` beside freshly built apks, as `melange build` writes it by default
 * (--generate-index): the packages of this build merged into the index already there (a package of
 * the same name and version is replaced; records whose apk is gone are dropped), signed with the
 * build's key when there is one, unsigned otherwise. Written atomically under a lock, so builds
 * into one directory never lose each other's records and a reader never sees half an index.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { readApkHead } from "../../apk/apk-reader";
import { readIndexArchive, writeIndexArchive } from "../../apk/index-archive";
import { indexEntryFromApk } from "../../apk/index-entry";
import { type IndexEntry, sortIndexEntries } from "../../apk/index-text";
import type { SigningKey } from "../../apk/keys";
import { packageFileName } from "../../apk/names";
import { compareVersions } from "../../apk/version";
import { pathExists, withLock, writeFileAtomic } from "../../util/fs";
import { ociDigest } from "../../util/hash";
import type { Progress } from "../../util/log";

export const INDEX_FILE = "APKINDEX.tar.gz";

export interface WrittenIndex {
  file: string;
  /** `sha256:` of the index archive. */
  digest: string;
  packages: number;
  signed: boolean;
}

async function existingEntries(dir: string, file: string, progress: Progress): Promise<IndexEntry[]> {
  if (!(await pathExists(file))) return [];
  try {
    // Our own output directory: the records are re-checked against the apks beside them below.
    const index = await readIndexArchive(await fsp.readFile(file), { allowUntrusted: true, subject: file });
    const kept: IndexEntry[] = [];
    for (const e of index.entries) {
      const apk = path.join(dir, packageFileName(e.name, e.version));
      const head = await readApkHead(apk).catch(() => undefined);
      if (head && head.controlChecksum === e.checksum) kept.push(e);
    }
    return kept;
  } catch (err) {
    progress.warn(`${file}: not merged, rewritten from this build's packages (${String(err)})`);
    return [];
  }
}

/** Writes the index of `dir` (one arch's output directory) with `apks` (files in it) added. */
export async function writeArchIndex(
  dir: string,
  apks: readonly string[],
  options: { signingKey?: SigningKey; progress: Progress },
): Promise<WrittenIndex> {
  const file = path.join(dir, INDEX_FILE);
  return withLock(`${file}.lock`, async () => {
    const fresh = await Promise.all(apks.map(async (a) => indexEntryFromApk(await readApkHead(a))));
    const replaced = new Set(fresh.map((e) => `${e.name}\0${e.version}`));
    const kept = (await existingEntries(dir, file, options.progress)).filter(
      (e) => !replaced.has(`${e.name}\0${e.version}`),
    );
    const entries = sortIndexEntries([...kept, ...fresh], compareVersions);
    const archive = writeIndexArchive(entries, options.signingKey ? { signingKey: options.signingKey } : {});
    await writeFileAtomic(file, archive);
    return { file, digest: ociDigest(archive), packages: entries.length, signed: !!options.signingKey };
  });
}
