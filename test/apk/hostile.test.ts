import * as assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as zlib from "node:zlib";
import { readApkHead, scanApkData, verifyApkFile } from "../../provider/apk/apk-reader";
import { readIndexArchive, writeIndexArchive } from "../../provider/apk/index-archive";
import { emptyIndexEntry } from "../../provider/apk/index-text";
import { isDistrolessError } from "../../provider/util/errors";
import { sha256Hex } from "../../provider/util/hash";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { rawApk, rawApkParts } from "../helpers/hostile-apk";
import { tempDir } from "../helpers/tmp";

function expectError(err: unknown, file: string, pattern: RegExp): true {
  assert.ok(isDistrolessError(err), `a DistrolessError, got ${String(err)}`);
  assert.match((err as Error).message, pattern);
  assert.ok((err as Error).message.includes(file), `names the file: ${(err as Error).message}`);
  return true;
}

const PKGINFO = "pkgname = evil\npkgver = 1.0-r0\narch = x86_64\n";

describe("hostile and broken input", () => {
  test("a truncated apk is an error naming the file", needsFixtures(), async () => {
    const dir = tempDir();
    const src = readFileSync(fixture("apks", "wolfi", "hello-wolfi-2.12.1-r0.apk"));
    for (const cut of [5, 700, 1500, src.length - 100]) {
      const file = path.join(dir, `cut-${cut}.apk`);
      writeFileSync(file, src.subarray(0, cut));
      await assert.rejects(verifyApkFile(file), (err) =>
        expectError(err, file, /truncated|unexpected end|corrupt/),
      );
    }
  });

  test("a non-gzip file and an empty file are refused", async () => {
    const dir = tempDir();
    const text = path.join(dir, "notes.apk");
    writeFileSync(text, "this is not a package\n");
    await assert.rejects(readApkHead(text), (err) => expectError(err, text, /not gzip data/));
    const empty = path.join(dir, "empty.apk");
    writeFileSync(empty, "");
    await assert.rejects(readApkHead(empty), (err) => expectError(err, empty, /empty file/));
    await assert.rejects(
      readIndexArchive(Buffer.from("plain text"), { allowUntrusted: true, subject: "x/APKINDEX.tar.gz" }),
      (err) => expectError(err, "x/APKINDEX.tar.gz", /not gzip data/),
    );
  });

  for (const name of ["../x", "/etc/x", "usr/../../x", "./../x"]) {
    test(`an apk entry named ${JSON.stringify(name)} is refused`, async () => {
      const dir = tempDir();
      const file = path.join(dir, "escape.apk");
      writeFileSync(
        file,
        rawApk(PKGINFO, [
          { name: "ok", body: "fine" },
          { name, body: "owned" },
        ]),
      );
      const head = await readApkHead(file);
      const seen: string[] = [];
      await assert.rejects(
        scanApkData(head, async (e) => {
          seen.push(e.path);
        }),
        (err) => expectError(err, file, /absolute|climbs out|NUL/),
      );
      assert.deepEqual(seen, ["ok"], "nothing after the hostile entry reached the consumer");
    });
  }

  test("a 100 MB .PKGINFO is refused without inflating it", async () => {
    const dir = tempDir();
    const file = path.join(dir, "bomb.apk");
    const huge = Buffer.alloc(100 << 20, 0x23); // '#' comment lines
    huge.write(PKGINFO);
    writeFileSync(file, rawApk(huge, [{ name: "x", body: "x" }]));
    const before = process.memoryUsage().rss;
    await assert.rejects(readApkHead(file), (err) => expectError(err, file, /limit/));
    // Not a timing check: the cap means we never held the 100 MB.
    assert.ok(process.memoryUsage().rss - before < 64 << 20);
  });

  test("a corrupt data segment and a corrupt tar header are errors", async () => {
    const dir = tempDir();
    const { control, apk } = rawApkParts(PKGINFO, [{ name: "a", body: "hello" }]);
    const badDeflate = Buffer.from(apk);
    badDeflate[control.length + 12] = badDeflate[control.length + 12]! ^ 0xff;
    const f1 = path.join(dir, "bad-deflate.apk");
    writeFileSync(f1, badDeflate);
    await assert.rejects(verifyApkFile(f1), (err) => expectError(err, f1, /corrupt|invalid|checksum|CRC/i));

    // A header whose checksum no longer matches, in a data member the datahash still vouches for.
    const data = zlib.gunzipSync(rawApkParts(PKGINFO, [{ name: "a", body: "x" }]).data);
    data[0] = 0x41;
    const pkginfo = `${PKGINFO}datahash = ${sha256Hex(zlib.gzipSync(data))}\n`;
    const f2 = path.join(dir, "bad-header.apk");
    writeFileSync(
      f2,
      Buffer.concat([rawApkParts(pkginfo, [], { datahash: false }).control, zlib.gzipSync(data)]),
    );
    await assert.rejects(verifyApkFile(f2), (err) => expectError(err, f2, /header checksum/));
  });

  test("a recorded per-file SHA-1 that does not match is an error naming the path", async () => {
    const dir = tempDir();
    const file = path.join(dir, "sha.apk");
    writeFileSync(
      file,
      rawApk(PKGINFO, [{ name: "etc/motd", body: "hi", pax: { "APK-TOOLS.checksum.SHA1": "0".repeat(40) } }]),
    );
    await assert.rejects(verifyApkFile(file), (err) => expectError(err, file, /etc\/motd: content SHA-1/));
  });

  test("an index archive with a duplicated record is refused, naming the file", async () => {
    const e = {
      ...emptyIndexEntry(),
      checksum: "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      name: "dup",
      version: "1-r0",
    };
    const data = writeIndexArchive([e, { ...e }]);
    await assert.rejects(
      readIndexArchive(data, { allowUntrusted: true, subject: "repo/x86_64/APKINDEX.tar.gz" }),
      (err) => expectError(err, "repo/x86_64/APKINDEX.tar.gz", /dup-1-r0 twice/),
    );
  });
});
