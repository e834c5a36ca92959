import { DistrolessError } from "../util/errors";
import { q1Encode } from "../util/hash";
import type { DbEntry, InstalledPackage } from "./install";
import { compareNames } from "./tree";

/**
 * `usr/lib/apk/db/installed`: one record per package, in install order. We write what apko writes
 * (field order `P V A L T o m U D p [r] c i t S I k C`, then the files, `a:`/`M:` as `%04o`), so a
 * layer built from the same packages has the same bytes. The parser is lossless: any installed
 * database (apk-tools', older apko's) reads back and formats to the identical bytes.
 */

/** One record, line by line, exactly as in the file. */
export interface DbRecord {
  lines: [key: string, value: string][];
  /** Blank lines after the record (1 normally; 0 when the file ends right after it). */
  blankAfter: number;
}

/** What a record says, for readers (certificates, busybox links, tests). */
export interface DbPackageView {
  name: string;
  version: string;
  arch: string;
  license: string;
  origin: string;
  checksum: string;
  provides: string[];
  replaces: string[];
  depends: string[];
  /** Full paths: directories (`F:`) and files (`R:` joined with the current directory). */
  dirs: { path: string; mode: number; uid: number; gid: number }[];
  files: { path: string; mode: number; uid: number; gid: number; checksum?: string }[];
}

export function parseInstalledDb(text: string, subject = "usr/lib/apk/db/installed"): DbRecord[] {
  const records: DbRecord[] = [];
  const lines = text.split("\n");
  // A trailing "\n" leaves one empty string after the split; it is the terminator, not a blank line.
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  let current: DbRecord | undefined;
  lines.forEach((line, i) => {
    if (line === "") {
      if (current) current.blankAfter++;
      else if (records.length > 0) records[records.length - 1]!.blankAfter++;
      else
        throw new DistrolessError("E_FORMAT", `line ${i + 1}: database starts with a blank line`, {
          subject,
        });
      return;
    }
    if (line.length < 2 || line[1] !== ":") {
      throw new DistrolessError(
        "E_FORMAT",
        `line ${i + 1}: expected "X:value", got ${JSON.stringify(line.slice(0, 40))}`,
        {
          subject,
        },
      );
    }
    if (current && current.blankAfter > 0) {
      records.push(current);
      current = undefined;
    }
    current ??= { lines: [], blankAfter: 0 };
    current.lines.push([line[0]!, line.slice(2)]);
  });
  if (current) records.push(current);
  return records;
}

export function formatInstalledDb(records: DbRecord[]): string {
  let out = "";
  for (const r of records) {
    for (const [k, v] of r.lines) {
      // Last line of defence: a value with a newline would forge records (readers refuse such names
      // earlier; this keeps any other source from writing a forged db).
      if (v.includes("\n")) {
        throw new DistrolessError("E_HOSTILE", `installed db value for ${k}: contains a line break`, {
          subject: "usr/lib/apk/db/installed",
        });
      }
      out += `${k}:${v}\n`;
    }
    out += "\n".repeat(r.blankAfter);
  }
  return out;
}

function perms(value: string, line: string, subject: string): { uid: number; gid: number; mode: number } {
  const m = /^(\d+):(\d+):([0-7]+)$/.exec(value);
  if (!m) throw new DistrolessError("E_FORMAT", `bad permissions line ${JSON.stringify(line)}`, { subject });
  return { uid: Number(m[1]), gid: Number(m[2]), mode: Number.parseInt(m[3]!, 8) };
}

