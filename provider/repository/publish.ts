/**
 * Publishing into a local apk repository (`<root>/<arch>/APKINDEX.tar.gz` + `.apk` files), as
 * ApkRepository does:
 *  - packages are verified (signature from a trusted key: the signing key's own public key and any
 *    `trustedKeys`; control checksum chain, datahash, per-file SHA-1, safe paths) and their names,
 *    versions and arches checked before anything is written;
 *  - the index lists only packages that pass that same verification in the arch directory itself:
 *    an apk that sits there unsigned, signed by another key, corrupt, misnamed or carrying hostile
 *    paths is left out of the signed index and reported as refused (never signed over);
 *  - per arch, the apks are copied in first (temp file + rename), then the index is rewritten
 *    (sorted, deterministic, RSA-SHA256 signed) and renamed over the old one, so a reader never sees
 *    an index naming an apk that is not there, and a failure anywhere leaves the previous index;
 *  - with `prune`, apks not in this publish are dropped from the index, and deleted after it;
 *  - concurrent publishers to one directory are serialized by a lock file in it.
 */
import { createReadStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { type ApkHead, readApkHead, verifyApkFile } from "../apk/apk-reader";
import { writeIndexArchive } from "../apk/index-archive";
import { indexEntryFromApk } from "../apk/index-entry";
import { sortIndexEntries } from "../apk/index-text";
import { Keyring, loadPrivateKey, type SigningKey } from "../apk/keys";
import { archDirName, checkPackageVersion, isKnownArch, packageFileName } from "../apk/names";
import { compareVersions } from "../apk/version";
import { DistrolessError, type ErrorCode, errorMessage } from "../util/errors";
import { withLock, writeFileAtomic, writeStreamAtomic } from "../util/fs";
import { ociDigest } from "../util/hash";
import { type Progress, silentProgress } from "../util/log";

export interface PublishOptions {
  /** The repository directory (created if missing). */
  root: string;
  /** .apk files to add. */
  packages: string[];
  /** The private key (PEM file path or loaded key) the index is signed with. */
  signingKey: string | SigningKey;
  /** Drop every package not in `packages` (in every arch directory of the repository). */
  prune?: boolean;
  /** The index's DESCRIPTION. */
  description?: string;
  progress?: Progress;
  /**
   * Keys whose package signatures are trusted besides the signing key's own public key (packages
   * built elsewhere). Every package indexed must be signed by one of them.
   */
  trustedKeys?: Keyring;
  /** Test hook: called after the apks of an arch are in place, before its index is written. */
  beforeIndex?: (arch: string) => Promise<void>;
}

export interface PublishedPackage {
  name: string;
  version: string;
  arch: string;
  /** `C:` */
  checksum: string;
  /** The file name inside `<root>/<arch>/`. */
  file: string;
  size: number;
}

/** An apk found in an arch directory that failed verification, and so is not in the index. */
export interface RefusedPackage {
  /** The file name inside `<root>/<arch>/`. */
  file: string;
  code: ErrorCode;
  reason: string;
}

export interface PublishedArch {
  arch: string;
  /** `sha256:` of APKINDEX.tar.gz. */
  indexDigest: string;
  packages: PublishedPackage[];
  /** Files in the directory left out of the index because they do not verify. */
  refused: RefusedPackage[];
}

export interface PublishResult {
  root: string;
  keyName: string;
  publicKeyPem: string;
  archs: PublishedArch[];
}

export const PUBLISH_LOCK = ".publish.lock";
const INDEX = "APKINDEX.tar.gz";

/** `<pkgname>-<pkgver>.apk`, checked against apk's grammar (a hostile name cannot leave the arch dir). */
function fileName(head: ApkHead): string {
  return packageFileName(head.pkginfo.pkgname, head.pkginfo.pkgver, head.file);
}

/**
 * The full verification a package must pass to be published or indexed: its signature by a trusted
 * key, the control checksum chain, datahash, every file's SHA-1 and safe paths (`verifyApkFile`),
 * then a name, version and arch that can be a file in the repository.
 */
async function inspect(file: string, trusted: Keyring): Promise<ApkHead> {
  const { head } = await verifyApkFile(file, { keyring: trusted });
  // What we sign must be apk's version grammar, not only path-safe (`isReadableVersion`).
  checkPackageVersion(head.pkginfo.pkgver, file, ".PKGINFO pkgver", true);
  fileName(head);
  archDirName(head.pkginfo.arch, file);
  return head;
}

/** A file already in `<arch>/`: verified like an incoming one, and named and placed as its metadata says. */
async function inspectPresent(dir: string, name: string, arch: string, trusted: Keyring): Promise<ApkHead> {
  const file = path.join(dir, name);
  const head = await inspect(file, trusted);
  if (fileName(head) !== name) {
    throw new DistrolessError(
      "E_FORMAT",
      `the file holds ${head.pkginfo.pkgname}-${head.pkginfo.pkgver}, which must be named ${fileName(head)}`,
      { subject: file },
    );
  }
  if (head.pkginfo.arch !== arch && head.pkginfo.arch !== "noarch") {
    throw new DistrolessError("E_FORMAT", `the package is built for ${head.pkginfo.arch}, not ${arch}`, {
      subject: file,
    });
  }
  return head;
}

/** Existing arch directories of the repository (those holding an index or apks). */
async function archDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await fsp.readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (!d.isDirectory() || !isKnownArch(d.name)) continue;
    const names = await fsp.readdir(path.join(root, d.name));
    if (names.some((n) => n === INDEX || n.endsWith(".apk"))) out.push(d.name);
  }
  return out.sort();
}

/** Temp files a killed publisher left behind (we hold the lock, so nobody is writing them). */
async function sweepTemps(dir: string): Promise<void> {
  for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (n.startsWith(".") && n.endsWith(".tmp")) await fsp.rm(path.join(dir, n), { force: true });
  }
}

