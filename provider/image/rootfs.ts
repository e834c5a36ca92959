import type { ApkHead } from "../apk/apk-reader";
import { encodeName } from "../archive/raw-names";
import type { UnpackedCache } from "../repository/unpacked-cache";
import { DistrolessError } from "../util/errors";
import type { Progress } from "../util/log";
import { applyAccounts } from "./accounts";
import { type BasePackage, linkLibOfMergedBase } from "./base";
import {
  INSTALLED_PATH,
  initBaseLayout,
  installDevices,
  linkLibApk,
  putFile,
  rewriteFile,
  SCRIPTS_PATH,
  TRIGGERS_PATH,
  writeApkConfig,
} from "./base-layout";
import { installBusyboxLinks } from "./busybox";
import { installCertificates } from "./certificates";
import type { ApkArch } from "./config/arch";
import type { ApkoConfig } from "./config/types";
import type { ContentStore } from "./content-store";
import { type InstalledPackage, installPackage, ownedEntries } from "./install";
import type { KeyContent, PlannedPackage } from "./install-plan";
import { type DbRecord, formatInstalledDb, packageRecord } from "./installed-db";
import { lockedConfigJson, repositoryLines } from "./locked-config";
import { type OsRelease, parseOsRelease } from "./os-release";
import { applyPathMutations } from "./paths";
import { buildScriptsTar, buildTriggers, buildWorld } from "./scripts";
import { writeSupervisionTree } from "./supervision";
import { FsTree } from "./tree";

export interface RootfsInput {
  config: ApkoConfig;
  arch: ApkArch;
  /** Packages in install order, each with its already-read head. */
  packages: { planned: PlannedPackage; head: ApkHead }[];
  keys: KeyContent[];
  store: ContentStore;
  epoch: number;
  progress: Progress;
  /** Building on a base image: the packages installed there and their database records. */
  base?: { records: DbRecord[]; packages: BasePackage[] };
  /**
   * Install from (and unpack into) this unpacked-package cache; without one, bodies go through the
   * content store and every package is scanned from its .apk.
   */
  unpacked?: UnpackedCache;
}

export interface Rootfs {
  tree: FsTree;
  installed: InstalledPackage[];
  /** The config's run-as, resolved to a uid when it names a user. */
  user: string | undefined;
  os: OsRelease;
  /** Each package's record in the installed database, as bytes (what it added to the file). */
  records: Map<string, Buffer>;
}

/**
 * Builds one architecture's file system in memory, in apko's order of creation (image-layout.md):
 * skeleton, keys/repositories/world, packages (with the installed database, scripts.tar and
 * triggers), lib/apk, accounts, etc/apko.json, paths, certificates, services, busybox links,
 * devices.
 */
export async function buildRootfs(input: RootfsInput): Promise<Rootfs> {
  const { config, arch, store, epoch, progress } = input;
  const tree = new FsTree();
  initBaseLayout(tree, arch);
  writeApkConfig(
    tree,
    input.keys,
    repositoryLines(config),
    buildWorld([
      ...(input.base?.packages ?? []).map((p) => ({ name: p.pkginfo.pkgname, version: p.pkginfo.pkgver })),
      ...input.packages.map((p) => ({ name: p.head.pkginfo.pkgname, version: p.head.pkginfo.pkgver })),
    ]),
  );

  const byName = new Map<string, InstalledPackage>();
  const installed: InstalledPackage[] = [];
  for (const { planned, head } of input.packages) {
    if (byName.has(head.pkginfo.pkgname)) {
      throw new DistrolessError(
        "E_CONFIG",
        `${head.pkginfo.pkgname} appears twice in the ${arch} install plan`,
      );
    }
    const unpacked = input.unpacked && {
      cache: input.unpacked,
      notice: (m: string) => progress.warn(`${arch}: ${m}`),
    };
    const pkg = await installPackage(tree, store, planned, head, byName, unpacked);
    byName.set(head.pkginfo.pkgname, pkg);
    installed.push(pkg);
  }
  progress.info(`${arch}: installed ${installed.length} packages`);

  // Each package's record as bytes, made one package at a time (a record's line list of a package
  // of many files is garbage as soon as it is formatted); the database is their concatenation.
  const records = installed.map((p) =>
    encodeName(formatInstalledDb([packageRecord(p, ownedEntries(tree, p))])),
  );
  // Names keep their bytes (raw-names.ts): the database is written as the bytes they stand for.
  // On a base image the database continues the base's (its records first, as they are); scripts.tar
  // and triggers hold ours only, as apko writes them.
  rewriteFile(
    tree,
    INSTALLED_PATH,
    Buffer.concat([encodeName(formatInstalledDb(input.base?.records ?? [])), ...records]),
  );
  rewriteFile(tree, SCRIPTS_PATH, buildScriptsTar(installed, epoch));
  rewriteFile(tree, TRIGGERS_PATH, buildTriggers(installed));
  if (input.base) linkLibOfMergedBase(tree, [...input.base.packages, ...installed]);
  linkLibApk(tree);

  // apko leaves accounts alone on a base image (the base's passwd and group stand).
  const user = input.base ? undefined : await applyAccounts(tree, store, config);
  putFile(
    tree,
    "etc/apko.json",
    lockedConfigJson(
      config,
      arch,
      installed.map((p) => ({ name: p.pkginfo.pkgname, version: p.pkginfo.pkgver })),
      user,
    ),
    0o444,
  );
  applyPathMutations(tree, config.paths, config.source);
  const owned = (p: InstalledPackage) =>
    ownedEntries(tree, p)
      .filter((e) => e.type !== "dir")
      .map((e) => e.path);
  const certs = await installCertificates(tree, store, config, installed, owned, epoch);
  if (certs > 0) progress.info(`${arch}: added ${certs} CA certificates`);
  writeSupervisionTree(tree, config);
  const busybox = await installBusyboxLinks(tree, store, installed);
  if (busybox.warning) progress.warn(`${arch}: ${busybox.warning}`);
  installDevices(tree);
  if (tree.stat("etc/ld.so.conf")) {
    progress.warn(
      `${arch}: etc/ld.so.conf exists but etc/ld.so.cache generation is not implemented; glibc falls back to its default paths`,
    );
  }
  const recordBytes = new Map(installed.map((p, i) => [p.pkginfo.pkgname, records[i]!] as const));
  return { tree, installed, user, os: await readOsRelease(tree, store), records: recordBytes };
}

async function readOsRelease(tree: FsTree, store: ContentStore): Promise<OsRelease> {
  for (const p of ["etc/os-release", "usr/lib/os-release"]) {
    let found: ReturnType<FsTree["stat"]>;
    try {
      found = tree.stat(p);
    } catch {
      continue; // a hostile os-release symlink just means "no os-release"
    }
    if (found?.node.kind !== "file" || found.node.inode.size > 64 << 10) continue;
    return parseOsRelease(
      (await store.read(found.node.inode.content, found.node.inode.size, p)).toString("utf8"),
    );
  }
  return { id: "", name: "", versionId: "", prettyName: "" };
}
