import * as zlib from "node:zlib";
import { splitGzipMembers } from "../archive/gzip-members";
import { newHeader } from "../archive/tar-header";
import { readTarBuffer } from "../archive/tar-reader";
import { buildTar } from "../archive/tar-writer";
import { DistrolessError } from "../util/errors";
import { formatIndexText, type IndexEntry, parseIndexText } from "./index-text";
import type { Keyring, SigningKey } from "./keys";
import {
  parseSignatureEntryName,
  type SignatureAlgorithm,
  type SignatureEntry,
  sign,
  signatureEntryName,
  type VerifiedBy,
  verifyWithKeyring,
} from "./signature";

/** Limits for index archives: a real one (Wolfi, Alpine) is a few MB; these stop bombs, not repos. */
const MAX_INDEX_INFLATED = 512 << 20;
const MAX_SIGNATURE = 64 << 10;

export interface IndexArchive {
  entries: IndexEntry[];
  description: string;
  signatures: SignatureEntry[];
  /** Set when verified against a keyring. */
  verifiedBy?: VerifiedBy;
  /** The exact APKINDEX text (for round-trip checks and digests). */
  text: string;
}

export interface ReadIndexOptions {
  /** Trusted keys. Without a keyring, `allowUntrusted` must be set. */
  keyring?: Keyring;
  /** Accept an index that is unsigned or signed by unknown keys (signatures are still reported). */
  allowUntrusted?: boolean;
  /** Names the index in errors (a path or URL). */
  subject?: string;
}

/**
 * Reads `APKINDEX.tar.gz`: optional leading signature member(s), then the signed content (a tar with
 * APKINDEX and DESCRIPTION). The signature covers the raw bytes of every member after the first.
 */
export function readIndexArchive(data: Buffer, options: ReadIndexOptions = {}): Promise<IndexArchive> {
  const subject = options.subject ?? "APKINDEX.tar.gz";
  return readIndexArchiveInner(data, options, subject).catch((err: unknown) => {
    if (err instanceof DistrolessError && !err.message.startsWith(subject)) {
      throw new DistrolessError(err.code, err.message, { subject, cause: err });
    }
    throw err;
  });
}

async function readIndexArchiveInner(
  data: Buffer,
  options: ReadIndexOptions,
  subject: string,
): Promise<IndexArchive> {
  const members = splitGzipMembers(data, { maxMembers: 8, maxInflated: MAX_INDEX_INFLATED });
  const signatures: SignatureEntry[] = [];
  let contentStart = 0;
  const first = await readTarBuffer(members[0]!.inflated, { maxEntryBytes: MAX_INDEX_INFLATED });
  const firstIsSignature = first.length > 0 && first.every((e) => parseSignatureEntryName(e.header.name));
  if (firstIsSignature) {
    if (members.length < 2) throw new DistrolessError("E_FORMAT", "signature member but no index content");
    for (const e of first) {
      const parsed = parseSignatureEntryName(e.header.name)!;
      if (e.data.length > MAX_SIGNATURE) throw new DistrolessError("E_HOSTILE", "oversized signature entry");
      signatures.push({ ...parsed, signature: e.data });
    }
    contentStart = members[1]!.offset;
  }
  const contentMembers = firstIsSignature ? members.slice(1) : members;
  const content = Buffer.concat(contentMembers.map((m) => m.inflated));
  let text: string | undefined;
  let description = "";
  for (const e of await readTarBuffer(content, { maxEntryBytes: MAX_INDEX_INFLATED })) {
    if (e.header.name === "APKINDEX") text = e.data.toString("utf8");
    else if (e.header.name === "DESCRIPTION") description = e.data.toString("utf8");
    else if (parseSignatureEntryName(e.header.name)) {
      throw new DistrolessError("E_FORMAT", "signature entry inside the signed content");
    }
    // Other entries are tolerated, as apk-tools does.
  }
  if (text === undefined) throw new DistrolessError("E_FORMAT", "no APKINDEX entry in the archive");
  let verifiedBy: VerifiedBy | undefined;
  if (options.keyring && (signatures.length > 0 || !options.allowUntrusted)) {
    try {
      verifiedBy = verifyWithKeyring(data.subarray(contentStart), signatures, options.keyring, subject);
    } catch (err) {
      if (!options.allowUntrusted) throw err;
    }
  } else if (!options.allowUntrusted) {
    throw new DistrolessError(
      "E_SIGNATURE",
      "no trusted keys given to verify the index (or allow untrusted)",
      {
        subject,
      },
    );
  }
  const result: IndexArchive = { entries: parseIndexText(text, subject), description, signatures, text };
  if (verifiedBy) result.verifiedBy = verifiedBy;
  return result;
}

export interface WriteIndexOptions {
  description?: string;
  signingKey?: SigningKey;
  /** Signature algorithms to add (default sha256; add sha1 for old apk-tools clients). */
  algorithms?: SignatureAlgorithm[];
}

/** The unsigned content member: gzip(tar(APKINDEX, DESCRIPTION)), as melange writes it. */
export function buildIndexContent(text: string, description = ""): Buffer {
  const tar = buildTar(
    [
      { header: newHeader({ name: "APKINDEX", type: "file" }), data: Buffer.from(text, "utf8") },
      { header: newHeader({ name: "DESCRIPTION", type: "file" }), data: Buffer.from(description, "utf8") },
    ],
    { endOfArchive: true },
  );
  return zlib.gzipSync(tar, { level: 9 });
}

/** A signature member: gzip(tar(.SIGN.RSA256.<key>...)) without end-of-archive blocks. */
export function buildSignatureMember(signatures: SignatureEntry[]): Buffer {
  const tar = buildTar(
    signatures.map((s) => ({
      header: newHeader({
        name: signatureEntryName(s.algorithm, s.keyName),
        type: "file",
        uname: "root",
        gname: "root",
      }),
      data: s.signature,
    })),
    { endOfArchive: false },
  );
  return zlib.gzipSync(tar, { level: 9 });
}

export function writeIndexArchive(entries: IndexEntry[], options: WriteIndexOptions = {}): Buffer {
  const content = buildIndexContent(formatIndexText(entries), options.description);
  if (!options.signingKey) return content;
  const key = options.signingKey;
  const sigs = (options.algorithms ?? ["sha256"]).map((alg) => sign(content, key, alg));
  return Buffer.concat([buildSignatureMember(sigs), content]);
}
