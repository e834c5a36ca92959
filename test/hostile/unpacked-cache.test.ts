/**
 * The unpacked-package cache (cache/unpacked/<C: hex>.pdpk, provider/repository/unpacked-cache.ts)
 * lets a warm build skip inflating and re-verifying each .apk, so it must never be trusted beyond
 * its seal and block hashes: a truncated, bit-flipped, swapped, foreign-keyed or symlinked entry is
 * caught, reported, removed, and the package installed from its verified .apk again, giving the
 * very same image; the rewritten entry is what the next build reads.
 */
import * as assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readApkHead } from "../../provider/apk/apk-reader";
import { writeApk } from "../../provider/apk/apk-writer";
import type { DataEntry } from "../../provider/apk/data-entry";
import { assembleImage } from "../../provider/image/assemble";
import { validateApkoConfig } from "../../provider/image/config";
import type { InstallPlan } from "../../provider/image/install-plan";
import { PACK_BLOCK_SIZE, UnpackedCache } from "../../provider/repository/unpacked-cache";
import { isDistrolessError } from "../../provider/util/errors";
import { q1Decode } from "../../provider/util/hash";
import { tempDir } from "../helpers/tmp";
import { dir, directPlan, file, pkgInfo, readLayer, symlink, withParents } from "../image/image-helpers";

const config = () => validateApkoConfig({ archs: ["x86_64"] }, "unpacked.yaml");

async function apk(root: string, name: string, entries: DataEntry[]): Promise<string> {
  const out = path.join(root, "repo", "x86_64", `${name}-1.0-r0.apk`);
  await writeApk({ pkginfo: pkgInfo(name, "1.0-r0", "x86_64"), entries, output: out });
  return out;
}

/** Two packages: one with bodies over several blocks (a big file, many small ones), one small. */
async function fixture(root: string): Promise<{ plan: InstallPlan; big: string; small: string }> {
  const entries: DataEntry[] = [file("usr/share/big/blob", Buffer.alloc(3 * PACK_BLOCK_SIZE + 1234, "b"))];
  for (let i = 0; i < 300; i++) entries.push(file(`usr/share/big/small/f${i}`, `file ${i}\n`.repeat(i % 40)));
  entries.push(symlink("usr/share/big/link", "blob"), dir("usr/share/big/empty"));
  const big = await apk(root, "big", withParents(entries));
  const small = await apk(root, "small", withParents([file("etc/small.conf", "small = yes\n")]));
  return { plan: await directPlan("x86_64", [big, small]), big, small };
}

async function build(root: string, plan: InstallPlan, out: string) {
  const notices: string[] = [];
  const result = await assembleImage({
    config: config(),
    plans: [plan],
    cacheDir: path.join(root, "cache"),
    outputDir: path.join(root, out),
    keys: [],
    sourceDateEpoch: 0,
    cacheSealKeyFile: path.join(root, "state", "seal.key"),
    progress: { info: () => {}, warn: (m) => notices.push(m) },
  });
  return { digest: result.platforms[0]!.layerDigest, diffId: result.platforms[0]!.diffId, notices };
}

function entryPath(root: string, apkFile: string): string {
  const checksum = readApkHeadSync(apkFile);
  return path.join(root, "cache", "unpacked", `${q1Decode(checksum)!.toString("hex")}.pdpk`);
}

const heads = new Map<string, string>();
function readApkHeadSync(apkFile: string): string {
  const c = heads.get(apkFile);
  if (!c) throw new Error(`no head read for ${apkFile}`);
  return c;
}

/** A cold build, then the reference digests and the entries' paths. */
async function primed() {
  const root = tempDir("pd-unpacked-");
  const fx = await fixture(root);
  for (const f of [fx.big, fx.small]) heads.set(f, (await readApkHead(f)).controlChecksum);
  const cold = await build(root, fx.plan, "cold");
  assert.deepEqual(cold.notices, []);
  const bigEntry = entryPath(root, fx.big);
  const smallEntry = entryPath(root, fx.small);
  assert.ok(existsSync(bigEntry) && existsSync(smallEntry), "the cold build unpacked both packages");
  return { root, ...fx, cold, bigEntry, smallEntry };
}

/** Builds after the damage: same image, one notice naming the package, and the entry rewritten. */
async function repaired(p: Awaited<ReturnType<typeof primed>>, out: string, damaged: RegExp, pkg = "big") {
  const after = await build(p.root, p.plan, out);
  assert.equal(after.diffId, p.cold.diffId, "the same layer bytes");
  assert.equal(after.digest, p.cold.digest, "the same compressed layer");
  assert.ok(
    after.notices.some((n) => n.includes(`${pkg}-1.0-r0`) && damaged.test(n)),
    `a notice about ${pkg}'s damaged entry: ${JSON.stringify(after.notices)}`,
  );
  const again = await build(p.root, p.plan, `${out}-again`);
  assert.deepEqual(again.notices, [], "the rewritten entry is good");
  assert.equal(again.digest, p.cold.digest);
  assert.deepEqual(readdirSync(path.join(p.root, "cache", "unpacked", "tmp")), [], "no temp files left");
}

