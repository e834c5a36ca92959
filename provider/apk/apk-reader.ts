import { createReadStream } from "node:fs";
import * as fsp from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { inflateMember } from "../archive/gzip-members";
import { MAX_ENTRY_NAME_BYTES, safeEntryPath } from "../archive/safe-path";
import { type TarHeader, xattrFromRecord } from "../archive/tar-header";
import { readTarBuffer, TarReader } from "../archive/tar-reader";
import { DistrolessError, withSubjectAsync } from "../util/errors";
import { newHash, q1Encode, sha1 } from "../util/hash";
import type { Keyring } from "./keys";
import { type PkgInfo, parsePkgInfo } from "./pkginfo";
import {
  isSignatureEntryName,
  parseSignatureEntryName,
  type SignatureEntry,
  type VerifiedBy,
  verifyWithKeyring,
} from "./signature";

/** Control segments are tiny (a few KB); this cap turns a 100 MB `.PKGINFO` into an error, not an OOM. */
export const MAX_CONTROL_INFLATED = 8 << 20;
const MAX_CONTROL_COMPRESSED = 8 << 20;

export interface ControlFile {
  name: string;
  mode: number;
  data: Buffer;
  /** Owner as the control tar records it (scripts.tar keeps it); writers default to root. */
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
}

/** What the first two segments of an .apk say, and where its data segment lies. */
export interface ApkHead {
  file: string;
  fileSize: number;
  signatures: SignatureEntry[];
  /** `.SIGN.*` entries of a type we cannot verify (apk-tools' DSA, anything unknown): never trusted. */
  unsupportedSignatures: string[];
  /** `Q1` + base64 SHA-1 of the compressed control segment: the package's `C:` in an index. */
  controlChecksum: string;
  controlOffset: number;
  controlLength: number;
  dataOffset: number;
  pkginfo: PkgInfo;
  /** Every control entry (`.PKGINFO`, scriptlets, `.melange.yaml`, ...), in archive order. */
  control: ControlFile[];
}

/**
 * Reads an .apk's signature and control segments. Only the head of the file is read; the data
 * segment is left for `scanApkData` so large packages stream.
 */
export async function readApkHead(file: string): Promise<ApkHead> {
  return withSubjectAsync(file, async () => {
    const fh = await fsp.open(file, "r").catch((err: NodeJS.ErrnoException) => {
      throw new DistrolessError("E_MISSING", err.code === "ENOENT" ? "file not found" : err.message);
    });
    try {
      const { size } = await fh.stat();
      if (size === 0) throw new DistrolessError("E_FORMAT", "empty file, not an apk");
      let buf = Buffer.alloc(0);
      const readMore = async (want: number): Promise<boolean> => {
        const target = Math.min(size, Math.max(want, buf.length * 2, 64 << 10));
        if (target <= buf.length) return false;
        const next = Buffer.alloc(target);
        buf.copy(next);
        const { bytesRead } = await fh.read(next, buf.length, target - buf.length, buf.length);
        buf = next.subarray(0, buf.length + bytesRead);
        return bytesRead > 0;
      };
      await readMore(64 << 10);
      const member = async (offset: number) => {
        for (;;) {
          const m = inflateMember(buf, offset, MAX_CONTROL_INFLATED);
          if (m) return m;
          if (buf.length - offset > MAX_CONTROL_COMPRESSED) {
            throw new DistrolessError("E_HOSTILE", `control segment over ${MAX_CONTROL_COMPRESSED} bytes`);
          }
          if (!(await readMore(buf.length * 2))) {
            throw new DistrolessError("E_FORMAT", "truncated apk (a gzip segment is cut short)");
          }
        }
      };
      const first = await member(0);
      const firstEntries = await readTarBuffer(first.inflated, { maxEntryBytes: MAX_CONTROL_INFLATED });
      // The first member is the signature segment when it holds only `.SIGN.*` entries (apk-tools'
      // rule); the types we verify are kept, the others listed so a refusal can name them.
      const isSignature =
        firstEntries.length > 0 && firstEntries.every((e) => isSignatureEntryName(e.header.name));
      const signatures: SignatureEntry[] = [];
      const unsupportedSignatures: string[] = [];
      let control = first;
      let controlEntries = firstEntries;
      if (isSignature) {
        for (const e of firstEntries) {
          const parsed = parseSignatureEntryName(e.header.name);
          if (parsed) signatures.push({ ...parsed, signature: e.data });
          else unsupportedSignatures.push(e.header.name);
        }
        if (first.length >= size)
          throw new DistrolessError("E_FORMAT", "apk has a signature but no control segment");
        control = await member(first.length);
        controlEntries = await readTarBuffer(control.inflated, { maxEntryBytes: MAX_CONTROL_INFLATED });
      }
      const pkginfoEntry = controlEntries.find((e) => e.header.name === ".PKGINFO");
      if (!pkginfoEntry)
        throw new DistrolessError("E_FORMAT", "no .PKGINFO in the control segment (not an apk?)");
      const controlBytes = buf.subarray(control.offset, control.offset + control.length);
      return {
        file,
        fileSize: size,
        signatures,
        unsupportedSignatures,
        controlChecksum: q1Encode(sha1(controlBytes)),
        controlOffset: control.offset,
        controlLength: control.length,
        dataOffset: control.offset + control.length,
        pkginfo: parsePkgInfo(pkginfoEntry.data.toString("utf8"), `${file}: .PKGINFO`),
        control: controlEntries.map((e) => ({
          name: e.header.name,
          mode: e.header.mode,
          data: e.data,
          uid: e.header.uid,
          gid: e.header.gid,
          uname: e.header.uname,
          gname: e.header.gname,
        })),
      };
    } finally {
      await fh.close();
    }
  });
}

