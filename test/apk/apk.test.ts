import * as assert from "node:assert/strict";
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readApkHead, scanApkData, verifyApkFile } from "../../provider/apk/apk-reader";
import { writeApk } from "../../provider/apk/apk-writer";
import { readIndexArchive } from "../../provider/apk/index-archive";
import { Keyring, parsePrivateKey } from "../../provider/apk/keys";
import { emptyPkgInfo } from "../../provider/apk/pkginfo";
import { collectTree } from "../../provider/apk/tree";
import { sha1Hex } from "../../provider/util/hash";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

describe("apks from melange-built repositories", needsFixtures(), () => {
  for (const repo of ["local-repo", "local-repo-private"]) {
    for (const arch of ["x86_64", "aarch64"]) {
      test(`${repo}/${arch}: C:, datahash and every per-file SHA-1 agree with the index`, async () => {
        const dir = fixture(repo, arch);
        const idx = await readIndexArchive(readFileSync(path.join(dir, "APKINDEX.tar.gz")), {
          allowUntrusted: true,
        });
        const keyName = repo === "local-repo" ? "melange.rsa.pub" : "private_pkg_key.rsa.pub";
        const keyring = await Keyring.fromPaths([fixture(repo, keyName)]);
        assert.ok(idx.entries.length >= 2);
        for (const e of idx.entries) {
          const file = path.join(dir, `${e.name}-${e.version}.apk`);
          const { head, data, signedBy } = await verifyApkFile(file, {
            expectedChecksum: e.checksum,
            keyring,
          });
          assert.equal(head.controlChecksum, e.checksum, `${e.name} C:`);
          assert.equal(head.fileSize, e.size, `${e.name} S:`);
          assert.equal(data.datahash, head.pkginfo.datahash);
          assert.equal(signedBy?.keyName, keyName);
          assert.equal(head.pkginfo.pkgname, e.name);
          assert.equal(head.pkginfo.pkgver, e.version);
          assert.ok(data.files > 0);
        }
      });
    }
  }
});

describe("real Wolfi, Alpine and melange apks", needsFixtures(), () => {
  const files = [
    ...readdirSync(fixture("apks", "wolfi")).map((f) => fixture("apks", "wolfi", f)),
    ...readdirSync(fixture("apks", "melange-built"))
      .filter((f) => f.endsWith(".apk"))
      .map((f) => fixture("apks", "melange-built", f)),
    fixture("alpine-v3.16-main-aarch64", "alpine-baselayout-3.2.0-r23.apk"),
    fixture("alpine-v3.17-main-aarch64", "alpine-baselayout-3.4.0-r0.apk"),
  ];
  // apko's test data ships these two with their data segment replaced by a smaller one (neon
  // declares 339 MB installed); their control segment is genuine, so the datahash cannot match.
  const strippedData = new Set(["aws-c-s3-0.4.9-r0.apk", "neon-4604-r0.apk"]);
  for (const file of files) {
    const name = path.basename(file);
    test(`${name} reads: PKGINFO, every entry, per-file SHA-1`, async () => {
      const head = await readApkHead(file);
      assert.ok(head.pkginfo.pkgname);
      assert.match(head.controlChecksum, /^Q1/);
      const seen: string[] = [];
      const data = await scanApkData(
        head,
        async (entry) => {
          seen.push(entry.path);
        },
        { enforceDatahash: false },
      );
      assert.equal(seen.length, data.entries);
      assert.ok(seen.every((p) => !p.startsWith("/") && !p.startsWith("./") && !p.endsWith("/")));
      assert.equal(data.datahashMatches, !strippedData.has(name), `datahash for ${name}`);
      if (strippedData.has(name)) {
        await assert.rejects(
          scanApkData(head),
          new RegExp(`${name}: data segment SHA-256 .* does not match`),
        );
      }
    });
  }

  test("Alpine's SHA-1 apk signature verifies with Alpine's key", async () => {
    const file = fixture("alpine-v3.17-main-aarch64", "alpine-baselayout-3.4.0-r0.apk");
    const { signedBy } = await verifyApkFile(file, {
      keyring: await Keyring.fromPaths([fixture("alpine-keys")]),
    });
    assert.equal(signedBy?.algorithm, "sha1");
    assert.match(signedBy?.keyName ?? "", /alpine-devel@lists\.alpinelinux\.org-616ae350/);
  });
});

