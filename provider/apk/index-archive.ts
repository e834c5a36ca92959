import * as zlib from "node:zlib";
import { inflateMember } from "../archive/gzip-members";
import { newHeader } from "../archive/tar-header";
import { readTarBuffer, TarReader } from "../archive/tar-reader";
import { buildTar } from "../archive/tar-writer";
import { DistrolessError, isDistrolessError } from "../util/errors";
import type { CompactIndex } from "./index-compact";
import { IndexTextParser } from "./index-parser";
import { formatIndexText, type IndexEntry } from "./index-text";
import type { Keyring, SigningKey } from "./keys";
import {
  isSignatureEntryName,
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
const MAX_SIGNATURE_MEMBER = 1 << 20;

export interface IndexArchive {
  /** The records in compact form (what the resolver and the cache use). */
  index: CompactIndex;
  /** The records as plain objects, built on first access (costs heap on large indexes). */
  readonly entries: IndexEntry[];
  description: string;
  signatures: SignatureEntry[];
  /** Set when verified against a keyring. */
  verifiedBy?: VerifiedBy;
  /** The exact APKINDEX text, when asked for with `keepText` (round-trip checks). */
  text?: string;
}

export interface ReadIndexOptions {
  /** Trusted keys. Without a keyring, `allowUntrusted` must be set. */
  keyring?: Keyring;
  /** Accept an index that is unsigned or signed by unknown keys (signatures are still reported). */
  allowUntrusted?: boolean;
  /** Names the index in errors (a path or URL). */
  subject?: string;
  /** Also return the APKINDEX text as read (costs a copy of it). */
  keepText?: boolean;
  /** SHA-256 (hex) of `data`, recorded in the compact index when the caller has it. */
  sha256?: string;
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
  // A signature member is a few KB; a first member larger than that is the content of an unsigned
  // index, which is streamed below like any other.
  let first: ReturnType<typeof inflateMember>;
  try {
    first = inflateMember(data, 0, MAX_SIGNATURE_MEMBER);
    if (!first) throw new DistrolessError("E_FORMAT", "truncated gzip data (the first member is incomplete)");
  } catch (err) {
    if (!isDistrolessError(err, "E_HOSTILE")) throw err;
    first = undefined;
  }
  const firstEntries = first ? await readTarBuffer(first.inflated, { maxEntryBytes: MAX_SIGNATURE }) : [];
  const signatures: SignatureEntry[] = [];
  let contentStart = 0;
  // Only `.SIGN.*` entries make the first member the signature member (apk-tools' rule); types we
  // cannot verify (DSA, unknown) are skipped, so they never count as trusted.
  if (first && firstEntries.length > 0 && firstEntries.every((e) => isSignatureEntryName(e.header.name))) {
    if (first.length >= data.length)
      throw new DistrolessError("E_FORMAT", "signature member but no index content");
    for (const e of firstEntries) {
      const parsed = parseSignatureEntryName(e.header.name);
      if (parsed) signatures.push({ ...parsed, signature: e.data });
    }
    contentStart = first.length;
  }
  // Trust before parsing: a signature covers the compressed bytes, so nothing unverified is read.
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
  const content = await readContent(data.subarray(contentStart), subject, options.keepText === true);
  const index = content.parser.finish(
    options.sha256 ?? "",
    content.description,
    signatures.map((s) => ({ algorithm: s.algorithm, keyName: s.keyName })),
  );
  const result: IndexArchive = {
    index,
    get entries() {
      return index.entries();
    },
    description: content.description,
    signatures,
  };
  if (content.text !== undefined) result.text = content.text;
  if (verifiedBy) result.verifiedBy = verifiedBy;
  return result;
}

/**
 * Streams the signed content (gzip members -> tar -> APKINDEX text -> records): inflation runs on
 * libuv's threadpool while this thread reads the lines that have arrived, and the text is held once
 * (the parsed index points into it; no string of it is made). zlib checks each member's CRC; the
 * inflated size is capped.
 */
async function readContent(
  compressed: Buffer,
  subject: string,
  keepText: boolean,
): Promise<{ parser: IndexTextParser; description: string; text?: string }> {
  const gunzip = zlib.createGunzip({ chunkSize: 256 << 10 });
  gunzip.end(compressed);
  let inflated = 0;
  const capped = (async function* () {
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        inflated += chunk.length;
        if (inflated > MAX_INDEX_INFLATED) {
          throw new DistrolessError("E_HOSTILE", `index content inflates past ${MAX_INDEX_INFLATED} bytes`);
        }
        yield chunk;
      }
    } catch (err) {
      if (err instanceof DistrolessError) throw err;
      throw new DistrolessError("E_FORMAT", `corrupt gzip data: ${(err as Error).message}`, { cause: err });
    }
  })();
  const tar = new TarReader(capped);
  let parser: IndexTextParser | undefined;
  let text: string | undefined;
  let description = "";
  try {
    for (let h = await tar.next(); h; h = await tar.next()) {
      if (h.name === "APKINDEX") {
        // The text is kept whole (the parsed index points into it), sized by the tar header; a
        // header claiming more than the compressed bytes can plausibly hold only gets room as the
        // bytes arrive (the stream enforces the inflation cap).
        const plausible = Math.max(1 << 20, compressed.length * 32);
        parser = new IndexTextParser(subject, Math.min(h.size, plausible, MAX_INDEX_INFLATED));
        for await (const chunk of tar.body()) parser.push(chunk);
        parser.close(); // the last record's checks happen here, before the archive counts as read
        if (keepText) text = parser.textSoFar().toString("utf8");
      } else if (h.name === "DESCRIPTION")
        description = (await tar.readBody(1 << 20, "DESCRIPTION")).toString("utf8");
      else if (parseSignatureEntryName(h.name)) {
        throw new DistrolessError("E_FORMAT", "signature entry inside the signed content");
      }
      // Other entries are tolerated, as apk-tools does.
    }
    await tar.drain();
  } finally {
    gunzip.destroy();
  }
  if (!parser) throw new DistrolessError("E_FORMAT", "no APKINDEX entry in the archive");
  return text !== undefined ? { parser, description, text } : { parser, description };
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
