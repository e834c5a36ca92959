/**
 * Field-by-field comparison of two .apk files built from the same recipe (ours and melange's):
 * data tar entries (order, path, type, mode, uid, gid, uname, gname, size, mtime, content, link,
 * PAX records), the SBOM as JSON, `.PKGINFO` fields, control entries. Each difference carries a
 * `key` (its class, e.g. `pkginfo:size`, `entry:uname`, `sbom:creationInfo.creators`) that
 * docs/conformance.md's Packages table must list with a reason for the difference to be accepted.
 */
import { readFileSync } from "node:fs";
import * as zlib from "node:zlib";
import { readApkHead, scanApkData } from "../../provider/apk/apk-reader";
import { sha1Hex } from "../../provider/util/hash";

export interface EntryView {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  mtime: number;
  linkname: string;
  pax: Record<string, string>;
  sha1?: string;
  content?: Buffer;
}

export interface ApkView {
  file: string;
  /** `.PKGINFO` lines in order, comments left out. */
  pkginfo: [string, string][];
  control: Map<
    string,
    { mode: number; uid?: number; gid?: number; uname?: string; gname?: string; data: Buffer }
  >;
  entries: EntryView[];
  datahash: string;
  /** The data segment uncompressed: the tar both tools wrote before gzip. */
  tar: Buffer;
  /** Each entry's raw bytes in that tar (PAX header, header, body, padding) by path. */
  raw: Map<string, Buffer>;
  /** What follows the last entry (the end-of-archive blocks). */
  trailer: Buffer;
}

function octal(block: Buffer, at: number, len: number): number {
  const text = block
    .subarray(at, at + len)
    .toString("latin1")
    .replace(/\0.*$/s, "")
    .trim();
  return text === "" ? 0 : Number.parseInt(text, 8);
}

function cstring(block: Buffer, at: number, len: number): string {
  const field = block.subarray(at, at + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? len : nul).toString("utf8");
}

/** Splits a tar into each entry's raw bytes, keyed by its normalized path. */
function rawEntries(tar: Buffer): { raw: Map<string, Buffer>; trailer: Buffer } {
  const raw = new Map<string, Buffer>();
  let off = 0;
  let start = 0;
  let paxPath: string | undefined;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const size = octal(h, 124, 12);
    const body = Math.ceil(size / 512) * 512;
    const type = String.fromCharCode(h[156]!);
    if (type === "x") {
      const records = tar.subarray(off + 512, off + 512 + size).toString("utf8");
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(records);
      if (m) paxPath = m[1];
      off += 512 + body;
      continue;
    }
    const prefix = cstring(h, 345, 155);
    const name = paxPath ?? (prefix ? `${prefix}/${cstring(h, 0, 100)}` : cstring(h, 0, 100));
    off += 512 + body;
    raw.set(name.replace(/^\.\//, "").replace(/\/$/, ""), tar.subarray(start, off));
    start = off;
    paxPath = undefined;
  }
  return { raw, trailer: tar.subarray(off) };
}

export async function readApkView(file: string): Promise<ApkView> {
  const head = await readApkHead(file);
  const control = new Map(head.control.map((c) => [c.name, c]));
  const text = control.get(".PKGINFO")?.data.toString("utf8") ?? "";
  const pkginfo: [string, string][] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.indexOf(" =");
    pkginfo.push([line.slice(0, at), line.slice(at + 2).replace(/^ /, "")]);
  }
  const entries: EntryView[] = [];
  await scanApkData(
    head,
    async (entry, body) => {
      const h = entry.header;
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c);
      const view: EntryView = {
        path: entry.path,
        type: h.type,
        mode: h.mode,
        uid: h.uid,
        gid: h.gid,
        uname: h.uname,
        gname: h.gname,
        size: h.size,
        mtime: h.mtime,
        linkname: h.linkname,
        pax: { ...h.pax },
      };
      if (h.type === "file") {
        const content = Buffer.concat(chunks);
        view.sha1 = sha1Hex(content);
        if (content.length <= 1 << 20) view.content = content;
      }
      entries.push(view);
    },
    { enforceDatahash: true },
  );
  const tar = zlib.gunzipSync(readFileSync(file).subarray(head.dataOffset));
  return { file, pkginfo, control, entries, datahash: head.pkginfo.datahash, tar, ...rawEntries(tar) };
}

export interface Difference {
  /** The class of difference, as docs/conformance.md lists it. */
  key: string;
  /** Where: the entry path, the field, the JSON path. */
  where: string;
  ours: string;
  theirs: string;
}

