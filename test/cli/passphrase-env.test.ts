import * as assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

/** `--passphrase-env VAR` with VAR unset says so, instead of blaming the passphrase. */
describe("--passphrase-env", needsFixtures(), () => {
  const dir = tempDir("pd-passenv-");
  const key = path.join(dir, "enc.rsa");
  const { privateKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "right-one" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  writeFileSync(key, privateKey);
  const apk = () => fixture("apks", "melange-built", "hello-0.1.0-r0.apk");
  const index = (out: string, env: NodeJS.ProcessEnv) =>
    runCli(["index", apk(), "-o", out, "--signing-key", key, "--passphrase-env", "PD_TEST_PASS"], { env });

  test("an unset variable is named as unset, and nothing is written", async () => {
    const out = path.join(dir, "unset", "APKINDEX.tar.gz");
    // runCli adds process.env, which must not set it either.
    assert.equal(process.env.PD_TEST_PASS, undefined);
    const r = await index(out, {});
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /environment variable PD_TEST_PASS is not set/);
    assert.doesNotMatch(r.stderr, /wrong passphrase/);
    assert.equal(existsSync(out), false);
  });

  test("a set but wrong value is a wrong passphrase; the right one signs", async () => {
    const wrong = await index(path.join(dir, "wrong.tar.gz"), { PD_TEST_PASS: "not-it" });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /wrong passphrase/);
    assert.doesNotMatch(wrong.stderr, /not-it/);
    const out = path.join(dir, "APKINDEX.tar.gz");
    const right = await index(out, { PD_TEST_PASS: "right-one" });
    assert.equal(right.code, 0, right.stderr);
    assert.ok(existsSync(out));
  });
});
