import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { emptyIndexEntry, type IndexEntry } from "../../apk/index-text";
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

const words = (s: string) => s.split(" ").filter(Boolean);

function integer(value: string, key: string, where: string, file: string): number {
  if (!/^\d+$/.test(value))
    throw new DistrolessError("E_FORMAT", `${where}: ${key}:${value.slice(0, 40)} is not a number`, {
      subject: file,
    });
  return Number(value);
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
  const entries: IndexEntry[] = [];
  const packages: BasePackage[] = [];
  const names = new Set<string>();
  records.forEach((record, n) => {
    const where = `record ${n + 1}`;
    const entry = emptyIndexEntry();
    const info = emptyPkgInfo();
    for (const [k, v] of record.lines) {
      // Only the package's own fields: the file lines (F R M a Z) follow them.
      if (k === "F") break;
      switch (k) {
        case "P":
          entry.name = info.pkgname = v;
          break;
        case "V":
          entry.version = info.pkgver = v;
          break;
        case "A":
          entry.arch = info.arch = v;
          break;
        case "L":
          entry.license = v;
          info.licenses = v ? [v] : [];
          break;
        case "T":
          entry.description = info.pkgdesc = v;
          break;
        case "o":
          entry.origin = info.origin = v;
          break;
        case "m":
          entry.maintainer = info.maintainer = v;
          break;
        case "U":
          entry.url = info.url = v;
          break;
        case "c":
          entry.commit = info.commit = v;
          break;
        case "D":
          entry.depends = info.depends = words(v);
          break;
        case "p":
          entry.provides = info.provides = words(v);
          break;
        case "r":
          info.replaces = words(v);
          break;
        case "t":
          entry.buildTime = info.builddate = integer(v, k, where, file);
          break;
        case "S":
          entry.size = integer(v, k, where, file);
          break;
        case "I":
          entry.installedSize = info.size = integer(v, k, where, file);
          break;
        case "k":
          entry.providerPriority = info.providerPriority = integer(v, k, where, file);
          break;
        case "C":
          entry.checksum = v;
          break;
      }
    }
    // install_if is left out: an installed package is not installed again by a trigger.
    if (!entry.name || !entry.version)
      throw new DistrolessError("E_FORMAT", `${where} has no P: (name) or V: (version)`, { subject: file });
    if (names.has(entry.name))
      throw new DistrolessError("E_FORMAT", `${entry.name} is listed twice`, { subject: file });
    names.add(entry.name);
    entries.push(entry);
    packages.push({ pkginfo: info, checksum: entry.checksum, datahash: "" });
  });
  // The installed database separates records with one blank line; the last one ends with it too.
  if (records.length > 0)
    records[records.length - 1]!.blankAfter = Math.max(1, records[records.length - 1]!.blankAfter);
  return { file, records, entries, packages };
}
