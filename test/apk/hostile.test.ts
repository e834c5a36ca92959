import * as assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as zlib from "node:zlib";
import { readApkHead, scanApkData, verifyApkFile } from "../../provider/apk/apk-reader";
import { readIndexArchive, writeIndexArchive } from "../../provider/apk/index-archive";
import { emptyIndexEntry } from "../../provider/apk/index-text";
import { newHeader } from "../../provider/archive/tar-header";
import { buildTar } from "../../provider/archive/tar-writer";
import { isDistrolessError } from "../../provider/util/errors";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

/** An apk assembled from raw parts with the project's own tar writer: control + data segments. */
function rawApk(
  pkginfo: string | Buffer,
  dataEntries: { name: string; body?: string; type?: "file" | "symlink"; link?: string }[],
): Buffer {
  const control = buildTar(
    [{ header: newHeader({ name: ".PKGINFO", type: "file" }), data: Buffer.from(pkginfo) }],
    {
      endOfArchive: false,
    },
  );
  const data = buildTar(
    dataEntries.map((e) => ({
      header: newHeader({ name: e.name, type: e.type ?? "file", linkname: e.link ?? "" }),
      ...(e.body !== undefined ? { data: Buffer.from(e.body) } : {}),
    })),
    { endOfArchive: true },
  );
  return Buffer.concat([zlib.gzipSync(control), zlib.gzipSync(data)]);
}

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
    const good = rawApk(PKGINFO, [{ name: "a", body: "hello" }]);
    const controlLen = zlib.gzipSync(
      buildTar([{ header: newHeader({ name: ".PKGINFO", type: "file" }), data: Buffer.from(PKGINFO) }], {
        endOfArchive: false,
      }),
    ).length;
    const badDeflate = Buffer.from(good);
    badDeflate[controlLen + 12] = badDeflate[controlLen + 12]! ^ 0xff;
    const f1 = path.join(dir, "bad-deflate.apk");
    writeFileSync(f1, badDeflate);
    await assert.rejects(verifyApkFile(f1), (err) => expectError(err, f1, /corrupt|invalid|checksum|CRC/i));

    const data = buildTar([{ header: newHeader({ name: "a", type: "file" }), data: Buffer.from("x") }], {
      endOfArchive: true,
    });
    data[0] = 0x41; // header checksum no longer matches
    const control = buildTar(
      [{ header: newHeader({ name: ".PKGINFO", type: "file" }), data: Buffer.from(PKGINFO) }],
      { endOfArchive: false },
    );
    const f2 = path.join(dir, "bad-header.apk");
    writeFileSync(f2, Buffer.concat([zlib.gzipSync(control), zlib.gzipSync(data)]));
    await assert.rejects(verifyApkFile(f2), (err) => expectError(err, f2, /header checksum/));
  });

  test("a recorded per-file SHA-1 that does not match is an error naming the path", async () => {
    const dir = tempDir();
    const control = buildTar(
      [{ header: newHeader({ name: ".PKGINFO", type: "file" }), data: Buffer.from(PKGINFO) }],
      { endOfArchive: false },
    );
    const data = buildTar(
      [
        {
          header: newHeader({
            name: "etc/motd",
            type: "file",
            pax: { "APK-TOOLS.checksum.SHA1": "0".repeat(40) },
          }),
          data: Buffer.from("hi"),
        },
      ],
      { endOfArchive: true },
    );
    const file = path.join(dir, "sha.apk");
    writeFileSync(file, Buffer.concat([zlib.gzipSync(control), zlib.gzipSync(data)]));
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
