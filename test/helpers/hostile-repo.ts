/**
 * Hostile repositories made with the project itself: apks from its apk writer (with whatever
 * `.PKGINFO` an attacker would write), indexes from its index writer signed by keys it generates.
 * Nothing here is a committed blob; every artifact is built fresh in a temp directory.
 */
import { readdirSync, statSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { readApkHead } from "../../provider/apk/apk-reader";
import { writeApk } from "../../provider/apk/apk-writer";
import type { DataEntry } from "../../provider/apk/data-entry";
import { writeIndexArchive } from "../../provider/apk/index-archive";
import { indexEntryFromApk } from "../../provider/apk/index-entry";
import { emptyIndexEntry, type IndexEntry } from "../../provider/apk/index-text";
import {
  generateSigningKey,
  Keyring,
  loadPrivateKey,
  type SigningKey,
  writeKeyPair,
} from "../../provider/apk/keys";
import { emptyPkgInfo } from "../../provider/apk/pkginfo";

export interface TestKey {
  key: SigningKey;
  privateKeyFile: string;
  publicKeyFile: string;
  keyring: Keyring;
}

/** A fresh 2048-bit RSA key pair written to `dir` (`<name>`, `<name>.pub`). */
export async function makeTestKey(dir: string, name = "hostile-test.rsa"): Promise<TestKey> {
  await fsp.mkdir(dir, { recursive: true });
  const files = await writeKeyPair(dir, name, await generateSigningKey(2048));
  return {
    key: await loadPrivateKey(files.privateKeyFile),
    ...files,
    keyring: await Keyring.fromPaths([files.publicKeyFile]),
  };
}

export interface ApkSpec {
  name: string;
  version: string;
  arch?: string;
  /** Unsigned when absent. */
  key?: SigningKey;
  /** Default: one file, `usr/share/<name>/hello`. */
  entries?: DataEntry[];
  /** Default `<name>-<version>.apk` (give one for names that are not file names). */
  fileName?: string;
}

/** An apk written by the project's own writer; the `.PKGINFO` says exactly what `spec` says. */
export async function makeApk(dir: string, spec: ApkSpec): Promise<string> {
  const pkginfo = {
    ...emptyPkgInfo(),
    pkgname: spec.name,
    pkgver: spec.version,
    arch: spec.arch ?? "x86_64",
    origin: spec.name,
    pkgdesc: "hostile-repo test package",
    licenses: ["MIT"],
  };
  const entries: DataEntry[] = spec.entries ?? [
    { path: "usr", type: "directory", mode: 0o755, uid: 0, gid: 0 },
    { path: "usr/share", type: "directory", mode: 0o755, uid: 0, gid: 0 },
    { path: `usr/share/${spec.name}`, type: "directory", mode: 0o755, uid: 0, gid: 0 },
    {
      path: `usr/share/${spec.name}/hello`,
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: Buffer.from(`hello from ${spec.name}\n`),
    },
  ];
  const output = path.join(dir, spec.fileName ?? `${spec.name}-${spec.version}.apk`);
  await writeApk({
    pkginfo,
    entries,
    output,
    sourceDateEpoch: 1_700_000_000,
    ...(spec.key ? { signingKey: spec.key } : {}),
  });
  return output;
}

/** The index entry of a (well-formed) apk. */
export async function entryOf(apk: string): Promise<IndexEntry> {
  return indexEntryFromApk(await readApkHead(apk));
}

/** A signed APKINDEX.tar.gz of exactly these records (nothing checked: that is the point). */
export function signedIndex(records: Partial<IndexEntry>[], key: SigningKey): Buffer {
  return writeIndexArchive(
    records.map((r) => ({ ...emptyIndexEntry(), ...r })),
    { signingKey: key },
  );
}

/** Writes `<root>/<arch>/APKINDEX.tar.gz`. */
export async function writeRepoIndex(root: string, arch: string, index: Buffer): Promise<string> {
  const file = path.join(root, arch, "APKINDEX.tar.gz");
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(file, index);
  return file;
}

/** Every file under `dir` (relative paths, sorted): to show that nothing appeared where it must not. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}
