import { closeSync, createReadStream, createWriteStream, fstatSync, openSync, readSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
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

/** Files up to this size are read straight into the tar chunk; larger ones are read twice. */
const READ_ONCE_LIMIT = 4 << 20;

/** Input handed to the compressor at a time (a call per 512-byte header would cost more than compressing). */
const CHUNK = 1 << 20;

const SHA1_RECORD = "APK-TOOLS.checksum.SHA1";
/** A stand-in SHA-1 of the right length: the header is encoded before the file is read. */
const SHA1_PLACEHOLDER = "0".repeat(40);

async function send(out: Writable, buf: Buffer): Promise<void> {
  if (!out.write(buf)) await new Promise<void>((r) => out.once("drain", () => r()));
}

/**
 * The data tar, built in ~1 MiB chunks. A small file is read straight into its place in the chunk,
 * behind its header: no buffer per file, no copy into the chunk (issue #15: a 4,400-file package
 * spent as much on allocating, copying and collecting those buffers as on hashing them).
 */
class TarChunks {
  private buf = Buffer.allocUnsafe(CHUNK);
  private used = 0;

  constructor(private readonly out: Writable) {}

  async put(b: Buffer): Promise<void> {
    if (b.length >= CHUNK) {
      await this.flush();
      await send(this.out, b);
      return;
    }
    b.copy(await this.reserve(b.length));
  }

  /** The next `n` bytes of the tar, to be filled by the caller before the next call. */
  async reserve(n: number): Promise<Buffer> {
    if (this.used + n > this.buf.length) {
      await this.flush();
      if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
    }
    const region = this.buf.subarray(this.used, this.used + n);
    this.used += n;
    return region;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    // The compressor keeps what it is given until it is compressed: a fresh buffer follows.
    const full = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.used = 0;
    await send(this.out, full);
  }
}

/** Reads exactly `target.length` bytes of `file` into `target`; an error if the file is not that size. */
function readExactly(file: string, target: Buffer, entryPath: string): void {
  const fd = openSync(file, "r");
  try {
    let off = 0;
    while (off < target.length) {
      const n = readSync(fd, target, off, target.length - off, null);
      if (n === 0) break;
      off += n;
    }
    if (off !== target.length || readSync(fd, Buffer.alloc(1), 0, 1, null) !== 0) {
      throw new DistrolessError(
        "E_BUILD",
        `${entryPath} changed size while being packaged (${target.length} -> ${fstatSync(fd).size})`,
      );
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Where the SHA-1 placeholder sits in an encoded header: in the PAX data block that follows the PAX
 * header block, as its first record (records are sorted, and upper-case keys sort first).
 */
function sha1Offset(header: Buffer): number {
  const at = header.indexOf(`${SHA1_RECORD}=${SHA1_PLACEHOLDER}\n`, 512, "latin1");
  if (at < 512 || !/^\d+ $/.test(header.toString("latin1", 512, at))) {
    throw new DistrolessError("E_INTERNAL", "the tar header has no SHA-1 record where it should be");
  }
  return at + SHA1_RECORD.length + 1;
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
  const sink = createWriteStream(file);
  const done = pipeline(gzip, hasher, sink);
  const out = new TarChunks(gzip);
  try {
    for (const e of sorted) {
      const pax: Record<string, string> = {};
      const c = e.type === "file" ? e.content : undefined;
      const onDisk = c !== undefined && !Buffer.isBuffer(c) ? c : undefined;
      // Small files on disk: the header goes in with a stand-in SHA-1, fixed once the file is read.
      const direct = onDisk !== undefined && onDisk.size <= READ_ONCE_LIMIT;
      const data = e.type === "file" && !onDisk ? (Buffer.isBuffer(c) ? c : Buffer.alloc(0)) : undefined;
      if (direct) pax[SHA1_RECORD] = SHA1_PLACEHOLDER;
      else if (data) pax[SHA1_RECORD] = sha1(data).toString("hex");
      else if (onDisk) pax[SHA1_RECORD] = (await hashFile(onDisk.file, "sha1")).hex;
      if (e.type === "symlink") pax[SHA1_RECORD] = sha1(e.linkname ?? "").toString("hex");
      for (const [k, v] of Object.entries(e.xattrs ?? {})) pax[`SCHILY.xattr.${k}`] = xattrRecordValue(v);
      const size = e.type === "file" ? contentSize(e) : 0;
      const header = encodeHeader(
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
      );
      if (direct) {
        const pad = paddingFor(size);
        const region = await out.reserve(header.length + size + pad);
        const body = region.subarray(header.length, header.length + size);
        readExactly(onDisk.file, body, e.path);
        header.write(sha1(body).toString("hex"), sha1Offset(header), "latin1");
        header.copy(region);
        region.fill(0, header.length + size);
        continue;
      }
      await out.put(header);
      if (e.type !== "file" || size === 0) continue;
      if (data) await out.put(data);
      else if (onDisk) {
        let seen = 0;
        for await (const chunk of createReadStream(onDisk.file, { highWaterMark: 256 << 10 })) {
          seen += (chunk as Buffer).length;
          if (seen > size) break;
          await out.put(chunk as Buffer);
        }
        if (seen !== size) {
          throw new DistrolessError(
            "E_BUILD",
            `${e.path} changed size while being packaged (${size} -> ${seen})`,
          );
        }
      }
      await out.put(Buffer.alloc(paddingFor(size)));
    }
    await out.put(END_OF_ARCHIVE);
    await out.flush();
    gzip.end();
    await done;
  } catch (err) {
    gzip.destroy();
    await done.catch(() => {});
    // The file may still be opening: wait until it is closed, so the caller's cleanup removes it.
    if (!sink.closed) await new Promise<void>((r) => sink.once("close", () => r()));
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
