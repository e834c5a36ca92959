import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { comparePaths, safeEntryPath } from "../../provider/archive/safe-path";
import { encodePaxRecords, newHeader, parsePaxRecords } from "../../provider/archive/tar-header";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import { buildTar } from "../../provider/archive/tar-writer";
import { tempDir } from "../helpers/tmp";

describe("tar codec", () => {
  test("GNU tar reads what we write: long names (ustar prefix and PAX), long link targets, modes, mtimes", () => {
    const dir = tempDir();
    const longDir = `${"d".repeat(120)}/${"e".repeat(30)}`;
    const longName = `${"n".repeat(150)}/${"f".repeat(120)}`; // not splittable: needs a PAX path
    const tar = buildTar(
      [
        { header: newHeader({ name: longDir, type: "directory", mtime: 1234 }) },
        {
          header: newHeader({ name: `${longDir}/file`, type: "file", mode: 0o750, mtime: 1234 }),
          data: Buffer.from("abc"),
        },
        { header: newHeader({ name: longName, type: "file", mtime: 1234 }), data: Buffer.from("long") },
        { header: newHeader({ name: "link", type: "symlink", linkname: `/${"t".repeat(150)}` }) },
        {
          header: newHeader({ name: "big-uid", type: "file", uid: 9_999_999, gid: 5, mtime: 1234 }),
          data: Buffer.from(""),
        },
      ],
      { endOfArchive: true },
    );
    const file = path.join(dir, "t.tar");
    writeFileSync(file, tar);
    const out = spawnSync("tar", ["--numeric-owner", "-tvf", file], { encoding: "utf8" });
    assert.equal(out.status, 0, out.stderr);
    const lines = out.stdout.trim().split("\n");
    assert.equal(lines.length, 5);
    assert.match(lines[1]!, /^-rwxr-x--- 0\/0 +3 1970-01-01 00:20 d{120}\/e{30}\/file$/);
    assert.ok(lines[2]!.endsWith(longName));
    assert.ok(lines[3]!.endsWith(`link -> /${"t".repeat(150)}`));
    assert.match(lines[4]!, / 9999999\/5 /);
  });

  test("we read what GNU tar writes (incl. its long-name extensions)", async () => {
    const dir = tempDir();
    const deep = `${"x".repeat(110)}/${"y".repeat(110)}`;
    spawnSync("mkdir", ["-p", path.join(dir, "src", deep)]);
    writeFileSync(path.join(dir, "src", deep, "z"), "zz");
    for (const format of ["gnu", "pax", "ustar"]) {
      const file = path.join(dir, `${format}.tar`);
      const r = spawnSync("tar", [`--format=${format}`, "-cf", file, "-C", path.join(dir, "src"), "."], {
        encoding: "utf8",
      });
      if (format === "ustar") continue; // ustar cannot hold this path; tar says so itself
      assert.equal(r.status, 0, r.stderr);
      const entries = await readTarBuffer(readFileSync(file));
      const z = entries.find((e) => e.header.name.endsWith("/z"));
      assert.ok(z, `${format}: found the deep file`);
      assert.equal(safeEntryPath(z.header.name), `${deep}/z`);
      assert.equal(z.data.toString(), "zz");
    }
  });

  test("PAX records: lengths count their own digits", () => {
    for (const len of [1, 80, 92, 93, 94, 995, 996, 997, 9995]) {
      const value = "v".repeat(len);
      const enc = encodePaxRecords({ k: value });
      assert.equal(Number(enc.toString().split(" ")[0]), enc.length);
      assert.deepEqual(parsePaxRecords(enc), { k: value });
    }
  });

  test("path safety and ordering", () => {
    assert.equal(safeEntryPath("./usr/bin/"), "usr/bin");
    assert.equal(safeEntryPath("usr//./bin"), "usr/bin");
    assert.throws(() => safeEntryPath("../etc"), /climbs out/);
    assert.throws(() => safeEntryPath("/etc/passwd"), /absolute/);
    const sorted = ["a.b", "a/b", "a", "B", "a-c"].sort(comparePaths);
    assert.deepEqual(sorted, ["B", "a", "a/b", "a-c", "a.b"]);
  });

  test("truncated and corrupt archives are errors, not hangs", async () => {
    const tar = buildTar([{ header: newHeader({ name: "f", type: "file" }), data: Buffer.alloc(2000, 1) }], {
      endOfArchive: true,
    });
    await assert.rejects(readTarBuffer(tar.subarray(0, 1000)), /unexpected end/);
    await assert.rejects(readTarBuffer(tar.subarray(0, 300)), /unexpected end/);
    const bad = Buffer.from(tar);
    bad[100] = 0x39; // a non-octal digit in the mode
    await assert.rejects(readTarBuffer(bad), /checksum|octal/);
    // Archive without end blocks (apk segments) ends cleanly.
    const open = buildTar([{ header: newHeader({ name: "f", type: "file" }), data: Buffer.from("x") }], {
      endOfArchive: false,
    });
    assert.equal((await readTarBuffer(open)).length, 1);
  });
});
