import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { describe, test } from "node:test";
import { encryptCosignKey, generateCosignKeyPair, loadImageSigningKey } from "../../provider/sign/keys";
import { signBytes, verifyBytes } from "../../provider/sign/signer";
import { isDistrolessError } from "../../provider/util/errors";

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isDistrolessError(err, "E_CONFIG"), String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

describe("image signing keys", () => {
  test("a cosign key pair round-trips with its password; a wrong or missing one is refused by name", () => {
    const pair = generateCosignKeyPair("correct horse");
    assert.match(pair.privateKeyPem, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    const key = loadImageSigningKey(pair.privateKeyPem, "correct horse", "cosign.key");
    assert.equal(key.algorithm, "ecdsa-p256");
    assert.equal(key.publicKeyPem, pair.publicKeyPem);
    rejects(
      () => loadImageSigningKey(pair.privateKeyPem, "wrong", "cosign.key"),
      /^cosign\.key: cannot decrypt the cosign key: wrong password$/,
    );
    rejects(
      () => loadImageSigningKey(pair.privateKeyPem, undefined, "cosign.key"),
      /is encrypted: give its password/,
    );
  });

  test("hostile KDF parameters are refused before any work", () => {
    const pair = generateCosignKeyPair("pw");
    const body = pair.privateKeyPem.split("\n").slice(1, -2).join("");
    const json = JSON.parse(Buffer.from(body, "base64").toString("utf8"));
    json.kdf.params.N = 2 ** 30;
    const pem = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${Buffer.from(JSON.stringify(json)).toString("base64")}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
    rejects(
      () => loadImageSigningKey(pem, "pw", "evil.key"),
      /scrypt parameters are out of range \(N=1073741824/,
    );
    rejects(() => loadImageSigningKey("not a key", undefined, "k"), /not a PEM private key/);
  });

  test("PEM keys: ECDSA P-256, RSA and Ed25519 sign deterministically and verify; other curves and small RSA are refused", () => {
    const keys = [
      crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey,
      crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey,
      crypto.generateKeyPairSync("ed25519").privateKey,
    ];
    const data = Buffer.from("payload");
    for (const k of keys) {
      const pem = k.export({ type: "pkcs8", format: "pem" }).toString();
      const key = loadImageSigningKey(pem, undefined, "key.pem");
      const a = signBytes(key, data);
      assert.deepEqual(signBytes(key, data), a, `${key.algorithm}: deterministic`);
      assert.equal(verifyBytes(key.publicKeyPem, data, a), true, key.algorithm);
      assert.equal(verifyBytes(key.publicKeyPem, Buffer.from("payloaD"), a), false, key.algorithm);
    }
    // An encrypted PKCS#8 PEM takes its passphrase; cosign's own format also wraps any of these.
    const encrypted = keys[0]!.export({
      type: "pkcs8",
      format: "pem",
      cipher: "aes-256-cbc",
      passphrase: "pp",
    });
    assert.equal(loadImageSigningKey(encrypted.toString(), "pp", "k").algorithm, "ecdsa-p256");
    rejects(() => loadImageSigningKey(encrypted.toString(), "nope", "k"), /wrong or missing passphrase/);
    assert.equal(loadImageSigningKey(encryptCosignKey(keys[2]!, "x"), "x", "k").algorithm, "ed25519");
    const p384 = crypto.generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey;
    rejects(
      () => loadImageSigningKey(p384.export({ type: "pkcs8", format: "pem" }).toString(), undefined, "k"),
      /must use P-256/,
    );
    const small = crypto.generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey;
    rejects(
      () => loadImageSigningKey(small.export({ type: "pkcs8", format: "pem" }).toString(), undefined, "k"),
      /at least 2048 bits/,
    );
  });
});
