import * as assert from "node:assert/strict";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  generateSigningKey,
  Keyring,
  loadPrivateKey,
  parsePrivateKey,
  publicKeyFingerprint,
  writeKeyPair,
} from "../../provider/apk/keys";
import { sign, verifyWithKeyring } from "../../provider/apk/signature";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

describe("signing keys", () => {
  test("generate: RSA 4096, PKCS#1 private PEM, SPKI public PEM, 0600 private file", async () => {
    const pair = await generateSigningKey();
    assert.match(pair.privateKeyPem, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.match(pair.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
    const key = createPrivateKey(pair.privateKeyPem);
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 4096);
    const dir = tempDir();
    const files = await writeKeyPair(dir, "team.rsa", pair);
    assert.equal(statSync(files.privateKeyFile).mode & 0o777, 0o600);
    assert.equal(path.basename(files.publicKeyFile), "team.rsa.pub");
    const loaded = await loadPrivateKey(files.privateKeyFile);
    assert.equal(loaded.keyName, "team.rsa.pub");
    assert.equal(loaded.publicKeyPem, pair.publicKeyPem);
    // A signature made with it verifies under its apk key name.
    const ring = await Keyring.fromPaths([files.publicKeyFile]);
    const data = Buffer.from("payload");
    assert.deepEqual(verifyWithKeyring(data, [sign(data, loaded)], ring, "x"), {
      keyName: "team.rsa.pub",
      algorithm: "sha256",
      fingerprint: publicKeyFingerprint(createPublicKey(loaded.publicKeyPem)),
    });
    await assert.rejects(generateSigningKey(1024), /at least 2048/);
  });

  test(
    "load PKCS#8 and passphrase-encrypted PEM; wrong or missing passphrase is a clear error",
    needsFixtures(),
    async () => {
      const pem = readFileSync(fixture("local-repo", "melange.rsa"), "utf8");
      const key = createPrivateKey(pem);
      const dir = tempDir();
      const pkcs8 = path.join(dir, "k8.rsa");
      writeFileSync(pkcs8, key.export({ type: "pkcs8", format: "pem" }));
      assert.match(readFileSync(pkcs8, "utf8"), /BEGIN PRIVATE KEY/);
      const fromPkcs8 = await loadPrivateKey(pkcs8, { keyName: "melange.rsa.pub" });
      const enc = path.join(dir, "enc.rsa");
      writeFileSync(
        enc,
        key.export({ type: "pkcs1", format: "pem", cipher: "aes-256-cbc", passphrase: "s3cret" }),
      );
      assert.match(readFileSync(enc, "utf8"), /Proc-Type: 4,ENCRYPTED/);
      const fromEnc = await loadPrivateKey(enc, { passphrase: "s3cret", keyName: "melange.rsa.pub" });
      const ring = await Keyring.fromPaths([fixture("local-repo", "melange.rsa.pub")]);
      for (const k of [fromPkcs8, fromEnc]) {
        const data = Buffer.from("x");
        assert.equal(verifyWithKeyring(data, [sign(data, k)], ring, "x").keyName, "melange.rsa.pub");
      }
      await assert.rejects(loadPrivateKey(enc), (err: Error) => {
        assert.match(err.message, /enc\.rsa.*passphrase is required/);
        return true;
      });
      await assert.rejects(loadPrivateKey(enc, { passphrase: "nope" }), (err: Error) => {
        assert.match(err.message, /wrong passphrase/);
        assert.ok(!err.message.includes("nope"), "the passphrase is not echoed");
        return true;
      });
      assert.throws(
        () => parsePrivateKey("garbage", "k.rsa"),
        /k\.rsa: cannot load the signing key: not a PEM private key/,
      );
    },
  );

  test("Keyring: directory of *.pub keys, names as apk expects", needsFixtures(), async () => {
    const ring = await Keyring.fromPaths([fixture("alpine-keys")]);
    assert.deepEqual(ring.names(), [
      "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub",
      "alpine-devel@lists.alpinelinux.org-616ae350.rsa.pub",
    ]);
    await assert.rejects(Keyring.fromPaths([fixture("no-such-key.rsa.pub")]), /key file not found/);
  });
});
