import { createSign, createVerify, type KeyObject } from "node:crypto";
import { DistrolessError } from "../util/errors";
import type { Keyring, SigningKey } from "./keys";

/**
 * apk signatures: RSA PKCS#1 v1.5 over SHA-1 (`.SIGN.RSA.<key>`, the original) or SHA-256
 * (`.SIGN.RSA256.<key>`). PKCS#1 v1.5 is deterministic, which keeps our apks reproducible.
 */
export type SignatureAlgorithm = "sha1" | "sha256";

export interface SignatureEntry {
  algorithm: SignatureAlgorithm;
  keyName: string;
  signature: Buffer;
}

const PREFIX: Record<SignatureAlgorithm, string> = { sha1: ".SIGN.RSA.", sha256: ".SIGN.RSA256." };

export function signatureEntryName(algorithm: SignatureAlgorithm, keyName: string): string {
  return `${PREFIX[algorithm]}${keyName}`;
}

/** Parses `.SIGN.RSA256.<key>` / `.SIGN.RSA.<key>`; undefined for any other name. */
export function parseSignatureEntryName(
  name: string,
): { algorithm: SignatureAlgorithm; keyName: string } | undefined {
  if (name.startsWith(PREFIX.sha256))
    return { algorithm: "sha256", keyName: name.slice(PREFIX.sha256.length) };
  if (name.startsWith(PREFIX.sha1)) return { algorithm: "sha1", keyName: name.slice(PREFIX.sha1.length) };
  return undefined;
}

export function sign(
  data: Uint8Array,
  key: SigningKey,
  algorithm: SignatureAlgorithm = "sha256",
): SignatureEntry {
  const signature = createSign(algorithm === "sha256" ? "RSA-SHA256" : "RSA-SHA1")
    .update(data)
    .sign(key.privateKey);
  return { algorithm, keyName: key.keyName, signature };
}

export function verifySignature(data: Uint8Array, entry: SignatureEntry, publicKey: KeyObject): boolean {
  try {
    return createVerify(entry.algorithm === "sha256" ? "RSA-SHA256" : "RSA-SHA1")
      .update(data)
      .verify(publicKey, entry.signature);
  } catch {
    return false;
  }
}

export interface VerifiedBy {
  keyName: string;
  algorithm: SignatureAlgorithm;
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
  // Prefer SHA-256 signatures when several are present.
  const ordered = [...entries].sort((a, b) =>
    a.algorithm === b.algorithm ? 0 : a.algorithm === "sha256" ? -1 : 1,
  );
  for (const entry of ordered) {
    const key = keyring.get(entry.keyName);
    if (!key) {
      unknown.push(entry.keyName);
      continue;
    }
    if (verifySignature(data, entry, key)) return { keyName: entry.keyName, algorithm: entry.algorithm };
    failed.push(entry.keyName);
  }
  if (failed.length > 0) {
    throw new DistrolessError(
      "E_SIGNATURE",
      `bad signature: the content does not match the signature by ${failed.join(", ")} (modified or corrupt)`,
      { subject },
    );
  }
  const trusted = keyring.names();
  throw new DistrolessError(
    "E_SIGNATURE",
    `signed by untrusted key ${unknown.join(", ")}; trusted keys: ${trusted.length ? trusted.join(", ") : "none"}`,
    { subject },
  );
}
