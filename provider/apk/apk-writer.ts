import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { ChunkedWriter } from "../archive/chunked-writer";
import { createGzip, HashingCounter } from "../archive/gzip-stream";
import { comparePaths } from "../archive/safe-path";
import { END_OF_ARCHIVE, encodeHeader, newHeader, paddingFor, xattrRecordValue } from "../archive/tar-header";
import { buildTar } from "../archive/tar-writer";
import { DistrolessError } from "../util/errors";
import { tempPathFor } from "../util/fs";
import { hashFile, q1Encode, sha1 } from "../util/hash";
import type { ControlFile } from "./apk-reader";
import { contentSize, type DataEntry } from "./data-entry";
import { buildSignatureMember } from "./index-archive";
import type { SigningKey } from "./keys";
import { formatPkgInfo, type PkgInfo } from "./pkginfo";
import { sign } from "./signature";

export interface WriteApkOptions {
  /** Metadata; `datahash` is computed, `size` is computed when 0. */
  pkginfo: PkgInfo;
  entries: DataEntry[];
  /** Extra control entries: `.melange.yaml`, scriptlets (`.post-install`, ...). */
  control?: ControlFile[];
  signingKey?: SigningKey;
  /** Every mtime in the package; also `builddate` unless pkginfo sets one. Default 0. */
  sourceDateEpoch?: number;
  /** Where to write the .apk (atomically). */
  output: string;
  /** gzip level for the data segment (default 6). */
  level?: number;
  generator?: string;
}

export interface WrittenApk {
  file: string;
  /** The apk file size (an index's `S:`). */
  size: number;
  /** `C:` of the package. */
  controlChecksum: string;
  datahash: string;
  pkginfo: PkgInfo;
}

/** Files up to this size are read once and kept for the write; larger ones are read twice. */
const READ_ONCE_LIMIT = 4 << 20;

/** A file's content in memory (small files), or its SHA-1 from a streaming pass (large ones). */
async function loadContent(entry: DataEntry): Promise<{ sha1: string; data?: Buffer }> {
  const c = entry.content;
  if (!c) return { sha1: sha1("").toString("hex"), data: Buffer.alloc(0) };
  if (Buffer.isBuffer(c)) return { sha1: sha1(c).toString("hex"), data: c };
  if (c.size <= READ_ONCE_LIMIT) {
    // Synchronous on purpose: libuv's few pool threads are busy compressing (ParallelGzip), and an
    // async read queued behind them stalls the whole pipeline; a page-cache read here takes
    // microseconds, and measured twice as fast end to end (bench/build.ts).
    const data = readFileSync(c.file);
    if (data.length !== c.size) {
      throw new DistrolessError(
        "E_BUILD",
        `${entry.path} changed size while being packaged (${c.size} -> ${data.length})`,
      );
    }
    return { sha1: sha1(data).toString("hex"), data };
  }
  return { sha1: (await hashFile(c.file, "sha1")).hex };
}

/**
 * Streams the data tar of `entries` through gzip into `file`; returns the SHA-256 of the compressed
 * bytes (the package's `datahash`). Entries are written depth-first in bytewise order with melange's
 * header conventions (owner names as the entries give them, root:root by default, `APK-TOOLS.checksum.SHA1` PAX records on files and symlinks).
 */
