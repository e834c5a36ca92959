import * as assert from "node:assert/strict";
import { createPublicKey } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { publicKeyFingerprint } from "../../provider/apk/keys";
import { signingKeyOf } from "../../provider/dynamic/signing";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

interface VerifyJson {
  ok: boolean;
  results: { ok: boolean; keyName?: string; error?: string }[];
}

/** The name resources gave a key before they named keys as melange does. */
function legacyName(publicKeyFile: string): string {
  const fp = publicKeyFingerprint(createPublicKey(readFileSync(publicKeyFile)));
  return `distroless-${fp.slice(0, 16)}.rsa.pub`;
}

/** Signs the fixture repository's x86_64 packages into an index with the key file given. */
async function signedIndex(dir: string, keyFile: string): Promise<string> {
  const apks = ["custom-ca-certs-1-1.0.0-r0.apk"].map((f) => fixture("local-repo", "x86_64", f));
  const out = path.join(dir, "APKINDEX.tar.gz");
  const r = await runCli(["index", ...apks, "-o", out, "--signing-key", keyFile]);
  assert.equal(r.code, 0, r.stderr);
  return out;
}

describe("one key name across the CLI and the resources", needsFixtures(), () => {
  test("keygen's key and a resource given its PEM both call it melange.rsa.pub", async () => {
    const dir = tempDir();
    const r = await runCli(["keygen", "--out", dir, "--bits", "2048", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const { keyName, privateKeyFile } = JSON.parse(r.stdout) as { keyName: string; privateKeyFile: string };
    assert.equal(keyName, "melange.rsa.pub");
    const resourceKey = signingKeyOf({ signingKey: readFileSync(privateKeyFile, "utf8") });
    assert.equal(resourceKey.keyName, keyName);
    // A key in another file is named for that file by the CLI; a resource is told with keyName.
    assert.equal(
      signingKeyOf({ signingKey: readFileSync(privateKeyFile, "utf8"), keyName: "team.rsa.pub" }).keyName,
      "team.rsa.pub",
    );
  });

  test("an index signed under the old resource name still verifies with the same key under its new name", async () => {
    const dir = tempDir();
    assert.equal((await runCli(["keygen", "--out", dir, "--bits", "2048"])).code, 0);
    const pub = path.join(dir, "melange.rsa.pub");
    // The same private key in a file of the old name: the index is signed as `distroless-<fp>.rsa.pub`.
    const old = legacyName(pub);
    mkdirSync(path.join(dir, "old"));
    copyFileSync(path.join(dir, "melange.rsa"), path.join(dir, "old", old.replace(/\.pub$/, "")));
    const index = await signedIndex(path.join(dir, "old"), path.join(dir, "old", old.replace(/\.pub$/, "")));

    const r = await runCli(["verify", index, "--key", pub, "--json"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as VerifyJson;
    assert.equal(out.results[0]!.keyName, "melange.rsa.pub", "trusted as the keyring names it");
  });

  test("the untrusted-key error says when the keyring holds the signer's key under another name, and lists the keys", async () => {
    const dir = tempDir();
    assert.equal((await runCli(["keygen", "--out", dir, "--bits", "2048"])).code, 0);
    assert.equal((await runCli(["keygen", "--out", dir, "--name", "other.rsa", "--bits", "2048"])).code, 0);
    const pub = path.join(dir, "melange.rsa.pub");
    const fp = publicKeyFingerprint(createPublicKey(readFileSync(pub))).slice(0, 16);
    // Another key's signature under melange.rsa.pub's old name: the name says it is our key, the
    // content says it is not (what a changed index signed under that name looks like).
    const old = legacyName(pub);
    mkdirSync(path.join(dir, "forged"));
    const forgedKey = path.join(dir, "forged", old.replace(/\.pub$/, ""));
    copyFileSync(path.join(dir, "other.rsa"), forgedKey);
    const index = await signedIndex(path.join(dir, "forged"), forgedKey);

    const r = await runCli(["verify", index, "--key", pub, "--json"]);
    assert.equal(r.code, 1);
    const error = (JSON.parse(r.stdout) as VerifyJson).results[0]!.error ?? "";
    assert.match(
      error,
      new RegExp(
        `signed by untrusted key ${old.replace(/\./g, "\\.")}; the keyring holds the same key as melange\\.rsa\\.pub, but the signature by ${old.replace(/\./g, "\\.")} does not verify with it \\(modified or corrupt\\); trusted keys: melange\\.rsa\\.pub \\(sha256:${fp}…\\)`,
      ),
    );

    // A signer the keyring knows nothing about: the error lists what it holds.
    const unknown = await signedIndex(path.join(dir, "forged"), path.join(dir, "other.rsa"));
    const both = await runCli(["verify", unknown, "--key", pub]);
    assert.match(
      both.stdout,
      /signed by untrusted key other\.rsa\.pub; trusted keys: melange\.rsa\.pub \(sha256:[0-9a-f]{16}…\)/,
    );
  });
});
