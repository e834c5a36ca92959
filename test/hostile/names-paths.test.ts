/**
 * Issue #9 item 1: names and versions never become paths unchecked. Each hostile value is refused at
 * its boundary (recipe, signed index, .PKGINFO, lock file, package reference), with the exact field,
 * and nothing is written or read outside the directory it was meant for.
 */
import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { readApkHead } from "../../provider/apk/apk-reader";
import {
  isReadableVersion,
  isValidPackageName,
  isValidPackageVersion,
  packageFilePath,
} from "../../provider/apk/names";
import { RepositoryClient } from "../../provider/repository/client";
import { publishPackages } from "../../provider/repository/publish";
import { parseRepositorySource } from "../../provider/repository/source";
import { parseApkoLock } from "../../provider/resolve/apko-lock";
import { runCli } from "../helpers/cli";
import { refusal } from "../helpers/hostile-apk";
import {
  entryOf,
  filesUnder,
  makeApk,
  makeTestKey,
  signedIndex,
  type TestKey,
  writeRepoIndex,
} from "../helpers/hostile-repo";
import { tempDir } from "../helpers/tmp";

const KEYS = tempDir("pd-names-key-"); // file-level: lives until the file's tests are done

describe("names and versions become paths only through apk's grammar", () => {
  let k: TestKey;
  before(async () => {
    k = await makeTestKey(KEYS);
  });

  test("the grammar: apk-tools' name characters, apk's version grammar for what we make, its characters for what we read", () => {
    for (const n of ["busybox", "libstdc++", "py3-foo_bar", "R", "0ad", "gtk+3.0"])
      assert.ok(isValidPackageName(n), n);
    for (const n of ["", "../x", "a/b", ".hidden", "-x", "a b", "a\nb", "é", "x".repeat(129)])
      assert.ok(!isValidPackageName(n), n);
    assert.ok(isValidPackageVersion("1.2.3_rc1-r0"));
    // Wolfi's index carries it and apk-tools installs it: readable, but we would not publish it.
    assert.ok(!isValidPackageVersion("0.99f7-r0"));
    assert.ok(isReadableVersion("0.99f7-r0"));
    for (const v of ["1.0/../../x", "..", "1..2", "1.0\n", "", " 1"]) assert.ok(!isReadableVersion(v), v);
    assert.equal(packageFilePath("/repo", "x86_64", "foo", "1.0-r0"), "/repo/x86_64/foo-1.0-r0.apk");
    assert.throws(() => packageFilePath("/repo", "..", "foo", "1.0-r0"), refusal("E_HOSTILE", /arch "\.\."/));
    assert.throws(
      () => packageFilePath("/repo", "x86_64", "foo", "1.0/../../../x"),
      refusal("E_HOSTILE", /version "1\.0\/\.\.\/\.\.\/\.\.\/x"/),
    );
    assert.throws(
      () => packageFilePath("/repo", "sparc", "foo", "1.0"),
      refusal("E_FORMAT", /not a known apk arch/),
    );
  });

  test("a recipe whose package.version climbs out of --out is refused and writes nothing (package verb)", async () => {
    const root = tempDir("pd-names-recipe-");
    const out = path.join(root, "a", "b", "out");
    mkdirSync(path.join(root, "src"), { recursive: true });
    const recipe = path.join(root, "escape.melange.yaml");
    writeFileSync(
      recipe,
      [
        "package:",
        "  name: escape",
        "  version: 1.0.0/../../../../../escaped",
        "  epoch: 0",
        "  description: hostile",
        "  copyright:",
        "    - license: MIT",
        "pipeline:",
        '  - runs: "true"',
        "",
      ].join("\n"),
    );
    const res = await runCli([
      "package",
      recipe,
      "--arch",
      "x86_64",
      "--runner",
      "host",
      "--out",
      out,
      "--source-dir",
      path.join(root, "src"),
      "--cache-dir",
      path.join(root, "cache"),
    ]);
    assert.equal(res.code, 1, res.stdout);
    assert.match(res.stderr, /package\.version/);
    assert.match(res.stderr, /"1\.0\.0\/\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/escaped" is not a valid apk version/);
    // Where the unchecked path would have landed, and anywhere else: no apk.
    assert.ok(!existsSync(path.join(out, "x86_64", "escape-1.0.0/../../../../../escaped-r0.apk")));
    assert.deepEqual(
      filesUnder(root).filter((f) => f.endsWith(".apk")),
      [],
    );
  });

  test("a signed index whose P: or V: climbs out of the repository is refused, naming the record and field", async () => {
    const dir = tempDir("pd-names-index-");
    const good = await makeApk(path.join(dir, "build"), { name: "hello", version: "1.0-r0", key: k.key });
    const entry = await entryOf(good);
    // A file outside the repository the hostile record points at: it must never be read.
    const outside = path.join(dir, "outside-1.0-r0.apk");
    writeFileSync(outside, "not read");
    for (const [field, record, message] of [
      [
        "V",
        { ...entry, version: "1.0-r0/../../../outside-1.0-r0" },
        /V: "1\.0-r0\/\.\.\/\.\.\/\.\.\/outside-1\.0-r0" is not a valid apk version/,
      ],
      ["P", { ...entry, name: "../../outside" }, /P: "\.\.\/\.\.\/outside" is not a valid apk package name/],
      ["A", { ...entry, arch: "../x86_64" }, /A: "\.\.\/x86_64" is not a known apk arch/],
    ] as const) {
      const repo = path.join(dir, `repo-${field}`);
      await writeRepoIndex(repo, "x86_64", signedIndex([record], k.key));
      const client = new RepositoryClient({ cacheDir: path.join(dir, "cache"), keyring: k.keyring, env: {} });
      await assert.rejects(
        client.loadIndex(parseRepositorySource(repo), "x86_64"),
        refusal("E_HOSTILE", new RegExp(`APKINDEX record at line 1: ${message.source}`)),
      );
    }
  });

  test("a package reference (as a lock carries it) with a traversing version is refused before any file is opened", async () => {
    const dir = tempDir("pd-names-ref-");
    const repo = path.join(dir, "repo");
    mkdirSync(path.join(repo, "x86_64"), { recursive: true });
    const client = new RepositoryClient({ cacheDir: path.join(dir, "cache"), keyring: k.keyring, env: {} });
    await assert.rejects(
      client.fetchPackage({
        name: "hello",
        version: "1.0-r0/../../../../etc/passwd",
        arch: "x86_64",
        checksum: "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        source: parseRepositorySource(repo),
      }),
      refusal(
        "E_HOSTILE",
        /version "1\.0-r0\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is not a valid apk version/,
      ),
    );
    await assert.rejects(
      client.fetchPackage({
        name: "hello",
        version: "1.0-r0",
        arch: "../../etc",
        checksum: "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        source: parseRepositorySource("https://example.invalid/repo"),
      }),
      refusal("E_HOSTILE", /arch "\.\.\/\.\.\/etc" is not a known apk arch/),
    );
    assert.ok(!existsSync(path.join(dir, "cache", "packages")));
  });

  test("an apk whose .PKGINFO names it ../../evil is refused on read, and publish leaves the repository untouched", async () => {
    const dir = tempDir("pd-names-pkginfo-");
    const evil = await makeApk(dir, {
      name: "../../evil",
      version: "1.0-r0",
      key: k.key,
      fileName: "evil.apk",
    });
    await assert.rejects(
      readApkHead(evil),
      refusal("E_HOSTILE", /\.PKGINFO pkgname "\.\.\/\.\.\/evil" is not a valid apk package name/),
    );
    const badVersion = await makeApk(dir, {
      name: "ok",
      version: "1.0/../../../x",
      key: k.key,
      fileName: "v.apk",
    });
    await assert.rejects(readApkHead(badVersion), refusal("E_HOSTILE", /\.PKGINFO pkgver/));
    const badArch = await makeApk(dir, {
      name: "ok",
      version: "1.0-r0",
      arch: "../..",
      key: k.key,
      fileName: "a.apk",
    });
    await assert.rejects(readApkHead(badArch), refusal("E_HOSTILE", /\.PKGINFO arch "\.\.\/\.\."/));
    const repo = path.join(dir, "repo");
    for (const apk of [evil, badVersion, badArch]) {
      await assert.rejects(
        publishPackages({ root: repo, packages: [apk], signingKey: k.key }),
        refusal("E_HOSTILE", /\.PKGINFO/),
      );
    }
    assert.ok(!existsSync(repo));
    assert.deepEqual(
      filesUnder(dir).filter((f) => !f.endsWith(".apk")),
      [],
    );
  });

  test("a lock file with a traversing version, arch or name is refused, naming the entry", () => {
    const lock = (p: Record<string, string>) =>
      JSON.stringify({
        version: "v1",
        contents: {
          packages: [
            {
              name: "hello",
              version: "1.0-r0",
              architecture: "x86_64",
              checksum: "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
              ...p,
            },
          ],
        },
      });
    assert.equal(parseApkoLock(lock({}), "apko.lock.json").get("x86_64")?.[0]?.version, "1.0-r0");
    assert.throws(
      () => parseApkoLock(lock({ version: "1.0-r0/../../x" }), "apko.lock.json"),
      refusal("E_HOSTILE", /contents\.packages\[0\]\.version "1\.0-r0\/\.\.\/\.\.\/x"/),
    );
    assert.throws(
      () => parseApkoLock(lock({ architecture: "../x86_64" }), "apko.lock.json"),
      refusal("E_HOSTILE", /contents\.packages\[0\]\.architecture/),
    );
    assert.throws(
      () => parseApkoLock(lock({ name: "a/../../b" }), "apko.lock.json"),
      refusal("E_HOSTILE", /contents\.packages\[0\]\.name/),
    );
    assert.throws(
      () => parseApkoLock(lock({ checksum: "../../x" }), "apko.lock.json"),
      refusal("E_FORMAT", /contents\.packages\[0\]\.checksum "\.\.\/\.\.\/x" is not a Q1 checksum/),
    );
  });
});