async function writeDataSegment(
  entries: DataEntry[],
  epoch: number,
  file: string,
  level: number,
): Promise<string> {
  const sorted = [...entries].sort((a, b) => comparePaths(a.path, b.path));
  const gzip = createGzip(level);
  const hasher = new HashingCounter("sha256");
  const done = pipeline(gzip, hasher, createWriteStream(file));
  const out = new ChunkedWriter(gzip);
  const write = (buf: Buffer) => out.write(buf);
  try {
    for (const e of sorted) {
      const pax: Record<string, string> = {};
      const content = e.type === "file" ? await loadContent(e) : undefined;
      if (content) pax["APK-TOOLS.checksum.SHA1"] = content.sha1;
      if (e.type === "symlink") pax["APK-TOOLS.checksum.SHA1"] = sha1(e.linkname ?? "").toString("hex");
      for (const [k, v] of Object.entries(e.xattrs ?? {})) pax[`SCHILY.xattr.${k}`] = xattrRecordValue(v);
      const size = e.type === "file" ? contentSize(e) : 0;
      await write(
        encodeHeader(
          newHeader({
            name: e.path,
            type: e.type,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            uname: e.uname ?? "root",
            gname: e.gname ?? "root",
            size,
            mtime: epoch,
            linkname: e.linkname ?? "",
            devmajor: e.devmajor ?? 0,
            devminor: e.devminor ?? 0,
            pax,
          }),
        ),
      );
      if (e.type !== "file" || size === 0) continue;
      const c = e.content!;
      if (content?.data) await write(content.data);
      else if (!Buffer.isBuffer(c)) {
        let seen = 0;
        for await (const chunk of createReadStream(c.file, { highWaterMark: 256 << 10 })) {
          seen += (chunk as Buffer).length;
          if (seen > size) break;
          await write(chunk as Buffer);
        }
        if (seen !== size) {
          throw new DistrolessError(
            "E_BUILD",
            `${e.path} changed size while being packaged (${size} -> ${seen})`,
          );
        }
      }
      await write(Buffer.alloc(paddingFor(size)));
    }
    await write(END_OF_ARCHIVE);
    await out.flush();
    gzip.end();
    await done;
  } catch (err) {
    gzip.destroy();
    await done.catch(() => {});
    throw err;
  }
  return hasher.digestHex();
}

/**
 * Writes an .apk the way melange does: [signature] + control + data, each its own gzip member.
 * Same inputs and epoch give the same bytes (PKCS#1 v1.5 signatures are deterministic).
 */
export async function writeApk(options: WriteApkOptions): Promise<WrittenApk> {
  const epoch = options.sourceDateEpoch ?? 0;
  const level = options.level ?? 6;
  await fsp.mkdir(path.dirname(options.output), { recursive: true });
  const dataTmp = tempPathFor(options.output);
  const outTmp = `${dataTmp}.apk`;
  try {
    const datahash = await writeDataSegment(options.entries, epoch, dataTmp, level);
    const installed = options.entries.reduce((n, e) => n + (e.type === "file" ? contentSize(e) : 0), 0);
    const pkginfo: PkgInfo = {
      ...options.pkginfo,
      datahash,
      size: options.pkginfo.size || installed,
      // melange records SOURCE_DATE_EPOCH as the build date (0 = none, and the line is left out).
      builddate: options.pkginfo.builddate || epoch,
    };
    const controlEntries = [
      { name: ".PKGINFO", mode: 0o644, data: Buffer.from(formatPkgInfo(pkginfo, options.generator)) },
      ...[...(options.control ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ];
    const controlTar = buildTar(
      controlEntries.map((c) => ({
        header: newHeader({
          name: c.name,
          type: "file",
          mode: c.mode,
          mtime: epoch,
          uname: "root",
          gname: "root",
        }),
        data: c.data,
      })),
      { endOfArchive: false },
    );
    const control = zlib.gzipSync(controlTar, { level: 9 });
    const parts: Buffer[] = [];
    if (options.signingKey) parts.push(buildSignatureMember([sign(control, options.signingKey, "sha256")]));
    parts.push(control);
    const out = await fsp.open(outTmp, "w", 0o644);
    try {
      for (const p of parts) await out.write(p);
      for await (const chunk of createReadStream(dataTmp, { highWaterMark: 1 << 20 }))
        await out.write(chunk as Buffer);
      await out.sync();
    } finally {
      await out.close();
    }
    await fsp.rename(outTmp, options.output);
    const { size } = await fsp.stat(options.output);
    return { file: options.output, size, controlChecksum: q1Encode(sha1(control)), datahash, pkginfo };
  } finally {
    await fsp.rm(dataTmp, { force: true });
    await fsp.rm(outTmp, { force: true });
  }
}
