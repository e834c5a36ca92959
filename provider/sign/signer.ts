import * as crypto from "node:crypto";
import { p256 } from "@noble/curves/p256";
import type { ImageSigningKey } from "./keys";

/**
 * Signs bytes the way cosign verifies them: ECDSA P-256 over SHA-256 (ASN.1 DER), RSA PKCS#1 v1.5
 * over SHA-256, or Ed25519 over the message.
 *
 * Every signature here is deterministic, so signing the same payload again gives the same bytes,
 * the same blobs and the same signature manifests: a re-run with nothing changed uploads nothing.
 * Node's ECDSA draws a random nonce; @noble/curves signs with RFC 6979 nonces (deterministic, as
 * secure), so ECDSA goes through it. RSA PKCS#1 v1.5 and Ed25519 are deterministic by definition.
 */
export function signBytes(key: ImageSigningKey, data: Uint8Array): Buffer {
  switch (key.algorithm) {
    case "ecdsa-p256": {
      const jwk = key.privateKey.export({ format: "jwk" });
      const d = Buffer.from(jwk.d ?? "", "base64url");
      const digest = crypto.createHash("sha256").update(data).digest();
      return Buffer.from(p256.sign(digest, d, { prehash: false, lowS: true }).toDERRawBytes());
    }
    case "rsa":
      return crypto.sign("sha256", data, {
        key: key.privateKey,
        padding: crypto.constants.RSA_PKCS1_PADDING,
      });
    case "ed25519":
      return crypto.sign(null, data, key.privateKey);
  }
}

/** Checks a signature with a public key (PEM), as cosign would. */
export function verifyBytes(publicKeyPem: string, data: Uint8Array, signature: Uint8Array): boolean {
  const key = crypto.createPublicKey(publicKeyPem);
  const type = key.asymmetricKeyType;
  try {
    if (type === "ed25519") return crypto.verify(null, data, key, signature);
    if (type === "rsa") {
      return crypto.verify("sha256", data, { key, padding: crypto.constants.RSA_PKCS1_PADDING }, signature);
    }
    return crypto.verify("sha256", data, key, signature);
  } catch {
    return false;
  }
}
