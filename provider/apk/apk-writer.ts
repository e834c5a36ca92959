import * as fsp from "node:fs/promises";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { newHeader } from "../archive/tar-header";
import { buildTar } from "../archive/tar-writer";
import { tempPathFor } from "../util/fs";
import { q1Encode, sha1 } from "../util/hash";
import type { ControlFile } from "./apk-reader";
import { contentSize, type DataEntry } from "./data-entry";
import { type DataSegment, writeDataSegment } from "./data-segment";
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

/** Appends the data segment held in `file` (a big one) to `out`, through one reused buffer. */
async function appendFile(out: fsp.FileHandle, file: string, data: DataSegment): Promise<void> {
  const src = await fsp.open(file, "r");
  try {
    const buf = Buffer.allocUnsafe(Math.min(data.size, 1 << 20));
    let copied = 0;
    while (copied < data.size) {
      const { bytesRead } = await src.read(buf, 0, Math.min(buf.length, data.size - copied), copied);
      if (bytesRead === 0) break;
      await out.write(buf, 0, bytesRead);
      copied += bytesRead;
    }
  } finally {
    await src.close();
  }
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
    const data = await writeDataSegment(options.entries, epoch, dataTmp, level);
    const datahash = data.datahash;
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
      await out.writev([...parts, ...(data.chunks ?? [])]);
      if (!data.chunks) await appendFile(out, dataTmp, data);
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