/** Verifies the apk's own signature (over the compressed control segment), as apk-tools does. */
export async function verifyApkSignature(head: ApkHead, keyring: Keyring): Promise<VerifiedBy> {
  if (head.signatures.length === 0 && head.unsupportedSignatures.length > 0) {
    throw new DistrolessError(
      "E_SIGNATURE",
      `signed only with signature types that are not verified here (${head.unsupportedSignatures.join(", ")}); ` +
        "supported: .SIGN.RSA. (SHA-1), .SIGN.RSA256., .SIGN.RSA512.",
      { subject: head.file },
    );
  }
  const fh = await fsp.open(head.file, "r");
  try {
    const control = Buffer.alloc(head.controlLength);
    await fh.read(control, 0, head.controlLength, head.controlOffset);
    return verifyWithKeyring(control, head.signatures, keyring, head.file);
  } finally {
    await fh.close();
  }
}

/** A data-segment entry as the scanner hands it to a consumer. */
export interface ApkDataEntry {
  /** Normalized relative path (no `./`, no trailing `/`). */
  path: string;
  header: TarHeader;
  /** Hex SHA-1 the package recorded for this file (`APK-TOOLS.checksum.SHA1`), if any. */
  recordedSha1?: string;
  /** `SCHILY.xattr.*` records, name -> raw value. */
  xattrs: Record<string, Buffer>;
}

export interface ApkDataSummary {
  /** SHA-256 of the compressed data segment as read. */
  datahash: string;
  /** False when `.PKGINFO` recorded a different datahash (only returned with `enforceDatahash: false`). */
  datahashMatches: boolean;
  entries: number;
  files: number;
  /** Sum of regular file sizes. */
  bytes: number;
}

export type ApkDataConsumer = (entry: ApkDataEntry, body: AsyncIterable<Buffer>) => Promise<void>;

/**
 * Refuses a package whose `.PKGINFO` has no `datahash`. Without it nothing in the control segment
 * binds the data segment: apk-tools then verifies the signature over control + data as one stream
 * (extract_v2.c), and an index `C:` (SHA-1 of the control segment alone) would let any data segment
 * through. apk-tools 3 refuses to index such packages (APKE_V2PKG_FORMAT), and abuild and melange
 * always write a datahash, so every verifying path (verify, publish, index, fetch, install) refuses
 * them rather than implement a second, data-wide signature scheme.
 */
export function requireDatahash(head: ApkHead): void {
  if (head.pkginfo.datahash) return;
  throw new DistrolessError(
    "E_SIGNATURE",
    `${head.pkginfo.pkgname || "package"}-${head.pkginfo.pkgver}: .PKGINFO has no datahash, so its data ` +
      "segment is not bound to the signature or the index checksum (refused; rebuild it with melange or abuild)",
    { subject: head.file },
  );
}

/**
 * Streams the data segment: checks that its SHA-256 equals `.PKGINFO`'s `datahash`, that every entry
 * name stays inside the root, and that every regular file (and symlink target) matches its recorded
 * SHA-1. `consume` sees each entry and may read its body; anything it leaves is read for hashing.
 * Consumers that store content must treat it as unverified until this function resolves. A package
 * without a datahash is refused before any entry is read (`requireDatahash`), unless
 * `enforceDatahash: false` (inspect, and test fixtures, which only look).
 */
