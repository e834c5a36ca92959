import * as assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { buildSignatureMember } from "../../provider/apk/index-archive";
import type { SigningKey } from "../../provider/apk/keys";
import { type SignatureAlgorithm, sign } from "../../provider/apk/signature";
import {
  BLOCK,
  type EntryType,
  encodeHeader,
  newHeader,
  paddingFor,
} from "../../provider/archive/tar-header";
import { buildTar } from "../../provider/archive/tar-writer";
import { isDistrolessError } from "../../provider/util/errors";
import { sha256 } from "../../provider/util/hash";

/**
 * Builders for the hostile corpus: apks assembled from raw parts with the project's own tar writer,
 * gzip and signing code, for the shapes `writeApk` refuses to produce (escaping names, control
 * characters, non-UTF-8 bytes, missing datahash, swapped segments). Nothing here is a committed blob.
 */

export interface RawEntry {
  /** A string, or raw bytes (for names that are not UTF-8; at most 100 bytes). */
  name: string | Buffer;
  body?: string | Buffer;
  type?: Extract<EntryType, "file" | "symlink" | "directory" | "hardlink">;
  link?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  /** Records `APK-TOOLS.checksum.SHA1` like melange does (default: no record). */
  pax?: Record<string, string>;
}

export interface RawApkOptions {
  /** Append `datahash = <sha256 of the data member>` to .PKGINFO (default true, as melange does). */
  datahash?: boolean;
  /** Sign the control member (RSA-SHA256), as writeApk does. */
  signingKey?: SigningKey;
  /** Which signature entries to write (default RSA-SHA256 only); "dsa" is a `.SIGN.DSA.` entry. */
  signatures?: (SignatureAlgorithm | "dsa")[];
}

export interface RawApkParts {
  signature?: Buffer;
  control: Buffer;
  data: Buffer;
  apk: Buffer;
}

/** One tar header block whose name field holds exactly `name`'s bytes (checksum recomputed). */
export function headerBlock(entry: RawEntry, size: number): Buffer {
  const type = entry.type ?? "file";
  const fields = {
    type,
    mode: entry.mode ?? (type === "directory" ? 0o755 : 0o644),
    uid: entry.uid ?? 0,
    gid: entry.gid ?? 0,
    size,
    linkname: entry.link ?? "",
    pax: entry.pax ?? {},
  };
  if (typeof entry.name === "string") return encodeHeader(newHeader({ name: entry.name, ...fields }));
  const raw = entry.name;
  assert.ok(raw.length <= 100 && Object.keys(fields.pax).length === 0, "raw names fit one block");
  const block = encodeHeader(newHeader({ name: "x".repeat(raw.length), ...fields }));
  assert.equal(block.length, BLOCK);
  raw.copy(block, 0);
  fixHeaderChecksum(block, 0);
  return block;
}

