import { createPublicKey } from "node:crypto";
import { parsePrivateKey, type SigningKey } from "../apk/keys";
import { DistrolessError } from "../util/errors";
import { sha256Hex } from "../util/hash";

/**
 * The apk key name for a key given only as PEM: `distroless-<first 16 hex of the SPKI SHA-256>.rsa.pub`.
 * Stable for a key, different across keys, and the same for every resource that gets the same key,
 * so a package, the repository it lands in and an image's keyring agree without configuration.
 */
export function defaultKeyName(publicKeyPem: string): string {
  const der = createPublicKey(publicKeyPem).export({ type: "spki", format: "der" });
  return `distroless-${sha256Hex(der).slice(0, 16)}.rsa.pub`;
}

/** The signing key a resource's inputs give: `signingKey` (PEM), `signingKeyPassphrase`, `keyName`. */
export function signingKeyOf(inputs: Record<string, unknown>): SigningKey {
  const { signingKey: pem, signingKeyPassphrase: passphrase, keyName } = inputs;
  if (typeof pem !== "string" || pem.trim() === "") {
    throw new DistrolessError("E_CONFIG", "signingKey is required: the PEM text of an RSA private key");
  }
  const key = parsePrivateKey(pem, "signing key", typeof passphrase === "string" ? passphrase : undefined);
  const name = typeof keyName === "string" && keyName !== "" ? keyName : defaultKeyName(key.publicKeyPem);
  if (!name.endsWith(".pub")) {
    throw new DistrolessError("E_CONFIG", `keyName must end in .rsa.pub (got "${name}")`);
  }
  return { ...key, keyName: name };
}

/** What identifies a key in a digest: its name and public half, never the private key. */
export function keyIdentity(key: SigningKey): { keyName: string; publicKey: string } {
  return { keyName: key.keyName, publicKey: sha256Hex(key.publicKeyPem) };
}
