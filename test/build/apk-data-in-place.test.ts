/**
 * The data segment of a built package: small files are read straight into the compressor's block
 * behind a header whose SHA-1 record is filled in afterwards (data-segment.ts); larger ones are
 * hashed, then read into the blocks. Whatever the sizes and where the block boundaries fall, every
 * file reads back with its own bytes and the SHA-1 apk-tools checks, the compressed segment is the
 * same whether it stayed in memory or went through the temp file (a big one), and a file that
 * changes size mid-write stops the build with nothing written.
 */
import * as assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { readApkHead, scanApkData } from "../../provider/apk/apk-reader";
import { writeApk } from "../../provider/apk/apk-writer";
import type { DataEntry } from "../../provider/apk/data-entry";
import { emptyPkgInfo } from "../../provider/apk/pkginfo";
import { tempDir } from "../helpers/tmp";

const KIB = 1024;
const MIB = 1024 * KIB;
/** Around the 512-byte blocks, the 1 MiB chunk and the 4 MiB read-in-place limit. */
const SIZES = [0, 1, 511, 512, 513, 700 * KIB, MIB - 600, MIB, MIB + 1, 3 * MIB, 4 * MIB, 4 * MIB + 1];

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test("files of every size around the block, chunk and in-place limits read back with their SHA-1s", async () => {
  const dir = tempDir();
  const src = path.join(dir, "src");
  mkdirSync(src);
  const entries: DataEntry[] = [{ path: "usr", type: "directory", mode: 0o755, uid: 0, gid: 0 }];
  const want = new Map<string, Buffer>();
  SIZES.forEach((n, i) => {
    // A long name needs a PAX path record beside the SHA-1 one.
    const name = i % 3 === 0 ? `f${i}-${"long-name-".repeat(12)}` : `f${i}`;
    const data = bytes(n, i + 1);
    writeFileSync(path.join(src, name), data);
    const rel = `usr/${name}`;
    want.set(rel, data);
    entries.push({
      path: rel,
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: { file: path.join(src, name), size: n },
      ...(i === 4 ? { xattrs: { "user.note": Buffer.from("kept") } } : {}),
    });
  });
  entries.push({
    path: "usr/inline",
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    content: Buffer.from("inline\n"),
  });
  want.set("usr/inline", Buffer.from("inline\n"));
  const output = path.join(dir, "out", "sizes-1.0-r0.apk");
  await writeApk({
    pkginfo: { ...emptyPkgInfo(), pkgname: "sizes", pkgver: "1.0-r0", arch: "x86_64" },
    entries,
    output,
  });
  const got = new Map<string, Buffer>();
  const head = await readApkHead(output);
  await scanApkData(head, async (entry, body) => {
    const parts: Buffer[] = [];
    for await (const b of body) parts.push(b);
    if (entry.header.type !== "file") return;
    const content = Buffer.concat(parts);
    assert.equal(entry.recordedSha1, createHash("sha1").update(content).digest("hex"), entry.path);
    got.set(entry.path, content);
  });
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
  for (const [rel, data] of want) assert.ok(got.get(rel)!.equals(data), rel);
});

test("a data segment too big to keep in memory goes through the temp file and reads back whole", async () => {
  const dir = tempDir();
  // Incompressible bytes, so the compressed segment passes the 16 MiB kept in memory.
  const big = randomBytes(18 * MIB);
  writeFileSync(path.join(dir, "big"), big);
  writeFileSync(path.join(dir, "small"), "small\n");
  const entries: DataEntry[] = [
    {
      path: "big",
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: { file: path.join(dir, "big"), size: big.length },
    },
    {
      path: "small",
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: { file: path.join(dir, "small"), size: 6 },
    },
  ];
  const output = path.join(dir, "out", "big-1.0-r0.apk");
  const written = await writeApk({
    pkginfo: { ...emptyPkgInfo(), pkgname: "big", pkgver: "1.0-r0", arch: "x86_64" },
    entries,
    output,
  });
  assert.ok(written.size > 16 * MIB, `${written.size} bytes`);
  const head = await readApkHead(output); // scanApkData checks the datahash
  const got = new Map<string, Buffer>();
  await scanApkData(head, async (entry, body) => {
    const parts: Buffer[] = [];
    for await (const b of body) parts.push(b);
    got.set(entry.path, Buffer.concat(parts));
  });
  assert.ok(got.get("big")!.equals(big));
  assert.equal(got.get("small")!.toString(), "small\n");
  assert.deepEqual(readdirSync(path.dirname(output)), ["big-1.0-r0.apk"], "no temp file left");
});

test("a file that is not the size it was listed with stops the package, and no apk is left", async () => {
  const dir = tempDir();
  const file = path.join(dir, "grew");
  writeFileSync(file, "longer than listed\n");
  const out = path.join(dir, "out");
  for (const size of [5, 100]) {
    await assert.rejects(
      writeApk({
        pkginfo: { ...emptyPkgInfo(), pkgname: "grew", pkgver: "1.0-r0", arch: "x86_64" },
        entries: [{ path: "grew", type: "file", mode: 0o644, uid: 0, gid: 0, content: { file, size } }],
        output: path.join(out, "grew-1.0-r0.apk"),
      }),
      /grew changed size while being packaged \((5|100) -> 19\)/,
    );
  }
  assert.ok(!existsSync(out) || readdirSync(out).length === 0, "nothing written");
});