/** Rewrites the checksum of the header block at `offset` after its bytes were edited. */
export function fixHeaderChecksum(tar: Buffer, offset: number): void {
  tar.fill(0x20, offset + 148, offset + 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += tar[offset + i]!;
  tar.write(`${sum.toString(8).padStart(6, "0")}\0 `, offset + 148, 8, "latin1");
}

/** A signature member with one entry per requested type, all by `key` over `control`. */
function signatureMember(control: Buffer, key: SigningKey, types: (SignatureAlgorithm | "dsa")[]): Buffer {
  const real = types.filter((t): t is SignatureAlgorithm => t !== "dsa").map((t) => sign(control, key, t));
  if (!types.includes("dsa")) return buildSignatureMember(real);
  // apk-tools also knows `.SIGN.DSA.`; its bytes here are an RSA signature, which nothing may trust.
  const tar = buildTar(
    [
      {
        header: newHeader({ name: `.SIGN.DSA.${key.keyName}`, type: "file" }),
        data: sign(control, key, "sha1").signature,
      },
      ...real.map((r) => ({
        header: newHeader({
          name: `.SIGN.${r.algorithm === "sha1" ? "RSA" : r.algorithm === "sha256" ? "RSA256" : "RSA512"}.${key.keyName}`,
          type: "file" as const,
        }),
        data: r.signature,
      })),
    ],
    { endOfArchive: false },
  );
  return zlib.gzipSync(tar, { level: 9 });
}

/** The uncompressed data tar of `entries` (with end-of-archive blocks). */
export function dataTar(entries: RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.from(e.body);
    const size = (e.type ?? "file") === "file" ? body.length : 0;
    parts.push(headerBlock(e, size));
    if (size > 0) parts.push(body, Buffer.alloc(paddingFor(size)));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/** The gzip member of a control segment holding `.PKGINFO` (no end-of-archive, as apks have it). */
export function controlMember(pkginfo: string | Buffer): Buffer {
  const tar = buildTar(
    [{ header: newHeader({ name: ".PKGINFO", type: "file", mode: 0o644 }), data: Buffer.from(pkginfo) }],
    { endOfArchive: false },
  );
  return zlib.gzipSync(tar, { level: 9 });
}

/**
 * An apk from raw parts: [signature] + control + data, each its own gzip member. `entries` may be a
 * ready data tar (for entries no builder here makes, e.g. hand-made PAX records).
 */
export function rawApkParts(
  pkginfo: string | Buffer,
  entries: RawEntry[] | Buffer,
  options: RawApkOptions = {},
): RawApkParts {
  const data = zlib.gzipSync(Buffer.isBuffer(entries) ? entries : dataTar(entries));
  const info =
    options.datahash === false
      ? Buffer.from(pkginfo)
      : Buffer.concat([Buffer.from(pkginfo), Buffer.from(`datahash = ${sha256(data).toString("hex")}\n`)]);
  const control = controlMember(info);
  const key = options.signingKey;
  const signature = key ? signatureMember(control, key, options.signatures ?? ["sha256"]) : undefined;
  const apk = Buffer.concat([...(signature ? [signature] : []), control, data]);
  return signature ? { signature, control, data, apk } : { control, data, apk };
}

export function rawApk(
  pkginfo: string | Buffer,
  entries: RawEntry[] | Buffer,
  options: RawApkOptions = {},
): Buffer {
  return rawApkParts(pkginfo, entries, options).apk;
}

export const pkginfoText = (name: string, version = "1.0-r0", arch = "x86_64"): string =>
  `pkgname = ${name}\npkgver = ${version}\narch = ${arch}\norigin = ${name}\nlicense = MIT\n`;

/** Asserts a DistrolessError with `code` whose message matches and names `subject`. */
export function expectRefusal(err: unknown, code: string, pattern: RegExp, subject?: string): true {
  assert.ok(isDistrolessError(err), `a DistrolessError, got ${String(err)}`);
  assert.equal(err.code, code, `code ${code}, got ${err.code}: ${err.message}`);
  assert.match(err.message, pattern);
  if (subject) assert.ok(err.message.includes(subject), `names ${subject}: ${err.message}`);
  return true;
}

/** `expectRefusal` as an `assert.rejects` validator. */
export function refusal(code: string, pattern: RegExp, subject?: string): (err: unknown) => true {
  return (err) => expectRefusal(err, code, pattern, subject);
}

/** Asserts that an image build under `root` left no image and no file bodies (not even temp files). */
export function assertNothingInstalled(root: string): void {
  assert.ok(!existsSync(path.join(root, "oci", "index.json")), "no image was written");
  const store = path.join(root, "cache", "files");
  const left = existsSync(store) ? readdirSync(store, { recursive: true, withFileTypes: true }) : [];
  assert.deepEqual(
    left.filter((e) => e.isFile()).map((e) => e.name),
    [],
    "the file store holds nothing from the refused package",
  );
}