describe("writing apks", () => {
  function makeTree(root: string): void {
    mkdirSync(path.join(root, "usr/bin"), { recursive: true });
    mkdirSync(path.join(root, "etc/app"), { recursive: true });
    writeFileSync(path.join(root, "usr/bin/tool"), "#!/bin/sh\necho tool\n");
    chmodSync(path.join(root, "usr/bin/tool"), 0o755);
    writeFileSync(path.join(root, "etc/app/config"), "key=value\n");
    chmodSync(path.join(root, "etc/app/config"), 0o640);
    writeFileSync(path.join(root, "etc/app/big"), Buffer.alloc(300_000, 7));
    symlinkSync("tool", path.join(root, "usr/bin/tool-link"));
    linkSync(path.join(root, "etc/app/config"), path.join(root, "etc/app/config.hard"));
    writeFileSync(path.join(root, "etc/app.empty"), "");
  }

  test("a tree written to an apk reads back with the same files, modes and checksums; bytes are reproducible", async () => {
    const dir = tempDir();
    const root = path.join(dir, "root");
    makeTree(root);
    const key = parsePrivateKey(readFileSync(fixture("local-repo", "melange.rsa")), "melange.rsa.pub");
    const entries = await collectTree(root);
    const pkginfo = {
      ...emptyPkgInfo(),
      pkgname: "tool",
      pkgver: "1.0-r0",
      arch: "x86_64",
      licenses: ["MIT"],
    };
    const opts = { pkginfo, entries, signingKey: key, sourceDateEpoch: 1_700_000_000 };
    const a = await writeApk({ ...opts, output: path.join(dir, "a.apk") });
    const b = await writeApk({ ...opts, output: path.join(dir, "b.apk") });
    assert.deepEqual(readFileSync(a.file), readFileSync(b.file), "two writes are byte-identical");

    const { head, data } = await verifyApkFile(a.file, {
      expectedChecksum: a.controlChecksum,
      keyring: await Keyring.fromPaths([fixture("local-repo", "melange.rsa.pub")]),
    });
    assert.equal(head.pkginfo.datahash, a.datahash);
    assert.equal(data.datahash, a.datahash);
    const got = new Map<string, { type: string; mode: number; mtime: number; sha?: string; link: string }>();
    await scanApkData(head, async (entry, body) => {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c);
      got.set(entry.path, {
        type: entry.header.type,
        mode: entry.header.mode,
        mtime: entry.header.mtime,
        link: entry.header.linkname,
        ...(entry.header.type === "file" ? { sha: sha1Hex(Buffer.concat(chunks)) } : {}),
      });
    });
    assert.deepEqual(
      [...got.keys()],
      [
        "etc",
        "etc/app",
        "etc/app/big",
        "etc/app/config",
        "etc/app/config.hard",
        "etc/app.empty",
        "usr",
        "usr/bin",
        "usr/bin/tool",
        "usr/bin/tool-link",
      ],
    );
    assert.equal(got.get("usr/bin/tool")?.mode, 0o755);
    assert.equal(got.get("etc/app/config")?.mode, 0o640);
    assert.equal(got.get("etc/app/config.hard")?.type, "hardlink");
    assert.equal(got.get("etc/app/config.hard")?.link, "etc/app/config");
    assert.equal(got.get("usr/bin/tool-link")?.type, "symlink");
    assert.equal(got.get("usr/bin/tool-link")?.link, "tool");
    assert.equal(got.get("etc/app/big")?.sha, sha1Hex(Buffer.alloc(300_000, 7)));
    assert.equal(got.get("usr/bin/tool")?.sha, sha1Hex("#!/bin/sh\necho tool\n"));
    for (const v of got.values()) assert.equal(v.mtime, 1_700_000_000);

    // A different epoch or content changes the bytes.
    const c = await writeApk({ ...opts, sourceDateEpoch: 1, output: path.join(dir, "c.apk") });
    assert.notEqual(c.controlChecksum, a.controlChecksum);
  });
});
