/**
 * Issue #9 item 5: `publish` signs an index only over packages that pass full verification. Files
 * planted in an arch directory (unsigned, foreign-key, corrupt, traversal-carrying, misnamed) are
 * left out of the freshly signed index and reported; an incoming file that fails is an error and
 * the repository is left as it was.
 */
import * as assert from "node:assert/strict";
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { readIndexArchive } from "../../provider/apk/index-archive";
import { publishPackages } from "../../provider/repository/publish";
import { isDistrolessError } from "../../provider/util/errors";
import { runCli } from "../helpers/cli";
import { makeApk, makeTestKey, type TestKey } from "../helpers/hostile-repo";
import { tempDir } from "../helpers/tmp";

const KEYS = tempDir("pd-pubv-keys-"); // file-level: lives until the file's tests are done

describe("publish indexes only what verifies", () => {
  let ours: TestKey;
  let foreign: TestKey;
  before(async () => {
    ours = await makeTestKey(KEYS, "ours.rsa");
    foreign = await makeTestKey(KEYS, "foreign.rsa");
  });

  async function indexNames(root: string): Promise<string[]> {
    const idx = await readIndexArchive(readFileSync(path.join(root, "x86_64", "APKINDEX.tar.gz")), {
      keyring: ours.keyring,
    });
    return idx.entries.map((e) => `${e.name}-${e.version}`);
  }

  test("apks planted in the arch directory are refused by name and reason, never signed over", async () => {
    const dir = tempDir("pd-pubv-");
    const build = path.join(dir, "build");
    const root = path.join(dir, "repo");
    const arch = path.join(root, "x86_64");
    const first = await makeApk(build, { name: "first", version: "1.0-r0", key: ours.key });
    await publishPackages({ root, packages: [first], signingKey: ours.key });

    // The hostile corpus, each written straight into the arch directory.
    await makeApk(arch, { name: "unsigned", version: "1.0-r0" });
    await makeApk(arch, { name: "foreign", version: "1.0-r0", key: foreign.key });
    const corrupt = await makeApk(build, { name: "corrupt", version: "1.0-r0", key: ours.key });
    const bytes = readFileSync(corrupt);
    bytes[bytes.length - 40] ^= 0xff; // in the data segment: control (and C:) still intact
    writeFileSync(path.join(arch, "corrupt-1.0-r0.apk"), bytes);
    await makeApk(arch, {
      name: "traversal",
      version: "1.0-r0",
      key: ours.key,
      entries: [
        { path: "../../etc/evil", type: "file", mode: 0o644, uid: 0, gid: 0, content: Buffer.from("x") },
      ],
    });
    copyFileSync(first, path.join(arch, "renamed-9.9-r0.apk"));
    await makeApk(arch, { name: "elsewhere", version: "1.0-r0", arch: "aarch64", key: ours.key });

    const warnings: string[] = [];
    const second = await makeApk(build, { name: "second", version: "1.0-r0", key: ours.key });
    const result = await publishPackages({
      root,
      packages: [second],
      signingKey: ours.key,
      progress: { info: () => {}, warn: (m) => warnings.push(m) },
    });

    assert.deepEqual(await indexNames(root), ["first-1.0-r0", "second-1.0-r0"]);
    const refused = Object.fromEntries(
      result.archs[0]!.refused.map((r) => [r.file, `${r.code} ${r.reason}`]),
    );
    assert.deepEqual(Object.keys(refused).sort(), [
      "corrupt-1.0-r0.apk",
      "elsewhere-1.0-r0.apk",
      "foreign-1.0-r0.apk",
      "renamed-9.9-r0.apk",
      "traversal-1.0-r0.apk",
      "unsigned-1.0-r0.apk",
    ]);
    assert.match(refused["unsigned-1.0-r0.apk"]!, /^E_SIGNATURE .*not signed/);
    assert.match(refused["foreign-1.0-r0.apk"]!, /^E_SIGNATURE .*foreign\.rsa\.pub/);
    assert.match(refused["corrupt-1.0-r0.apk"]!, /^E_(CHECKSUM|FORMAT) /);
    assert.match(refused["traversal-1.0-r0.apk"]!, /^E_HOSTILE .*"\.\.\/\.\.\/etc\/evil" climbs out/);
    assert.match(
      refused["renamed-9.9-r0.apk"]!,
      /^E_FORMAT the file holds first-1\.0-r0, which must be named first-1\.0-r0\.apk/,
    );
    assert.match(refused["elsewhere-1.0-r0.apk"]!, /^E_FORMAT the package is built for aarch64, not x86_64/);
    assert.equal(warnings.filter((w) => /^x86_64\/.*: refused, not indexed/.test(w)).length, 6);
    // Left where they were (publish does not delete what it did not put there) but unlisted.
    assert.ok(readdirSync(arch).includes("unsigned-1.0-r0.apk"));
  });

  test("an incoming package that fails verification fails the publish and leaves the index byte for byte", async () => {
    const dir = tempDir("pd-pubv-in-");
    const root = path.join(dir, "repo");
    const first = await makeApk(path.join(dir, "b"), { name: "first", version: "1.0-r0", key: ours.key });
    await publishPackages({ root, packages: [first], signingKey: ours.key });
    const before = readFileSync(path.join(root, "x86_64", "APKINDEX.tar.gz"));
    const stranger = await makeApk(path.join(dir, "b"), {
      name: "stranger",
      version: "1.0-r0",
      key: foreign.key,
    });
    const unsigned = await makeApk(path.join(dir, "b"), { name: "plain", version: "1.0-r0" });
    for (const apk of [stranger, unsigned]) {
      await assert.rejects(
        publishPackages({ root, packages: [apk], signingKey: ours.key }),
        (err: unknown) => {
          assert.ok(isDistrolessError(err, "E_SIGNATURE"), String(err));
          assert.ok(err.message.includes(apk), err.message);
          return true;
        },
      );
    }
    assert.deepEqual(readFileSync(path.join(root, "x86_64", "APKINDEX.tar.gz")), before);
    assert.deepEqual(readdirSync(path.join(root, "x86_64")).sort(), ["APKINDEX.tar.gz", "first-1.0-r0.apk"]);
    // A key the publisher is told to trust is accepted.
    const res = await publishPackages({
      root,
      packages: [stranger],
      signingKey: ours.key,
      trustedKeys: foreign.keyring,
    });
    assert.deepEqual(
      res.archs[0]!.packages.map((p) => p.name),
      ["first", "stranger"],
    );
  });

  test("the publish verb prints what it refused; --trusted-key admits another signer", async () => {
    const dir = tempDir("pd-pubv-cli-");
    const root = path.join(dir, "repo");
    const first = await makeApk(path.join(dir, "b"), { name: "first", version: "1.0-r0", key: ours.key });
    await makeApk(path.join(root, "x86_64"), { name: "planted", version: "1.0-r0" });
    const res = await runCli(["publish", root, first, "--signing-key", ours.privateKeyFile]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(
      res.stdout,
      /\(1 packages, signed by ours\.rsa\.pub\)\n {2}refused x86_64\/planted-1\.0-r0\.apk: not signed/,
    );
    const stranger = await makeApk(path.join(dir, "b"), {
      name: "stranger",
      version: "1.0-r0",
      key: foreign.key,
    });
    const refused = await runCli(["publish", root, stranger, "--signing-key", ours.privateKeyFile]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /stranger-1\.0-r0\.apk/);
    const admitted = await runCli([
      "publish",
      root,
      stranger,
      "--signing-key",
      ours.privateKeyFile,
      "--trusted-key",
      foreign.publicKeyFile,
    ]);
    assert.equal(admitted.code, 0, admitted.stderr);
    assert.deepEqual(await indexNames(root), ["first-1.0-r0", "stranger-1.0-r0"]);
  });
});
