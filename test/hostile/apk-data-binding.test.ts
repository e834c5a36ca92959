import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { readApkHead, verifyApkFile } from "../../provider/apk/apk-reader";
import { writeIndexArchive } from "../../provider/apk/index-archive";
import { emptyIndexEntry } from "../../provider/apk/index-text";
import { Keyring, type SigningKey } from "../../provider/apk/keys";
import { assembleImage } from "../../provider/image/assemble";
import { validateApkoConfig } from "../../provider/image/config";
import { RepositoryClient } from "../../provider/repository/client";
import { publishPackages } from "../../provider/repository/publish";
import { parseRepositorySource } from "../../provider/repository/source";
import { runCli } from "../helpers/cli";
import {
  assertNothingInstalled,
  expectRefusal,
  pkginfoText,
  type RawApkParts,
  rawApkParts,
} from "../helpers/hostile-apk";
import { tempDir } from "../helpers/tmp";
import { directPlan, testKey } from "../image/image-helpers";
import { StaticServer } from "../repository/static-server";

/**
 * Issue #9 item 2: when `.PKGINFO` has no datahash, apk-tools' signature covers control + data and
 * nothing else binds the data segment. Every path that verifies, indexes, fetches, publishes or
 * installs a package refuses such packages; with a datahash, a swapped data segment is caught.
 */

const PKG = pkginfoText("motd");
const BENIGN = [{ name: "etc/motd", body: "welcome\n" }];
// What an attacker swaps in: a setuid-root shell where the package had a text file (large enough
// to go to the shared file store rather than stay in memory).
const EVIL = [
  { name: "usr/bin/su", body: `#!/bin/sh\nexec /bin/sh\n${"#".repeat(64 << 10)}\n`, mode: 0o4755 },
];

let key: SigningKey;
let keyFile: string;
let keyring: Keyring;
// Made here, not in a hook: a temp dir belongs to the file, so it lives until the last test.
const KEY_DIR = tempDir();
const NO_DATAHASH_DIR = tempDir();

before(async () => {
  key = await testKey("hostile.rsa");
  keyFile = path.join(KEY_DIR, key.keyName);
  writeFileSync(keyFile, key.publicKeyPem);
  keyring = await Keyring.fromPaths([keyFile]);
});

/** Signed control of the benign package followed by the evil data member. */
function swapped(benign: RawApkParts, evil: RawApkParts): Buffer {
  return Buffer.concat([benign.signature!, benign.control, evil.data]);
}

