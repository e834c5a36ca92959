import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readElfBuffer, readElfFile } from "../../provider/build/detect/elf";
import { needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { extractApk } from "./build-helpers";

/**
 * A minimal ELF of either class and byte order: a PT_LOAD mapping the file at 0x10000, PT_INTERP,
 * PT_DYNAMIC with DT_NEEDED/DT_SONAME/DT_STRTAB/DT_STRSZ. Built here because no 32-bit or
 * big-endian binaries are installed on this machine.
 */
function makeElf(
  is64: boolean,
  le: boolean,
  opts: { interp?: string; needed: string[]; soname?: string },
): Buffer {
  const word = is64 ? 8 : 4;
  const ehsize = is64 ? 64 : 52;
  const phentsize = is64 ? 56 : 32;
  const phnum = opts.interp ? 3 : 2;
  const base = 0x10000;
  let strtab = "\0";
  const strOff = (s: string) => {
    const at = strtab.length;
    strtab += `${s}\0`;
    return at;
  };
  const neededOffs = opts.needed.map(strOff);
  const sonameOff = opts.soname ? strOff(opts.soname) : -1;
  const interpAt = ehsize + phnum * phentsize;
  const interpBytes = opts.interp ? Buffer.from(`${opts.interp}\0`) : Buffer.alloc(0);
  const strAt = interpAt + interpBytes.length;
  const strBytes = Buffer.from(strtab);
  const dynAt = strAt + strBytes.length + ((8 - ((strAt + strBytes.length) % 8)) % 8);
  const dyn: [number, number][] = [
    ...neededOffs.map((o): [number, number] => [1, o]),
    ...(sonameOff >= 0 ? [[14, sonameOff] as [number, number]] : []),
    [5, base + strAt],
    [10, strBytes.length],
    [0, 0],
  ];
  const total = dynAt + dyn.length * 2 * word;
  const b = Buffer.alloc(total);
  const u16 = (v: number, o: number) => (le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  const u32 = (v: number, o: number) => (le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const w = (v: number, o: number) =>
    is64 ? (le ? b.writeBigUInt64LE(BigInt(v), o) : b.writeBigUInt64BE(BigInt(v), o)) : u32(v, o);
  b.write("\x7fELF", 0, "latin1");
  b[4] = is64 ? 2 : 1;
  b[5] = le ? 1 : 2;
  b[6] = 1;
  u16(3, 16); // ET_DYN
  u16(is64 ? 62 : 8, 18);
  u32(1, 20);
  w(ehsize, is64 ? 32 : 28); // e_phoff
  u16(ehsize, is64 ? 52 : 40);
  u16(phentsize, is64 ? 54 : 42);
  u16(phnum, is64 ? 56 : 44);
  const ph = (i: number, type: number, offset: number, size: number) => {
    const o = ehsize + i * phentsize;
    u32(type, o);
    if (is64) {
      w(offset, o + 8);
      w(base + offset, o + 16);
      w(size, o + 32);
    } else {
      w(offset, o + 4);
      w(base + offset, o + 8);
      w(size, o + 16);
    }
  };
  ph(0, 1, 0, total); // PT_LOAD
  ph(1, 2, dynAt, dyn.length * 2 * word); // PT_DYNAMIC
  if (opts.interp) ph(2, 3, interpAt, interpBytes.length);
  interpBytes.copy(b, interpAt);
  strBytes.copy(b, strAt);
  dyn.forEach(([tag, val], i) => {
    w(tag, dynAt + i * 2 * word);
    w(val, dynAt + i * 2 * word + word);
  });
  return b;
}

describe("ELF reader", () => {
  for (const is64 of [false, true]) {
    for (const le of [true, false]) {
      test(`${is64 ? 64 : 32}-bit ${le ? "little" : "big"}-endian: interpreter, needed, soname`, async () => {
        const elf = await readElfBuffer(
          makeElf(is64, le, {
            interp: "/lib/ld-musl-x.so.1",
            needed: ["libfoo.so.1", "libbar.so"],
            soname: "libme.so.2",
          }),
        );
        assert.ok(elf);
        assert.equal(elf.class, is64 ? 64 : 32);
        assert.equal(elf.littleEndian, le);
        assert.equal(elf.interpreter, "/lib/ld-musl-x.so.1");
        assert.deepEqual(elf.needed, ["libfoo.so.1", "libbar.so"]);
        assert.deepEqual(elf.soname, ["libme.so.2"]);
      });
    }
  }

  test("not ELF, truncated and corrupt input give undefined, never an exception", async () => {
    assert.equal(await readElfBuffer(Buffer.from("#!/bin/sh\necho hi\n")), undefined);
    assert.equal(await readElfBuffer(Buffer.alloc(0)), undefined);
    const good = makeElf(true, true, { needed: ["libc.so.6"], soname: "libx.so.1" });
    for (const cut of [4, 20, 63, 100, good.length - 10]) {
      const r = await readElfBuffer(good.subarray(0, cut));
      if (r) assert.ok(Array.isArray(r.needed)); // partial facts are fine; throwing is not
    }
    const huge = Buffer.from(good);
    huge.writeUInt16LE(0xffff, 56); // e_phnum way beyond the file
    const r = await readElfBuffer(huge);
    assert.ok(r === undefined || r.needed.length === 0);
  });

  test("agrees with binutils' readelf on the host's own binaries and libraries", async (t) => {
    if (spawnSync("readelf", ["--version"]).status !== 0) {
      t.skip("readelf is not installed");
      return;
    }
    const candidates = ["/bin/ls", "/usr/bin/bwrap", "/usr/bin/runc", "/bin/busybox"];
    for (const dir of ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/x86_64-linux-gnu"]) {
      if (!existsSync(dir)) continue;
      for (const n of readdirSync(dir).filter((n) => /^lib(z|c|crypto|ssl|m)\.so\.\d+$/.test(n))) {
        candidates.push(path.join(dir, n));
      }
    }
    let checked = 0;
    for (const file of candidates) {
      if (!existsSync(file) || !statSync(file).isFile()) continue;
      const out = spawnSync("readelf", ["-d", "-l", "-W", file], { encoding: "utf8" }).stdout;
      const needed = [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
      const soname = [...out.matchAll(/\(SONAME\)\s+Library soname: \[([^\]]+)\]/g)].map((m) => m[1]);
      const interp = /Requesting program interpreter: ([^\]]+)\]/.exec(out)?.[1];
      const elf = await readElfFile(file);
      assert.ok(elf, file);
      assert.deepEqual(elf.needed, needed, `${file} DT_NEEDED`);
      assert.deepEqual(elf.soname, soname, `${file} DT_SONAME`);
      assert.equal(elf.interpreter, interp, `${file} PT_INTERP`);
      checked++;
    }
    assert.ok(checked >= 3, `only ${checked} host binaries were compared`);
  });

  test("reads Wolfi's aarch64 and x86_64 binaries from the fixture apks", needsFixtures(), async () => {
    const dir = tempDir();
    await extractApk("apks/wolfi/libcap-2.69-r0.apk", path.join(dir, "libcap"));
    await extractApk("apks/wolfi/hello-wolfi-2.12.1-r0.apk", path.join(dir, "hello"));
    const libcap = await readElfFile(path.join(dir, "libcap/usr/lib/libcap.so.2.69"));
    assert.equal(libcap?.machine, 183); // EM_AARCH64
    assert.equal(libcap?.interpreter, "/lib/ld-linux-aarch64.so.1");
    assert.deepEqual(libcap?.soname, ["libcap.so.2"]);
    assert.deepEqual(libcap?.needed, ["libc.so.6", "ld-linux-aarch64.so.1"]);
    const hello = await readElfFile(path.join(dir, "hello/usr/bin/hello"));
    assert.equal(hello?.machine, 62); // EM_X86_64
    assert.equal(hello?.interpreter, "/lib64/ld-linux-x86-64.so.2");
    assert.deepEqual(hello?.needed, ["libc.so.6"]);
    assert.equal(readFileSync(path.join(dir, "hello/usr/bin/hello")).readUInt32BE(0), 0x7f454c46);
  });
});