function values(lines: [string, string][], key: string): string[] {
  return lines.filter(([k]) => k === key).map(([, v]) => v);
}

/** `.PKGINFO`: each field's values; depend/provides/replaces/license as sets (item by item). */
function comparePkgInfo(ours: ApkView, theirs: ApkView, out: Difference[]): void {
  const keys = [...new Set([...ours.pkginfo.map(([k]) => k), ...theirs.pkginfo.map(([k]) => k)])];
  for (const key of keys) {
    if (key === "datahash") continue; // reported on its own
    const a = values(ours.pkginfo, key);
    const b = values(theirs.pkginfo, key);
    if (["depend", "provides", "replaces", "license", "triggers"].includes(key)) {
      for (const v of a.filter((x) => !b.includes(x)))
        out.push({ key: `pkginfo:${key}`, where: `.PKGINFO ${key}`, ours: v, theirs: "(absent)" });
      for (const v of b.filter((x) => !a.includes(x)))
        out.push({ key: `pkginfo:${key}`, where: `.PKGINFO ${key}`, ours: "(absent)", theirs: v });
      if (a.length === b.length && a.every((x) => b.includes(x)) && a.join("\n") !== b.join("\n"))
        out.push({
          key: `pkginfo:${key}-order`,
          where: `.PKGINFO ${key}`,
          ours: a.join(" "),
          theirs: b.join(" "),
        });
    } else if (a.join("\n") !== b.join("\n")) {
      out.push({
        key: `pkginfo:${key}`,
        where: `.PKGINFO ${key}`,
        ours: a.join(" | ") || "(absent)",
        theirs: b.join(" | ") || "(absent)",
      });
    }
  }
  const order = (v: ApkView) => [...new Set(v.pkginfo.map(([k]) => k))].join(",");
  if (order(ours) !== order(theirs))
    out.push({ key: "pkginfo:field-order", where: ".PKGINFO", ours: order(ours), theirs: order(theirs) });
}

/** Leaves of a JSON value by dotted path (arrays by index), for a field-level SBOM diff. */
function jsonLeaves(value: unknown, prefix: string, out: Map<string, string>): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) jsonLeaves(v, `${prefix}[${i}]`, out);
  } else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) jsonLeaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(value));
}

/**
 * melange fills hasExtractedLicensingInfos from a Go map, so its order changes from run to run;
 * compared as a set (by licenseId), ours being sorted.
 */
function sortedLicensingInfos(doc: { hasExtractedLicensingInfos?: { licenseId: string }[] }): unknown {
  doc.hasExtractedLicensingInfos?.sort((x, y) =>
    x.licenseId < y.licenseId ? -1 : x.licenseId > y.licenseId ? 1 : 0,
  );
  return doc;
}

function compareSbom(path: string, ours: Buffer, theirs: Buffer, out: Difference[]): void {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  jsonLeaves(sortedLicensingInfos(JSON.parse(ours.toString("utf8"))), "", a);
  jsonLeaves(sortedLicensingInfos(JSON.parse(theirs.toString("utf8"))), "", b);
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    if (a.get(k) === b.get(k)) continue;
    // The class names the field without array indexes: packages[1].name -> packages.name.
    out.push({
      key: `sbom:${k.replace(/\[\d+\]/g, "")}`,
      where: `${path} ${k}`,
      ours: a.get(k) ?? "(absent)",
      theirs: b.get(k) ?? "(absent)",
    });
  }
}

