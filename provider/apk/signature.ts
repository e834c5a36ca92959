import { createSign, createVerify, type KeyObject } from "node:crypto";
import { DistrolessError } from "../util/errors";
import type { Keyring, SigningKey } from "./keys";

/**
 * apk signatures: RSA PKCS#1 v1.5 over SHA-1 (`.SIGN.RSA.<key>`, the original), SHA-256
 * (`.SIGN.RSA256.<key>`) or SHA-512 (`.SIGN.RSA512.<key>`), the RSA types apk-tools accepts
 * (extract_v2.c; its `.SIGN.DSA.` is not supported here and is refused as unverifiable). PKCS#1 v1.5
 * is deterministic, which keeps our apks reproducible.
 */
export type SignatureAlgorithm = "sha1" | "sha256" | "sha512";

export interface SignatureEntry {
  algorithm: SignatureAlgorithm;
  keyName: string;
  signature: Buffer;
}

const PREFIX: Record<SignatureAlgorithm, string> = {
  sha1: ".SIGN.RSA.",
  sha256: ".SIGN.RSA256.",
  sha512: ".SIGN.RSA512.",
};
const NODE_ALGORITHM: Record<SignatureAlgorithm, string> = {
  sha1: "RSA-SHA1",
  sha256: "RSA-SHA256",
  sha512: "RSA-SHA512",
};
/** Preference when several signatures are present: the strongest digest first. */
const STRENGTH: Record<SignatureAlgorithm, number> = { sha512: 0, sha256: 1, sha1: 2 };

/** apk-tools treats every `.SIGN.*` entry before the control segment as a signature (known or not). */
export function isSignatureEntryName(name: string): boolean {
  return name.startsWith(".SIGN.");
}

export function signatureEntryName(algorithm: SignatureAlgorithm, keyName: string): string {
  return `${PREFIX[algorithm]}${keyName}`;
}

/** Parses `.SIGN.RSA512.<key>` / `.SIGN.RSA256.<key>` / `.SIGN.RSA.<key>`; undefined for any other name. */
export function parseSignatureEntryName(
  name: string,
): { algorithm: SignatureAlgorithm; keyName: string } | undefined {
  for (const algorithm of ["sha512", "sha256", "sha1"] as const) {
    const prefix = PREFIX[algorithm];
    if (name.startsWith(prefix) && name.length > prefix.length)
      return { algorithm, keyName: name.slice(prefix.length) };
  }
  return undefined;
}

export function sign(
  data: Uint8Array,
  key: SigningKey,
  algorithm: SignatureAlgorithm = "sha256",
): SignatureEntry {
  const signature = createSign(NODE_ALGORITHM[algorithm]).update(data).sign(key.privateKey);
  return { algorithm, keyName: key.keyName, signature };
}

export function verifySignature(data: Uint8Array, entry: SignatureEntry, publicKey: KeyObject): boolean {
  try {
    return createVerify(NODE_ALGORITHM[entry.algorithm]).update(data).verify(publicKey, entry.signature);
  } catch {
    return false;
  }
}

export interface VerifiedBy {
  /** The trusted key's name in the keyring (which may differ from the name the signature gives). */
  keyName: string;
  algorithm: SignatureAlgorithm;
  /** Hex SHA-256 of the verifying key's SPKI DER. */
  fingerprint: string;
}

/**
 * One valid signature from a trusted key is enough (apk's rule). Otherwise the error says which keys
 * signed and whether they were unknown or their signatures failed.
 */
export function verifyWithKeyring(
  data: Uint8Array,
  entries: SignatureEntry[],
  keyring: Keyring,
  subject: string,
): VerifiedBy {
  if (entries.length === 0) {
    throw new DistrolessError("E_SIGNATURE", "not signed (no .SIGN.RSA* entry)", { subject });
  }
  const unknown: string[] = [];
  const failed: string[] = [];
  const ordered = [...entries].sort((a, b) => STRENGTH[a.algorithm] - STRENGTH[b.algorithm]);
  for (const entry of ordered) {
    // The named key first, then any other trusted key: keys are matched by content, the name is a
    // hint (a key renamed, or an index signed under an older name of the same key).
    for (const candidate of keyring.candidates(entry.keyName)) {
      if (verifySignature(data, entry, candidate.key)) {
        return { keyName: candidate.name, algorithm: entry.algorithm, fingerprint: candidate.fingerprint };
      }
    }
    if (keyring.get(entry.keyName)) failed.push(entry.keyName);
    else unknown.push(entry.keyName);
  }
  if (failed.length > 0) {
    throw new DistrolessError(
      "E_SIGNATURE",
      `bad signature: the content does not match the signature by ${failed.join(", ")} (modified or corrupt)`,
      { subject },
    );
  }
  throw new DistrolessError("E_SIGNATURE", untrustedMessage(unknown, keyring), { subject });
}

/**
 * Who signed, what the keyring holds, and whether a signer's name says it is a key the keyring
 * holds under another name (its signature then did not verify: the content was changed).
 */
function untrustedMessage(signers: string[], keyring: Keyring): string {
  const same = signers
    .map((name) => ({ name, held: keyring.sameKeyAs(name) }))
    .filter((s) => s.held !== undefined)
    .map(
      (s) =>
        `; the keyring holds the same key as ${s.held!.name}, but the signature by ${s.name} does not verify with it (modified or corrupt)`,
    );
  return `signed by untrusted key ${signers.join(", ")}${same.join("")}; trusted keys: ${keyring.describe()}`;
}
