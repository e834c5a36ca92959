import { parsePrivateKey, type SigningKey } from "../apk/keys";
import { DistrolessError } from "../util/errors";
import { sha256Hex } from "../util/hash";

/**
 * The apk key name of a resource's key when `keyName` is not given: `melange.rsa.pub`, the name
 * `melange keygen` and `pulumi-distroless keygen` give a key by default (the key file's base name
 * plus `.pub`, melange's convention). The CLI, melange and the resources thus call the usual key the
 * same; a key kept in another file is named with `keyName` (`team.rsa` -> `team.rsa.pub`). Indexes
 * signed under the older default (`distroless-<fingerprint>.rsa.pub`) still verify: keyrings match
 * keys by content, the name is a hint.
 */
export const DEFAULT_KEY_NAME = "melange.rsa.pub";

/** The signing key a resource's inputs give: `signingKey` (PEM), `signingKeyPassphrase`, `keyName`. */
export function signingKeyOf(inputs: Record<string, unknown>): SigningKey {
  const { signingKey: pem, signingKeyPassphrase: passphrase, keyName } = inputs;
  if (typeof pem !== "string" || pem.trim() === "") {
    throw new DistrolessError("E_CONFIG", "signingKey is required: the PEM text of an RSA private key");
  }
  const key = parsePrivateKey(pem, "signing key", typeof passphrase === "string" ? passphrase : undefined);
  const name = typeof keyName === "string" && keyName !== "" ? keyName : DEFAULT_KEY_NAME;
  if (!name.endsWith(".pub")) {
    throw new DistrolessError("E_CONFIG", `keyName must end in .rsa.pub (got "${name}")`);
  }
  return { ...key, keyName: name };
}

/** What identifies a key in a digest: its name and public half, never the private key. */
export function keyIdentity(key: SigningKey): { keyName: string; publicKey: string } {
  return { keyName: key.keyName, publicKey: sha256Hex(key.publicKeyPem) };
}