function compareEntries(ours: ApkView, theirs: ApkView, out: Difference[]): void {
  const byPath = new Map(theirs.entries.map((e) => [e.path, e]));
  const mine = new Set(ours.entries.map((e) => e.path));
  for (const e of theirs.entries)
    if (!mine.has(e.path))
      out.push({ key: "entry:only-melange", where: e.path, ours: "(absent)", theirs: e.type });
  const common = ours.entries.filter((e) => byPath.has(e.path)).map((e) => e.path);
  const theirOrder = theirs.entries.filter((e) => mine.has(e.path)).map((e) => e.path);
  if (common.join("\n") !== theirOrder.join("\n")) {
    const at = common.findIndex((p, i) => p !== theirOrder[i]);
    out.push({ key: "entry:order", where: common[at]!, ours: common[at]!, theirs: theirOrder[at]! });
  }
  for (const e of ours.entries) {
    const t = byPath.get(e.path);
    if (!t) {
      out.push({ key: "entry:only-ours", where: e.path, ours: e.type, theirs: "(absent)" });
      continue;
    }
    const isSbom = e.path.startsWith("var/lib/db/sbom/") && e.path.endsWith(".spdx.json");
    const fields: [string, string, string][] = [
      ["type", e.type, t.type],
      ["mode", e.mode.toString(8), t.mode.toString(8)],
      ["uid", String(e.uid), String(t.uid)],
      ["gid", String(e.gid), String(t.gid)],
      ["uname", e.uname, t.uname],
      ["gname", e.gname, t.gname],
      ["mtime", String(e.mtime), String(t.mtime)],
      ["linkname", e.linkname, t.linkname],
    ];
    if (!isSbom)
      fields.push(["size", String(e.size), String(t.size)], ["content", e.sha1 ?? "", t.sha1 ?? ""]);
    const before = out.length;
    for (const [name, a, b] of fields)
      if (a !== b) out.push({ key: `entry:${name}`, where: e.path, ours: a, theirs: b });
    // The SBOM's checksum record follows its content, which is compared as JSON below.
    const paxKeys = [...new Set([...Object.keys(e.pax), ...Object.keys(t.pax)])].sort();
    for (const k of paxKeys) {
      if (isSbom && k === "APK-TOOLS.checksum.SHA1") continue;
      if (e.pax[k] !== t.pax[k])
        out.push({
          key: `entry:pax:${k}`,
          where: e.path,
          ours: e.pax[k] ?? "(absent)",
          theirs: t.pax[k] ?? "(absent)",
        });
    }
    if (isSbom && e.content && t.content) compareSbom(e.path, e.content, t.content, out);
    // Equal fields, yet other bytes: how the header is encoded (field formatting, PAX layout).
    const ra = ours.raw.get(e.path);
    const rb = theirs.raw.get(e.path);
    if (!isSbom && out.length === before && ra && rb && !ra.equals(rb)) {
      const at = ra.findIndex((byte, i) => byte !== rb[i]);
      const show = (r: Buffer) => JSON.stringify(r.subarray(Math.max(0, at - 8), at + 24).toString("latin1"));
      out.push({ key: "entry:encoding", where: `${e.path} byte ${at}`, ours: show(ra), theirs: show(rb) });
    }
  }
  if (!ours.trailer.equals(theirs.trailer))
    out.push({
      key: "tar:trailer",
      where: "end of archive",
      ours: `${ours.trailer.length} bytes`,
      theirs: `${theirs.trailer.length} bytes`,
    });
}

/**
 * True when the two data tars are the same bytes apart from the SBOM entry (its content names
 * the tool that wrote it): same entries, same order, same encoding, same trailer.
 */
export function sameTarApartFromSbom(ours: ApkView, theirs: ApkView): boolean {
  const keys = (v: ApkView) => [...v.raw.keys()];
  if (keys(ours).join("\n") !== keys(theirs).join("\n")) return false;
  if (!ours.trailer.equals(theirs.trailer)) return false;
  return keys(ours).every(
    (k) =>
      (k.startsWith("var/lib/db/sbom/") && k.endsWith(".spdx.json")) ||
      ours.raw.get(k)!.equals(theirs.raw.get(k)!),
  );
}

function compareControl(ours: ApkView, theirs: ApkView, out: Difference[]): void {
  const names = [...new Set([...ours.control.keys(), ...theirs.control.keys()])].sort();
  for (const name of names) {
    if (name === ".PKGINFO") continue;
    const a = ours.control.get(name);
    const b = theirs.control.get(name);
    if (!a || !b) {
      out.push({
        key: `control:${name}`,
        where: name,
        ours: a ? "present" : "(absent)",
        theirs: b ? "present" : "(absent)",
      });
      continue;
    }
    if (!a.data.equals(b.data))
      out.push({
        key: `control:${name}`,
        where: name,
        ours: `${a.data.length} bytes`,
        theirs: `${b.data.length} bytes`,
      });
    if (a.mode !== b.mode)
      out.push({
        key: `control:${name}:mode`,
        where: name,
        ours: a.mode.toString(8),
        theirs: b.mode.toString(8),
      });
  }
}

/** Every difference between our apk and melange's; datahash equality is reported apart. */
export function compareApks(ours: ApkView, theirs: ApkView): Difference[] {
  const out: Difference[] = [];
  compareEntries(ours, theirs, out);
  comparePkgInfo(ours, theirs, out);
  compareControl(ours, theirs, out);
  return out;
}

/** A difference's one-line description for a test's failure message. */
export function describeDifference(d: Difference): string {
  return `${d.key} at ${d.where}: ours ${d.ours}, melange ${d.theirs}`;
}
