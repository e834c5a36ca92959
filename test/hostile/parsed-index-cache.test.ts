/**
 * The binary parsed-index cache (parsed/<digest>.pdix, provider/apk/index-compact.ts) is read back
 * with no parse, so it must never be trusted for more than its seal and its own bounds say: a
 * truncated, bit-flipped, wrong-version or absurdly-sized record is refused and derived again from
 * the signed APKINDEX, and the rebuilt record is what the next run reads.
 */
import * as assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, beforeEach, describe, test } from "node:test";
import { writeIndexArchive } from "../../provider/apk/index-archive";
import { COMPACT_VERSION, CompactIndex, R_LIST_START, RECORD } from "../../provider/apk/index-compact";
import { emptyIndexEntry, type IndexEntry } from "../../provider/apk/index-text";
import { sealBytes } from "../../provider/repository/cache-seal";
import { RepositoryClient } from "../../provider/repository/client";
import { clearIndexMemo } from "../../provider/repository/index-loader";
import { parseRepositorySource } from "../../provider/repository/source";
import { isDistrolessError } from "../../provider/util/errors";
import { q1Encode, sha1 } from "../../provider/util/hash";
import { makeTestKey, type TestKey } from "../helpers/hostile-repo";
import { tempDir } from "../helpers/tmp";

const WORK = tempDir("pd-pdix-");

function entries(): IndexEntry[] {
  return ["alpha", "beta", "gamma"].map((name, i) => {
    const e = emptyIndexEntry();
    e.name = name;
    e.version = `1.${i}-r0`;
    e.arch = "x86_64";
    e.checksum = q1Encode(sha1(name));
    e.size = 1000 + i;
    e.installedSize = 4000 + i;
    e.description = `the ${name} package — ünïcode too`;
    e.license = "MIT";
    e.origin = name;
    e.buildTime = 1_700_000_000 + i;
    if (i > 0) e.depends.push("alpha", "so:libalpha.so.1");
    if (i === 0) e.provides.push("so:libalpha.so.1=1", "cmd:alpha=1.0-r0");
    if (i === 2) e.installIf.push("beta", "alpha=1.0-r0");
    return e;
  });
}

