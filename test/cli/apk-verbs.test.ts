import * as assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { splitGzipMembers } from "../../provider/archive/gzip-members";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

describe("CLI: keygen, index, verify, inspect", needsFixtures(), () => {
  test("a key we generate signs an index of real apks, which verify accepts and inspect shows", async () => {
    const dir = tempDir();
    const keygen = await runCli(["keygen", "--out", dir, "--name", "team.rsa", "--json"]);
    assert.equal(keygen.code, 0, keygen.stderr);
    const keys = JSON.parse(keygen.stdout);
    assert.equal(keys.keyName, "team.rsa.pub");
    assert.doesNotMatch(keygen.stdout, /PRIVATE KEY/);
    // Refuses to overwrite.
    const again = await runCli(["keygen", "--out", dir, "--name", "team.rsa"]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);

    const apks = ["pretend-baselayout-1.0.0-r0.apk", "replayout-1.0.0-r0.apk"].map((f) =>
      fixture("local-repo", "x86_64", f),
    );
    const out = path.join(dir, "APKINDEX.tar.gz");
    const idx = await runCli(["index", ...apks, "-o", out, "--signing-key", keys.privateKeyFile, "--json"]);
    assert.equal(idx.code, 0, idx.stderr);
    assert.equal(JSON.parse(idx.stdout).packages, 2);

    const keysDir = path.join(dir, "keys");
    const pub = path.join(keysDir, "team.rsa.pub");
    mkdirSync(keysDir);
    copyFileSync(keys.publicKeyFile, pub);
    const ok = await runCli(["verify", out, "--keys-dir", keysDir, "--json"]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout).results[0].keyName, "team.rsa.pub");

    const inspect = await runCli(["inspect", out, "--json"]);
    assert.equal(inspect.code, 0, inspect.stderr);
    const shown = JSON.parse(inspect.stdout);
    assert.deepEqual(
      shown.packages.map((p: { name: string }) => p.name),
      ["pretend-baselayout", "replayout"],
    );
    // The index's C: values are the packages' own.
    const melangeIdx = await runCli([
      "inspect",
      fixture("local-repo", "x86_64", "APKINDEX.tar.gz"),
      "--json",
    ]);
    const melangeC = new Map(
      JSON.parse(melangeIdx.stdout).packages.map((p: { name: string; checksum: string }) => [
        p.name,
        p.checksum,
      ]),
    );
    for (const p of shown.packages) assert.equal(p.checksum, melangeC.get(p.name));

    const apk = await runCli(["inspect", apks[1]!, "--json"]);
    const info = JSON.parse(apk.stdout);
    assert.equal(info.pkginfo.pkgname, "replayout");
    assert.deepEqual(info.pkginfo.replaces, ["pretend-baselayout"]);
    assert.ok(info.files.some((f: { path: string }) => f.path === "etc/os-release"));
    assert.equal(info.datahashMatches, true);
  });

  test("verify names each failing file and why: unknown key, bad signature, checksum mismatch, corrupt archive", async () => {
    const dir = tempDir();
    const good = fixture("local-repo", "x86_64", "replayout-1.0.0-r0.apk");
    const otherKeyIndex = fixture("local-repo-private", "x86_64", "APKINDEX.tar.gz");
    // Tamper with the data segment's last bytes: the gzip CRC or the datahash fails.
    const tampered = path.join(dir, "tampered.apk");
    const bytes = Buffer.from(readFileSync(good));
    bytes[bytes.length - 12] = bytes[bytes.length - 12]! ^ 0x10;
    writeFileSync(tampered, bytes);
    // Corrupt: not an archive at all.
    const corrupt = path.join(dir, "corrupt.apk");
    writeFileSync(corrupt, "garbage");
    // A bad signature: melange's signature member in front of another package's control segment.
    const forged = path.join(dir, "forged.apk");
    const other = readFileSync(fixture("local-repo", "x86_64", "pretend-baselayout-1.0.0-r0.apk"));
    const goodBytes = readFileSync(good);
    const [goodSig] = splitGzipMembers(goodBytes);
    const [otherSig] = splitGzipMembers(other);
    writeFileSync(
      forged,
      Buffer.concat([goodBytes.subarray(0, goodSig!.length), other.subarray(otherSig!.length)]),
    );
    const res = await runCli([
      "verify",
      good,
      otherKeyIndex,
      tampered,
      corrupt,
      forged,
      "--keys-dir",
      fixture("local-repo"),
      "--json",
    ]);
    assert.equal(res.code, 1);
    const results = JSON.parse(res.stdout).results as { file: string; ok: boolean; error?: string }[];
    assert.equal(results[0]!.ok, true);
    assert.match(
      results[1]!.error!,
      /local-repo-private\/x86_64\/APKINDEX\.tar\.gz: signed by untrusted key private_pkg_key\.rsa\.pub/,
    );
    assert.match(results[2]!.error!, /tampered\.apk: .*(CRC|checksum|does not match|corrupt)/);
    assert.match(results[3]!.error!, /corrupt\.apk: not gzip data/);
    assert.match(results[4]!.error!, /forged\.apk: bad signature/);
  });

  test("usage errors are clear", async () => {
    const r = await runCli(["verify", "x.apk"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /needs trusted keys/);
    const u = await runCli(["nonsense"]);
    assert.equal(u.code, 2);
    const f = await runCli(["inspect", "--bogus"]);
    assert.match(f.stderr, /Unknown option '--bogus'/);
  });
});
