import * as crypto from "node:crypto";
import { secretbox } from "@noble/ciphers/salsa";
import { DistrolessError } from "../util/errors";

/**
 * Image signing keys: cosign's own encrypted format (what `cosign generate-key-pair` writes) and
 * plain PEM (ECDSA P-256, RSA, Ed25519; PKCS#1, SEC1 or PKCS#8, optionally passphrase-encrypted).
 *
 * cosign's format: a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (older: `ENCRYPTED COSIGN PRIVATE
 * KEY`) holding JSON `{kdf: {name: "scrypt", params: {N, r, p}, salt}, cipher: {name:
 * "nacl/secretbox", nonce}, ciphertext}` (byte fields base64); the plaintext is the PKCS#8 DER key.
 * Node has scrypt but not NaCl's secretbox (XSalsa20-Poly1305): @noble/ciphers supplies it.
 */

export type SigningAlgorithm = "ecdsa-p256" | "rsa" | "ed25519";

export interface ImageSigningKey {
  algorithm: SigningAlgorithm;
  privateKey: crypto.KeyObject;
  /** SPKI PEM: what `cosign verify --key` takes. */
  publicKeyPem: string;
}

const COSIGN_PEM_TYPES = ["ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"];
/** cosign's scrypt parameters (go-securesystemslib's default): N = 2^15, r = 8, p = 1. */
const SCRYPT = { N: 32768, r: 8, p: 1 };
/** Upper bounds for parameters read from a key file, so a hostile file cannot ask for gigabytes. */
const MAX_SCRYPT_N = 1 << 20;
const MAX_SCRYPT_R = 32;
const MAX_SCRYPT_P = 16;

interface EncryptedKey {
  kdf: { name: string; params: { N: number; r: number; p: number }; salt: string };
  cipher: { name: string; nonce: string };
  ciphertext: string;
}

function pemBlock(pem: string): { type: string; body: Buffer } | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) return undefined;
  return { type: m[1]!, body: Buffer.from(m[2]!.replace(/\s+/g, ""), "base64") };
}

function fail(subject: string, message: string, cause?: unknown): never {
  throw new DistrolessError("E_CONFIG", message, { subject, ...(cause ? { cause } : {}) });
}

/**
 * Loads a signing key. `subject` names it in errors (a file, or an input name); the password and
 * the key never appear in a message.
 */
export function loadImageSigningKey(
  pem: string,
  password: string | undefined,
  subject: string,
): ImageSigningKey {
  const block = pemBlock(pem);
  if (!block) fail(subject, "not a PEM private key (cosign.key, or an ECDSA/RSA/Ed25519 PEM key)");
  let privateKey: crypto.KeyObject;
  if (COSIGN_PEM_TYPES.includes(block.type)) {
    if (password === undefined) {
      fail(
        subject,
        "this cosign key is encrypted: give its password (COSIGN_PASSWORD, or the password input)",
      );
    }
    const der = decryptCosignKey(block.body, password, subject);
    privateKey = crypto.createPrivateKey({ key: der, format: "der", type: "pkcs8" });
  } else {
    try {
      privateKey = crypto.createPrivateKey(password !== undefined ? { key: pem, passphrase: password } : pem);
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      if (/PASSPHRASE|BAD_DECRYPT|DECODER/.test(code) || /passphrase/i.test(String(err))) {
        fail(subject, "cannot read the private key: a wrong or missing passphrase, or not a private key");
      }
      fail(subject, "cannot read the private key (expected PEM ECDSA P-256, RSA or Ed25519)");
    }
  }
  return withPublicKey(privateKey, subject);
}

function withPublicKey(privateKey: crypto.KeyObject, subject: string): ImageSigningKey {
  const type = privateKey.asymmetricKeyType;
  let algorithm: SigningAlgorithm;
  if (type === "ec") {
    const curve = privateKey.asymmetricKeyDetails?.namedCurve;
    if (curve !== "prime256v1")
      fail(subject, `ECDSA keys must use P-256 (this one uses ${curve ?? "an unknown curve"})`);
    algorithm = "ecdsa-p256";
  } else if (type === "rsa") {
    const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) fail(subject, `RSA keys must have at least 2048 bits (this one has ${bits})`);
    algorithm = "rsa";
  } else if (type === "ed25519") {
    algorithm = "ed25519";
  } else {
    fail(subject, `unsupported key type ${type ?? "unknown"} (ECDSA P-256, RSA or Ed25519)`);
  }
  const publicKeyPem = crypto.createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
  return { algorithm, privateKey, publicKeyPem };
}

function decryptCosignKey(body: Buffer, password: string, subject: string): Buffer {
  let data: EncryptedKey;
  try {
    data = JSON.parse(body.toString("utf8")) as EncryptedKey;
  } catch (err) {
    fail(subject, "the cosign key's content is not the JSON cosign writes", err);
  }
  const params = data?.kdf?.params;
  if (data?.kdf?.name !== "scrypt" || data?.cipher?.name !== "nacl/secretbox" || !params) {
    fail(subject, "the cosign key is not scrypt + nacl/secretbox encrypted");
  }
  const { N, r, p } = params;
  const sane = (v: unknown, max: number) => Number.isInteger(v) && (v as number) > 0 && (v as number) <= max;
  if (!sane(N, MAX_SCRYPT_N) || (N & (N - 1)) !== 0 || !sane(r, MAX_SCRYPT_R) || !sane(p, MAX_SCRYPT_P)) {
    fail(subject, `the cosign key's scrypt parameters are out of range (N=${N}, r=${r}, p=${p})`);
  }
  const salt = Buffer.from(data.kdf.salt ?? "", "base64");
  const nonce = Buffer.from(data.cipher.nonce ?? "", "base64");
  const ciphertext = Buffer.from(data.ciphertext ?? "", "base64");
  if (nonce.length !== 24) fail(subject, "the cosign key's nonce is not 24 bytes");
  const key = crypto.scryptSync(password, salt, 32, { N, r, p, maxmem: 256 * N * r + (1 << 20) });
  try {
    return Buffer.from(secretbox(key, nonce).open(ciphertext));
  } catch {
    fail(subject, "cannot decrypt the cosign key: wrong password");
  }
}

/** cosign's format, for keygen: the same KDF and cipher `cosign generate-key-pair` uses. */
export function encryptCosignKey(privateKey: crypto.KeyObject, password: string): string {
  const der = privateKey.export({ type: "pkcs8", format: "der" });
  const salt = crypto.randomBytes(32);
  const nonce = crypto.randomBytes(24);
  const key = crypto.scryptSync(password, salt, 32, { ...SCRYPT, maxmem: 64 << 20 });
  const ciphertext = Buffer.from(secretbox(key, nonce).seal(der));
  const json = JSON.stringify({
    kdf: { name: "scrypt", params: SCRYPT, salt: salt.toString("base64") },
    cipher: { name: "nacl/secretbox", nonce: nonce.toString("base64") },
    ciphertext: ciphertext.toString("base64"),
  });
  const lines =
    Buffer.from(json)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${lines.join("\n")}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
}

/** A new ECDSA P-256 key pair in cosign's format: `cosign.key` (encrypted) and `cosign.pub`. */
export function generateCosignKeyPair(password: string): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return {
    privateKeyPem: encryptCosignKey(privateKey, password),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}
