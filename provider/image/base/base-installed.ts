import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { type IndexEntry, parseIndexText } from "../../apk/index-text";
import { emptyPkgInfo, type PkgInfo } from "../../apk/pkginfo";
import { DistrolessError } from "../../util/errors";
import { readFileCapped } from "../../util/fs";
import type { ApkArch } from "../config/arch";
import type { BaseImageRef } from "../config/types";
import { type DbRecord, parseInstalledDb } from "../installed-db";

/**
 * The packages installed in a base image (apko's `contents.baseimage.apkindex`): the file
 * `<dir>/<apk arch>/APKINDEX`, an installed database (or plain APKINDEX text) as apk writes it.
 * The records are kept as they are (the image's installed database continues with them), read as
 * index entries for the resolver and as package facts for the SBOM.
 */

/** A large base (hundreds of packages, their file lists) stays far below this. */
export const MAX_BASE_INSTALLED = 64 << 20;

export interface BasePackage {
  /** What the SBOM and the epoch need: the package's fields as the record gives them. */
  pkginfo: PkgInfo;
  checksum: string;
  /** Not recorded in an installed database. */
  datahash: string;
}

export interface BaseInstalled {
  file: string;
  /** The records as read (written again byte for byte). */
  records: DbRecord[];
  /** Index entries for the resolver: each base package, satisfied by itself. */
  entries: IndexEntry[];
  packages: BasePackage[];
}

/**
 * The package's own fields of each record (the lines before its file list: F R M a Z follow
 * them), as APKINDEX text: one record each, so the index parser reads them with all its checks
 * (C/P/V present, names and versions in apk's grammar, numbers as numbers).
 */
function headerText(records: DbRecord[]): string {
  const out: string[] = [];
  for (const record of records) {
    for (const [k, v] of record.lines) {
      if (k === "F") break;
      out.push(`${k}:${v}`);
    }
    out.push("");
  }
  return out.join("\n");
}

/** What the SBOM and the epoch need, from the record as the index parser read it. */
function pkgInfoOf(entry: IndexEntry): PkgInfo {
  const info = emptyPkgInfo();
  info.pkgname = entry.name;
  info.pkgver = entry.version;
  info.arch = entry.arch;
  info.licenses = entry.license ? [entry.license] : [];
  info.pkgdesc = entry.description;
  info.origin = entry.origin;
  info.maintainer = entry.maintainer;
  info.url = entry.url;
  info.commit = entry.commit;
  info.depends = entry.depends;
  info.provides = entry.provides;
  info.replaces = entry.extra.filter(([k]) => k === "r").flatMap(([, v]) => v.split(" ").filter(Boolean));
  info.builddate = entry.buildTime;
  info.size = entry.installedSize;
  if (entry.providerPriority !== undefined) info.providerPriority = entry.providerPriority;
  return info;
}

export async function readBaseInstalled(ref: BaseImageRef, arch: ApkArch): Promise<BaseInstalled> {
  const file = path.join(ref.apkindex, arch, "APKINDEX");
  const st = await fsp.stat(file).catch(() => undefined);
  if (!st)
    throw new DistrolessError(
      "E_MISSING",
      `contents.baseimage.apkindex: ${file} does not exist (the base's installed packages for ${arch})`,
      { subject: file },
    );
  if (!st.isFile())
    throw new DistrolessError("E_FORMAT", "contents.baseimage.apkindex: not a regular file", {
      subject: file,
    });
  const text = (await readFileCapped(file, MAX_BASE_INSTALLED)).toString("utf8");
  const records = parseInstalledDb(text, file);
  const entries = parseIndexText(headerText(records), file);
  const names = new Set<string>();
  for (const entry of entries) {
    if (names.has(entry.name))
      throw new DistrolessError("E_FORMAT", `${entry.name} is listed twice`, { subject: file });
    names.add(entry.name);
    // An installed package is not installed again by a trigger.
    entry.installIf = [];
  }
  const packages = entries.map((entry) => ({
    pkginfo: pkgInfoOf(entry),
    checksum: entry.checksum,
    datahash: "",
  }));
  // The installed database separates records with one blank line; the last one ends with it too.
  if (records.length > 0)
    records[records.length - 1]!.blankAfter = Math.max(1, records[records.length - 1]!.blankAfter);
  return { file, records, entries, packages };
}