describe("the binary parsed-index cache is never trusted beyond its seal and bounds", () => {
  let key: TestKey;
  let repo: string;
  before(async () => {
    key = await makeTestKey(path.join(WORK, "keys"));
    repo = path.join(WORK, "repo");
    mkdirSync(path.join(repo, "x86_64"), { recursive: true });
    writeFileSync(
      path.join(repo, "x86_64", "APKINDEX.tar.gz"),
      writeIndexArchive(entries(), { signingKey: key.key, description: "pdix test" }),
    );
  });
  beforeEach(() => clearIndexMemo());

  /** A fresh cache with its record written: the paths, the seal key and the good entries. */
  async function primed() {
    const dir = tempDir("pd-pdix-run-");
    const cacheDir = path.join(dir, "cache");
    const sealKeyFile = path.join(dir, "state", "seal.key");
    const client = () =>
      new RepositoryClient({ cacheDir, cacheSealKeyFile: sealKeyFile, keyring: key.keyring, env: {} });
    const source = parseRepositorySource(repo);
    const c = client();
    const good = await c.loadIndex(source, "x86_64");
    await c.flush();
    clearIndexMemo();
    const file = path.join(cacheDir, "parsed", `${good.sha256}.pdix`);
    const load = async () => {
      clearIndexMemo();
      const c2 = client();
      const loaded = await c2.loadIndex(source, "x86_64");
      await c2.flush();
      return loaded;
    };
    assert.equal((await load()).parse, "cache", "the record as written is used");
    /** A body sealed with the real key: what only a bug of ours (or an older version of us) could write. */
    const reseal = (body: Buffer) =>
      writeFileSync(file, Buffer.concat([body, sealBytes(readFileSync(sealKeyFile), good.sha256, body)]));
    const body = () => {
      const data = readFileSync(file);
      return Buffer.from(data.subarray(0, data.length - 32));
    };
    return { good, file, load, reseal, body };
  }

  /** The damaged record was not used, the entries are the signed ones, and the next run reads the repaired record. */
  async function refusedAndRepaired(p: Awaited<ReturnType<typeof primed>>): Promise<void> {
    const again = await p.load();
    assert.equal(again.parse, "parsed");
    assert.deepEqual(again.entries, p.good.entries);
    assert.equal((await p.load()).parse, "cache", "the record was written over");
  }

  test("the record round-trips every field, and a second load of the same bytes needs no parse", async () => {
    const p = await primed();
    assert.deepEqual(p.good.entries, entries());
    assert.equal(p.good.description, "pdix test");
    assert.deepEqual(p.good.signatures, [{ algorithm: "sha256", keyName: key.key.keyName }]);
    const cached = await p.load();
    assert.deepEqual(cached.entries, entries());
    assert.equal(cached.verifiedBy?.keyName, key.key.keyName, "trust is checked again against the archive");
  });

  for (const cut of ["half", "the seal", "one byte", "all"] as const) {
    test(`truncated (${cut}): refused and rebuilt`, async () => {
      const p = await primed();
      const data = readFileSync(p.file);
      const keep = {
        half: data.length >> 1,
        "the seal": data.length - 32,
        "one byte": data.length - 1,
        all: 0,
      }[cut];
      writeFileSync(p.file, data.subarray(0, keep));
      await refusedAndRepaired(p);
    });
  }

  test("a flipped bit anywhere (header, records, lists, numbers, strings, seal): refused and rebuilt", async () => {
    const p = await primed();
    const good = readFileSync(p.file);
    for (const at of [0, 5, 12 * 4 + 3, 100, good.length >> 1, good.length - 40, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at]! ^= 0x04;
      writeFileSync(p.file, bad);
      const again = await p.load();
      assert.equal(again.parse, "parsed", `a flip at byte ${at} was not noticed`);
      assert.deepEqual(again.entries, p.good.entries);
    }
  });

  test("another format version, even correctly sealed: refused and rebuilt", async () => {
    const p = await primed();
    const body = p.body();
    body.writeUInt32LE(COMPACT_VERSION + 1, 4);
    assert.throws(
      () => CompactIndex.fromCacheBytes(body, "other version"),
      (err: unknown) => isDistrolessError(err, "E_FORMAT") && /format version/.test(err.message),
    );
    p.reseal(body);
    await refusedAndRepaired(p);
  });

  for (const [what, word, value] of [
    ["package count", 2, 0xffffffff],
    ["list item count", 3, 0xfffffff0],
    ["text length", 4, 0xffffffff],
    ["description length", 5, 0x7fffffff],
  ] as const) {
    test(`a huge ${what}, correctly sealed: refused before anything is sized by it`, async () => {
      const p = await primed();
      const body = p.body();
      body.writeUInt32LE(value, word * 4);
      assert.throws(
        () => CompactIndex.fromCacheBytes(body, "forged"),
        (err: unknown) => isDistrolessError(err, "E_FORMAT") && /counts describe \d+ bytes/.test(err.message),
      );
      p.reseal(body);
      await refusedAndRepaired(p);
    });
  }

  test("offsets and list bounds that point outside the record, correctly sealed: refused", async () => {
    const p = await primed();
    const records = 20 * 4;
    const items = records + CompactIndex.fromCacheBytes(p.body(), "good").count * RECORD * 4;
    const forgeries: [string, (b: Buffer) => void, RegExp][] = [
      ["a name offset past the text", (b) => b.writeUInt32LE(0x00ffffff, records + 1 * 4), /names offset/],
      [
        "a list start past the items",
        (b) => b.writeUInt32LE(999, records + (RECORD + R_LIST_START) * 4),
        /list out of bounds/,
      ],
      [
        "a list line past the text",
        (b) => b.writeUInt32LE(0x0fffffff, items),
        /list item 0 is out of bounds/,
      ],
    ];
    for (const [what, forge, why] of forgeries) {
      const body = p.body();
      forge(body);
      assert.throws(
        () => CompactIndex.fromCacheBytes(body, "forged"),
        (err: unknown) => isDistrolessError(err, "E_FORMAT") && why.test(err.message),
        what,
      );
      p.reseal(body);
      const again = await p.load();
      assert.equal(again.parse, "parsed", what);
      assert.deepEqual(again.entries, p.good.entries, what);
    }
  });
});