async function publishArch(
  root: string,
  arch: string,
  incoming: { file: string; head: ApkHead }[],
  options: PublishOptions,
  key: SigningKey,
  trusted: Keyring,
): Promise<PublishedArch> {
  const progress = options.progress ?? silentProgress;
  const dir = path.join(root, arch);
  await fsp.mkdir(dir, { recursive: true });
  await sweepTemps(dir);

  // 1. The apks, each complete before its name appears.
  const wanted = new Set<string>();
  for (const { file, head } of incoming) {
    const name = fileName(head);
    wanted.add(name);
    const target = path.join(dir, name);
    if (path.resolve(file) === path.resolve(target)) continue;
    const existing = await readApkHead(target).catch(() => undefined);
    if (existing && existing.controlChecksum !== head.controlChecksum) {
      progress.warn(
        `${arch}/${name}: replacing a different build of the same version (${existing.controlChecksum} -> ${head.controlChecksum})`,
      );
    }
    if (existing?.controlChecksum === head.controlChecksum && existing.fileSize === head.fileSize) continue;
    await writeStreamAtomic(target, createReadStream(file));
  }

  // 2. The index over what the directory will hold.
  const present = (await fsp.readdir(dir)).filter((n) => n.endsWith(".apk") && !n.startsWith(".")).sort();
  const listed = options.prune ? present.filter((n) => wanted.has(n)) : present;
  // Everything the index will vouch for is verified where it lies now, including the copies just
  // made: a file that was put there by hand, damaged, or swapped is never signed over.
  const heads: { name: string; head: ApkHead }[] = [];
  const refused: RefusedPackage[] = [];
  for (const n of listed) {
    try {
      heads.push({ name: n, head: await inspectPresent(dir, n, arch, trusted) });
    } catch (err) {
      if (!(err instanceof DistrolessError) || err.code === "E_INTERNAL" || err.code === "E_MISSING")
        throw err;
      // What this publish was asked to add must be there: failing it fails the publish.
      if (wanted.has(n)) throw err;
      const reason = errorMessage(err).replace(`${path.join(dir, n)}: `, "");
      refused.push({ file: n, code: err.code, reason });
      progress.warn(`${arch}/${n}: refused, not indexed (${reason})`);
    }
  }
  const entries = sortIndexEntries(
    heads.map((h) => indexEntryFromApk(h.head)),
    compareVersions,
  );
  const index = writeIndexArchive(entries, {
    signingKey: key,
    ...(options.description !== undefined ? { description: options.description } : {}),
  });
  await options.beforeIndex?.(arch);
  await writeFileAtomic(path.join(dir, INDEX), index);

  // 3. Only now that no index names them: the pruned files.
  if (options.prune) {
    for (const n of present) if (!wanted.has(n)) await fsp.rm(path.join(dir, n), { force: true });
  }
  const byName = new Map(heads.map((h) => [h.head.pkginfo.pkgname + "\0" + h.head.pkginfo.pkgver, h]));
  return {
    arch,
    indexDigest: ociDigest(index),
    packages: entries.map((e) => {
      const h = byName.get(`${e.name}\0${e.version}`)!;
      return {
        name: e.name,
        version: e.version,
        arch,
        checksum: e.checksum,
        file: h.name,
        size: h.head.fileSize,
      };
    }),
    refused,
  };
}

export async function publishPackages(options: PublishOptions): Promise<PublishResult> {
  const root = path.resolve(options.root);
  const key =
    typeof options.signingKey === "string" ? await loadPrivateKey(options.signingKey) : options.signingKey;
  const trusted = trustedKeyring(key, options.trustedKeys);
  // Verify everything before touching the repository.
  const byArch = new Map<string, { file: string; head: ApkHead }[]>();
  const seen = new Map<string, string>();
  for (const file of options.packages) {
    const head = await inspect(file, trusted);
    const id = `${head.pkginfo.arch}/${fileName(head)}`;
    const other = seen.get(id);
    if (other && other !== path.resolve(file)) {
      throw new DistrolessError("E_CONFLICT", `${id} is given twice (${other} and ${file})`, {
        subject: root,
      });
    }
    seen.set(id, path.resolve(file));
    const list = byArch.get(head.pkginfo.arch) ?? [];
    byArch.set(head.pkginfo.arch, list);
    if (!other) list.push({ file, head });
  }
  await fsp.mkdir(root, { recursive: true });
  const progress = options.progress ?? silentProgress;
  const lockOptions = { onWait: (message: string) => progress.warn(message) };
  return withLock(
    path.join(root, PUBLISH_LOCK),
    async () => {
      const archs = new Set(byArch.keys());
      if (options.prune) for (const a of await archDirs(root)) archs.add(a);
      const published: PublishedArch[] = [];
      for (const arch of [...archs].sort()) {
        published.push(await publishArch(root, arch, byArch.get(arch) ?? [], options, key, trusted));
      }
      // The public key beside the arch dirs, under the name signatures refer to.
      const keyFile = path.join(root, key.keyName);
      const current = await fsp.readFile(keyFile, "utf8").catch(() => undefined);
      if (current !== key.publicKeyPem) await writeFileAtomic(keyFile, key.publicKeyPem);
      return { root, keyName: key.keyName, publicKeyPem: key.publicKeyPem, archs: published };
    },
    lockOptions,
  );
}

/** The signing key's public half, plus the extra trusted keys. */
function trustedKeyring(key: SigningKey, extra: Keyring | undefined): Keyring {
  const ring = new Keyring().add(key.keyName, key.publicKeyPem);
  for (const name of extra?.names() ?? []) ring.add(name, extra!.pem(name)!);
  return ring;
}