describe("the unpacked-package cache is never trusted beyond its seal and block hashes", () => {
  test("a warm build installs from the cache without reading the .apk's data segment", async () => {
    const p = await primed();
    // Spoil the .apk's data segment (its head, and so its C:, intact): only the cache can serve it now.
    const head = await readApkHead(p.big);
    const bytes = readFileSync(p.big);
    bytes[head.dataOffset + 40]! ^= 0xff;
    writeFileSync(p.big, bytes);
    const warm = await build(p.root, p.plan, "warm");
    assert.deepEqual(warm.notices, []);
    assert.equal(warm.digest, p.cold.digest);
    const layer = await readLayer(path.join(p.root, "warm"), "amd64");
    assert.equal(
      layer.find((e) => e.header.name === "usr/share/big/small/f7")!.data.toString(),
      "file 7\n".repeat(7),
    );
    // Without the cache entry the spoiled .apk is scanned, and refused.
    await fsp.rm(p.bigEntry);
    await assert.rejects(
      build(p.root, p.plan, "spoiled"),
      (e) => isDistrolessError(e) && /big-1\.0-r0|big/.test(e.message),
    );
    assert.ok(!existsSync(p.bigEntry), "a package that did not verify is not unpacked");
  });

  test("a truncated entry", async () => {
    const p = await primed();
    truncateSync(p.bigEntry, 100_000);
    await repaired(p, "truncated", /damaged/);
  });

  test("a flipped bit in a body (caught while the layer is written)", async () => {
    const p = await primed();
    const bytes = readFileSync(p.bigEntry);
    bytes[PACK_BLOCK_SIZE + 17]! ^= 0x01;
    writeFileSync(p.bigEntry, bytes);
    await repaired(p, "body-flip", /block 1 does not match its hash/);
  });

  test("a flipped bit in the metadata", async () => {
    const p = await primed();
    const bytes = readFileSync(p.bigEntry);
    bytes[bytes.length - 200]! ^= 0x40;
    writeFileSync(p.bigEntry, bytes);
    await repaired(p, "meta-flip", /seal does not verify/);
  });

  test("an entry swapped for another package's", async () => {
    const p = await primed();
    await fsp.copyFile(p.smallEntry, p.bigEntry);
    await repaired(p, "swapped", /seal does not verify/);
  });

  test("a symlink in place of the entry", async () => {
    const p = await primed();
    const elsewhere = path.join(p.root, "elsewhere.pdpk");
    await fsp.rename(p.bigEntry, elsewhere);
    symlinkSync(elsewhere, p.bigEntry);
    await repaired(p, "symlinked", /symlink/);
  });

  test("an entry sealed under another key", async () => {
    const p = await primed();
    const other = tempDir("pd-unpacked-other-");
    const foreign = await build(other, (await fixture(other)).plan, "foreign");
    assert.equal(foreign.digest, p.cold.digest, "the same packages make the same image");
    const otherEntry = path.join(other, "cache", "unpacked", path.basename(p.smallEntry));
    await fsp.copyFile(otherEntry, p.smallEntry);
    await repaired(p, "foreign", /seal does not verify/, "small");
  });

  test("without a usable seal key nothing is kept, and the image is the same", async () => {
    const root = tempDir("pd-unpacked-nokey-");
    const fx = await fixture(root);
    // A key file others can write is not used (cache-seal.ts).
    await fsp.mkdir(path.join(root, "state"), { recursive: true });
    writeFileSync(path.join(root, "state", "seal.key"), Buffer.alloc(32, 7), { mode: 0o666 });
    await fsp.chmod(path.join(root, "state", "seal.key"), 0o666);
    const first = await build(root, fx.plan, "first");
    const kept = readdirSync(path.join(root, "cache", "unpacked")).filter((f) => f.endsWith(".pdpk"));
    assert.deepEqual(kept, []);
    const p = await primed();
    assert.equal(first.digest, p.cold.digest);
  });

  test("an entry is read back only by the build that holds its key (UnpackedCache directly)", async () => {
    const p = await primed();
    const checksum = readApkHeadSync(p.small);
    const mine = await UnpackedCache.inCache(path.join(p.root, "cache"), {
      env: {},
      keyFile: path.join(p.root, "state", "seal.key"),
    });
    const read = mine.read(checksum, "small");
    assert.ok(read, "readable with the key it was sealed with");
    assert.deepEqual(
      [...read.entries].map((e) => `${e.type} ${e.path}`),
      ["dir etc", "file etc/small.conf"],
    );
    mine.close();
    const theirs = await UnpackedCache.inCache(path.join(p.root, "cache"), {
      env: {},
      keyFile: path.join(p.root, "state", "another.key"),
    });
    assert.throws(() => theirs.read(checksum, "small"), /seal does not verify/);
    assert.ok(!existsSync(p.smallEntry), "and removed");
    theirs.close();
  });
});