function writeApkBytes(dir: string, bytes: Buffer, name = "motd-1.0-r0.apk"): string {
  const file = path.join(dir, "x86_64", name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  return file;
}

const NO_DATAHASH = /motd-1\.0-r0: \.PKGINFO has no datahash/;

async function assembleRefused(root: string, apk: string, code: string, pattern: RegExp): Promise<void> {
  const out = path.join(root, "oci");
  await assert.rejects(
    assembleImage({
      config: validateApkoConfig({ archs: ["x86_64"] }, "hostile.yaml"),
      plans: [await directPlan("x86_64", [apk])],
      cacheDir: path.join(root, "cache"),
      outputDir: out,
      keys: [],
    }),
    (err) => expectRefusal(err, code, pattern),
  );
  assertNothingInstalled(root);
}

/** Serves a signed index listing `apk` (with the `C:` of its control segment) and the apk itself. */
async function fetchRefused(apk: string, pattern: RegExp, code: string): Promise<void> {
  const head = await readApkHead(apk);
  const entry = {
    ...emptyIndexEntry(),
    checksum: head.controlChecksum,
    name: head.pkginfo.pkgname,
    version: head.pkginfo.pkgver,
    arch: "x86_64",
    size: head.fileSize,
  };
  const server = await new StaticServer()
    .set("/repo/x86_64/APKINDEX.tar.gz", writeIndexArchive([entry], { signingKey: key }))
    .set(`/repo/x86_64/${path.basename(apk)}`, apk)
    .start();
  const cacheDir = tempDir("pd-hostile-cache-");
  const client = new RepositoryClient({ cacheDir, keyring, env: {}, retry: { attempts: 1, baseDelayMs: 1 } });
  const source = parseRepositorySource(`${server.url}/repo`);
  const index = await client.loadIndex(source, "x86_64");
  const e = index.entries[0]!;
  await assert.rejects(
    client.fetchPackage({
      name: e.name,
      version: e.version,
      arch: "x86_64",
      checksum: e.checksum,
      size: e.size,
      source,
    }),
    (err) => expectRefusal(err, code, pattern),
  );
  const cached = await fsp.readdir(path.join(cacheDir, "packages")).catch(() => []);
  assert.deepEqual(
    cached.filter((f) => f.endsWith(".apk")),
    [],
    "nothing unverified was kept in the cache",
  );
}

describe("the data segment is bound to what was signed", () => {
  test("the signed original verifies (the control case: the checks below can fail)", async () => {
    const dir = tempDir();
    const good = writeApkBytes(dir, rawApkParts(PKG, BENIGN, { signingKey: key }).apk);
    const { signedBy, data } = await verifyApkFile(good, { keyring });
    assert.equal(signedBy?.keyName, key.keyName);
    assert.equal(data.files, 1);
  });

  test("with a datahash, a swapped data segment is refused by verify, fetch and install", async () => {
    const dir = tempDir();
    const benign = rawApkParts(PKG, BENIGN, { signingKey: key });
    const evil = rawApkParts(PKG, EVIL);
    const file = writeApkBytes(dir, swapped(benign, evil));
    const mismatch = /data segment SHA-256 [0-9a-f]{64} does not match \.PKGINFO datahash/;
    await assert.rejects(verifyApkFile(file, { keyring }), (err) =>
      expectRefusal(err, "E_CHECKSUM", mismatch, file),
    );
    await fetchRefused(file, mismatch, "E_CHECKSUM");
    await assembleRefused(dir, file, "E_CHECKSUM", mismatch);
  });

  describe("without a datahash, the package is refused on every path", () => {
    let dir: string;
    let file: string;
    let untouched: string;
    before(() => {
      dir = NO_DATAHASH_DIR;
      const benign = rawApkParts(PKG, BENIGN, { signingKey: key, datahash: false });
      const evil = rawApkParts(PKG, EVIL, { datahash: false });
      file = writeApkBytes(dir, swapped(benign, evil));
      // The signature over the control segment alone still checks out: that is the hole.
      untouched = writeApkBytes(dir, benign.apk, "motd-untouched.apk");
    });

    test("verifyApkFile, even though the control signature is valid", async () => {
      for (const f of [file, untouched]) {
        await assert.rejects(verifyApkFile(f, { keyring }), (err) =>
          expectRefusal(err, "E_SIGNATURE", NO_DATAHASH, f),
        );
      }
    });

    test("the verify and index verbs", async () => {
      const v = await runCli(["verify", file, "--key", keyFile]);
      assert.equal(v.code, 1, v.stdout + v.stderr);
      assert.match(v.stdout, /FAIL .*has no datahash/);
      const out = path.join(dir, "APKINDEX.tar.gz");
      const i = await runCli(["index", file, "-o", out]);
      assert.notEqual(i.code, 0, i.stdout + i.stderr);
      assert.match(i.stderr + i.stdout, /has no datahash/);
      assert.ok(!existsSync(out), "no index was written");
    });

    test("publish leaves the repository untouched", async () => {
      const root = path.join(tempDir(), "repo");
      await assert.rejects(publishPackages({ root, packages: [file], signingKey: key }), (err) =>
        expectRefusal(err, "E_SIGNATURE", NO_DATAHASH, file),
      );
      const left = existsSync(root) ? readdirSync(root, { recursive: true }).map(String) : [];
      assert.deepEqual(
        left.filter((f) => f.endsWith(".apk") || f.endsWith("APKINDEX.tar.gz")),
        [],
        "no apk and no index in the repository",
      );
    });

    test("a fetch through a signed index whose C: matches the control segment", async () => {
      await fetchRefused(file, NO_DATAHASH, "E_SIGNATURE");
    });

    test("image install", async () => {
      await assembleRefused(tempDir(), file, "E_SIGNATURE", NO_DATAHASH);
    });
  });

  describe("every signature layout apk-tools accepts is verified, or refused by name", () => {
    const layouts: { types: ("sha1" | "sha256" | "sha512" | "dsa")[]; verifiedWith: string }[] = [
      { types: ["sha1"], verifiedWith: "sha1" },
      { types: ["sha256"], verifiedWith: "sha256" },
      { types: ["sha512"], verifiedWith: "sha512" },
      { types: ["dsa", "sha256"], verifiedWith: "sha256" },
      { types: ["sha1", "sha512"], verifiedWith: "sha512" },
    ];
    for (const { types, verifiedWith } of layouts) {
      test(`signed with ${types.join(" + ")}`, async () => {
        const f = writeApkBytes(
          tempDir(),
          rawApkParts(PKG, BENIGN, { signingKey: key, signatures: types }).apk,
        );
        const { signedBy } = await verifyApkFile(f, { keyring });
        assert.equal(signedBy?.algorithm, verifiedWith);
      });
    }

    test("signed only with a type we do not verify (DSA): refused, naming it", async () => {
      const f = writeApkBytes(
        tempDir(),
        rawApkParts(PKG, BENIGN, { signingKey: key, signatures: ["dsa"] }).apk,
      );
      await assert.rejects(verifyApkFile(f, { keyring }), (err) =>
        expectRefusal(
          err,
          "E_SIGNATURE",
          /signed only with signature types that are not verified here \(\.SIGN\.DSA\.hostile\.rsa\.pub\)/,
          f,
        ),
      );
    });
  });
});