export async function scanApkData(
  head: ApkHead,
  consume?: ApkDataConsumer,
  options: { enforceDatahash?: boolean } = {},
): Promise<ApkDataSummary> {
  if (options.enforceDatahash !== false) requireDatahash(head);
  const label = `${head.pkginfo.pkgname}-${head.pkginfo.pkgver}`;
  return withSubjectAsync(head.file, async () => {
    const dataHash = newHash("sha256");
    // Large output chunks: each 16 KiB default chunk is a thread-pool round trip and a buffer to collect.
    const gunzip = zlib.createGunzip({ chunkSize: 128 << 10 });
    const source = createReadStream(head.file, { start: head.dataOffset, highWaterMark: 256 << 10 });
    source.on("data", (chunk) => dataHash.update(chunk as Buffer));
    const feeding = pipeline(source, gunzip);
    // The tar reader pulls from gunzip; if it stops early the pipeline is torn down below.
    const tar = new TarReader(gunzip);
    const summary: ApkDataSummary = { datahash: "", datahashMatches: true, entries: 0, files: 0, bytes: 0 };
    try {
      for (let h = await tar.next(); h; h = await tar.next()) {
        const path = safeEntryPath(h.name, label);
        if (Buffer.byteLength(h.linkname) > MAX_ENTRY_NAME_BYTES) {
          throw new DistrolessError(
            "E_HOSTILE",
            `${path}: link target of ${Buffer.byteLength(h.linkname)} bytes: File name too long (the limit is ${MAX_ENTRY_NAME_BYTES})`,
            { subject: label },
          );
        }
        if (path === "") continue; // the root directory itself
        summary.entries++;
        const recorded = h.pax["APK-TOOLS.checksum.SHA1"];
        const xattrs: Record<string, Buffer> = {};
        for (const [k, v] of Object.entries(h.pax)) {
          if (k.startsWith("SCHILY.xattr.")) xattrs[k.slice(13)] = xattrFromRecord(v);
        }
        const entry: ApkDataEntry = { path, header: h, xattrs };
        if (recorded !== undefined) entry.recordedSha1 = recorded;
        const fileHash = h.type === "file" ? newHash("sha1") : undefined;
        const body = (async function* () {
          for await (const chunk of tar.body()) {
            fileHash?.update(chunk);
            yield chunk;
          }
        })();
        if (consume) await consume(entry, body);
        for await (const _ of body) {
          // drain what the consumer left, so the hash covers the whole file
        }
        if (h.type === "file") {
          summary.files++;
          summary.bytes += h.size;
          const got = fileHash!.digest("hex");
          if (recorded !== undefined && recorded !== got) {
            throw new DistrolessError(
              "E_CHECKSUM",
              `${path}: content SHA-1 ${got} does not match the recorded ${recorded}`,
            );
          }
        } else if (h.type === "symlink" && recorded !== undefined) {
          const got = sha1(h.linkname).toString("hex");
          if (got !== recorded) {
            throw new DistrolessError(
              "E_CHECKSUM",
              `${path}: symlink target SHA-1 does not match the recorded one`,
            );
          }
        }
      }
      await tar.drain();
      await feeding;
    } catch (err) {
      source.destroy();
      gunzip.destroy();
      await feeding.catch(() => {});
      if (err instanceof DistrolessError) throw err;
      throw new DistrolessError("E_FORMAT", `corrupt data segment: ${(err as Error).message}`, {
        cause: err,
      });
    }
    summary.datahash = dataHash.digest("hex");
    const expected = head.pkginfo.datahash;
    summary.datahashMatches = !expected || expected === summary.datahash;
    if (!summary.datahashMatches && options.enforceDatahash !== false) {
      throw new DistrolessError(
        "E_CHECKSUM",
        `data segment SHA-256 ${summary.datahash} does not match .PKGINFO datahash ${expected}`,
      );
    }
    return summary;
  });
}

export interface VerifyApkOptions {
  /** The `C:` the index recorded for this package. */
  expectedChecksum?: string;
  /** Verify the apk's own signature with these keys. */
  keyring?: Keyring;
}

/** The whole chain a verifier runs: `C:` -> control -> datahash -> data -> per-file SHA-1. */
export async function verifyApkFile(
  file: string,
  options: VerifyApkOptions = {},
): Promise<{ head: ApkHead; data: ApkDataSummary; signedBy?: VerifiedBy }> {
  const head = await readApkHead(file);
  if (options.expectedChecksum && options.expectedChecksum !== head.controlChecksum) {
    throw new DistrolessError(
      "E_CHECKSUM",
      `control checksum ${head.controlChecksum} does not match the index's ${options.expectedChecksum}`,
      { subject: file },
    );
  }
  const signedBy = options.keyring ? await verifyApkSignature(head, options.keyring) : undefined;
  const data = await scanApkData(head);
  return signedBy ? { head, data, signedBy } : { head, data };
}