/** Interprets a record the way apk reads it (M:/a: apply to the last F:/R:). */
export function viewRecord(record: DbRecord, subject = "installed db"): DbPackageView {
  const v: DbPackageView = {
    name: "",
    version: "",
    arch: "",
    license: "",
    origin: "",
    checksum: "",
    provides: [],
    replaces: [],
    depends: [],
    dirs: [],
    files: [],
  };
  let dir: DbPackageView["dirs"][number] | undefined;
  let file: DbPackageView["files"][number] | undefined;
  const words = (s: string) => s.split(" ").filter(Boolean);
  for (const [k, value] of record.lines) {
    switch (k) {
      case "P":
        v.name = value;
        break;
      case "V":
        v.version = value;
        break;
      case "A":
        v.arch = value;
        break;
      case "L":
        v.license = value;
        break;
      case "o":
        v.origin = value;
        break;
      case "C":
        v.checksum = value;
        break;
      case "p":
        v.provides = words(value);
        break;
      case "r":
        v.replaces = words(value);
        break;
      case "D":
        v.depends = words(value);
        break;
      case "F":
        dir = { path: value, mode: 0o755, uid: 0, gid: 0 };
        if (value !== "") v.dirs.push(dir);
        file = undefined;
        break;
      case "M":
        if (!dir) throw new DistrolessError("E_FORMAT", `M:${value} before any F: line`, { subject });
        Object.assign(dir, perms(value, `M:${value}`, subject));
        break;
      case "R":
        file = { path: dir && dir.path !== "" ? `${dir.path}/${value}` : value, mode: 0o644, uid: 0, gid: 0 };
        v.files.push(file);
        break;
      case "a":
        if (!file) throw new DistrolessError("E_FORMAT", `a:${value} before any R: line`, { subject });
        Object.assign(file, perms(value, `a:${value}`, subject));
        break;
      case "Z":
        if (file) file.checksum = value;
        break;
    }
  }
  return v;
}

const oct4 = (n: number) => n.toString(8).padStart(4, "0");

/**
 * apko's file order for a record: within a directory, its files come before its subdirectories,
 * each group in byte order; otherwise the archive order stands (the sort is stable).
 */
function comparePkgPaths(a: DbEntry, b: DbEntry): number {
  if (a.path === b.path) return 0;
  const at = a.path.split("/");
  const bt = b.path.split("/");
  let n = 0;
  for (; n < at.length - 1 && n < bt.length - 1; n++) {
    const c = compareNames(at[n]!, bt[n]!);
    if (c !== 0) return c;
  }
  const aDir = n + 1 < at.length || a.type === "dir";
  const bDir = n + 1 < bt.length || b.type === "dir";
  if (aDir === bDir) return compareNames(at[n]!, bt[n]!);
  return aDir ? 1 : -1;
}

/** Drops entries whose parent directories the package does not list (apko does, so we do). */
function withoutOrphans(entries: DbEntry[]): DbEntry[] {
  const dirs = new Set(entries.filter((e) => e.type === "dir").map((e) => e.path));
  return entries.filter((e) => {
    const parts = e.path.split("/");
    for (let i = parts.length - 1; i > 0; i--) {
      if (!dirs.has(parts.slice(0, i).join("/"))) return false;
    }
    return true;
  });
}

/** The record lines apko writes for a package and the entries it still owns. */
export function packageRecord(pkg: InstalledPackage, owned: DbEntry[]): DbRecord {
  const i = pkg.pkginfo;
  const lines: [string, string][] = [
    ["P", i.pkgname],
    ["V", i.pkgver],
    ["A", i.arch],
    ["L", i.licenses[0] ?? ""],
    ["T", i.pkgdesc],
    ["o", i.origin],
    ["m", i.maintainer],
    ["U", i.url],
    ["D", i.depends.join(" ")],
    ["p", i.provides.join(" ")],
  ];
  if (i.replaces.length > 0) lines.push(["r", i.replaces.join(" ")]);
  lines.push(
    ["c", i.commit],
    // apko prints the install_if list with Go's %s of a slice: "[a b]", "[]" when empty.
    ["i", `[${i.installIf.join(" ")}]`],
    ["t", String(i.builddate)],
    ["S", String(pkg.head.fileSize)],
    ["I", String(i.size)],
    ["k", String(i.providerPriority ?? 0)],
    ["C", pkg.checksum],
  );
  const sorted = withoutOrphans([...owned].sort(comparePkgPaths));
  let topDirNeeded = true;
  for (const e of sorted) {
    if (e.type === "dir") {
      lines.push(["F", e.path]);
      if (e.mode !== 0o755 || e.uid !== 0 || e.gid !== 0)
        lines.push(["M", `${e.uid}:${e.gid}:${oct4(e.mode)}`]);
      topDirNeeded = false;
      continue;
    }
    if (topDirNeeded) {
      lines.push(["F", ""]);
      topDirNeeded = false;
    }
    lines.push(["R", e.path.slice(e.path.lastIndexOf("/") + 1)]);
    if (e.mode !== 0o644 || e.uid !== 0 || e.gid !== 0)
      lines.push(["a", `${e.uid}:${e.gid}:${oct4(e.mode)}`]);
    if (e.sha1) lines.push(["Z", q1Encode(Buffer.from(e.sha1, "hex"))]);
  }
  return { lines, blankAfter: 1 };
}
