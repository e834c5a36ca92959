import type { KeyObject } from "node:crypto";
import type { Keyring } from "../apk/keys";
import {
  parseSignatureEntryName,
  type SignatureAlgorithm,
  type SignatureEntry,
  type VerifiedBy,
  verifyWithKeyring,
} from "../apk/signature";
import { inflateMember } from "../archive/gzip-members";
import { readTarBuffer } from "../archive/tar-reader";
import { DistrolessError, isDistrolessError, withSubject } from "../util/errors";
import { sha256Hex } from "../util/hash";

/** A verification result worth remembering: which key (by name and content) vouched for an archive. */
export interface TrustRecord {
  keyName: string;
  algorithm: SignatureAlgorithm;
  /** SHA-256 of the key's SPKI DER: a key of the same name but other content does not count. */
  keyFingerprint: string;
}

const MAX_SIGNATURE_MEMBER = 256 << 10;

export function keyFingerprint(key: KeyObject): string {
  return sha256Hex(key.export({ type: "spki", format: "der" }));
}

/**
 * Checks an index archive's signature without parsing the index: only the first gzip member (the
 * signature tar, a few hundred bytes) is inflated; the signature covers the raw bytes after it.
 */
export async function verifyIndexSignature(
  data: Buffer,
  keyring: Keyring,
  subject: string,
): Promise<TrustRecord> {
  const signatures = await readIndexSignatures(data, subject);
  const content = data.subarray(signatures.contentOffset);
  const by: VerifiedBy = verifyWithKeyring(content, signatures.entries, keyring, subject);
  return { keyName: by.keyName, algorithm: by.algorithm, keyFingerprint: by.fingerprint };
}

export async function readIndexSignatures(
  data: Buffer,
  subject: string,
): Promise<{ entries: SignatureEntry[]; contentOffset: number }> {
  const unsigned = { entries: [], contentOffset: 0 };
  let first: ReturnType<typeof inflateMember>;
  try {
    first = withSubject(subject, () => inflateMember(data, 0, MAX_SIGNATURE_MEMBER));
  } catch (err) {
    // A first member this large is the index itself: the archive carries no signature.
    if (isDistrolessError(err, "E_HOSTILE")) return unsigned;
    throw err;
  }
  if (!first) throw new DistrolessError("E_FORMAT", "truncated index archive", { subject });
  let entries: { header: { name: string }; data: Buffer }[];
  try {
    entries = await readTarBuffer(first.inflated, { maxEntryBytes: MAX_SIGNATURE_MEMBER });
  } catch {
    // The first member is the (large) index itself: the archive is unsigned.
    return unsigned;
  }
  const sigs: SignatureEntry[] = [];
  for (const e of entries) {
    const parsed = parseSignatureEntryName(e.header.name);
    if (!parsed) return unsigned;
    sigs.push({ ...parsed, signature: e.data });
  }
  return sigs.length ? { entries: sigs, contentOffset: first.length } : unsigned;
}

/** The first remembered verification whose key the keyring still holds, with the same content. */
export function stillTrusted(records: TrustRecord[], keyring: Keyring | undefined): TrustRecord | undefined {
  if (!keyring) return undefined;
  // Trust is by content: the key that verified must still be held (under whatever name).
  for (const r of records) {
    if (keyring.candidates(r.keyName).some((k) => k.fingerprint === r.keyFingerprint)) return r;
  }
  return undefined;
}
