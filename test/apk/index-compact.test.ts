/**
 * The parsed index as offsets into the APKINDEX text (provider/apk/index-compact.ts) and its name
 * table (index-names.ts): what the parser records must read back as the text says, the same from
 * the cache file, and the names the resolver looks up must answer in record order.
 */
import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { writeIndexArchive } from "../../provider/apk/index-archive";
import { CompactIndex } from "../../provider/apk/index-compact";
import { compactFromEntries } from "../../provider/apk/index-compact-builder";
import { nameTableOf } from "../../provider/apk/index-names";
import { IndexTextParser } from "../../provider/apk/index-parser";
import { emptyIndexEntry, type IndexEntry, parseIndexText } from "../../provider/apk/index-text";
import { RepositoryClient } from "../../provider/repository/client";
import { clearIndexMemo } from "../../provider/repository/index-loader";
import { parseRepositorySource } from "../../provider/repository/source";
import { isDistrolessError } from "../../provider/util/errors";
import { tempDir } from "../helpers/tmp";

const TEXT = [
  "C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
  "P:alpha",
  "V:1.0-r0",
  "A:x86_64",
  "S:10",
  "T:the first ünïcode package",
  "D:musl so:libc.musl-x86_64.so.1",
  "D:zlib", // a repeated list line is appended, as apk-tools does
  "p:so:libalpha.so.1=1 so:libalpha.so.1=2 cmd:alpha=1.0-r0 alpha=1.0-r0",
  "k:0",
  "Z:zeta",
  "",
  "C:Q1BBBBBBBBBBBBBBBBBBBBBBBBBBB=",
  "P:beta",
  "V:2.0-r0",
  "A:noarch",
  "i:alpha beta=2.0-r0",
  "p:so:libalpha.so.1",
  "",
  "C:Q1CCCCCCCCCCCCCCCCCCCCCCCCCCC=",
  "P:alpha",
  "V:2.0-r0",
  "A:x86_64",
  "t:1700000000",
].join("\r\n"); // CRLF throughout, and no newline after the last line

function expected(): IndexEntry[] {
  const a = emptyIndexEntry();
  Object.assign(a, {
    checksum: "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    name: "alpha",
    version: "1.0-r0",
    arch: "x86_64",
    size: 10,
    description: "the first ünïcode package",
    depends: ["musl", "so:libc.musl-x86_64.so.1", "zlib"],
    provides: ["so:libalpha.so.1=1", "so:libalpha.so.1=2", "cmd:alpha=1.0-r0", "alpha=1.0-r0"],
    providerPriority: 0,
    extra: [["Z", "zeta"]],
  });
  const b = emptyIndexEntry();
  Object.assign(b, {
    checksum: "Q1BBBBBBBBBBBBBBBBBBBBBBBBBBB=",
    name: "beta",
    version: "2.0-r0",
    arch: "noarch",
    installIf: ["alpha", "beta=2.0-r0"],
    provides: ["so:libalpha.so.1"],
  });
  const c = emptyIndexEntry();
  Object.assign(c, {
    checksum: "Q1CCCCCCCCCCCCCCCCCCCCCCCCCCC=",
    name: "alpha",
    version: "2.0-r0",
    arch: "x86_64",
    buildTime: 1_700_000_000,
  });
  return [a, b, c];
}

/** The cache file's bytes read back, as the loader does (an aligned buffer of its own). */
function throughCache(index: CompactIndex): CompactIndex {
  const bytes = Buffer.concat(index.parts());
  const aligned = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(aligned);
  return CompactIndex.fromCacheBytes(aligned, "cache");
}

function parse(text: string, chunk: number): CompactIndex {
  const p = new IndexTextParser("test", 16);
  const bytes = Buffer.from(text, "utf8");
  for (let at = 0; at < bytes.length; at += chunk) p.push(bytes.subarray(at, at + chunk));
  return p.finish();
}

describe("the parsed index points into the text", () => {
  test("every field reads back as written: CRLF, repeated list lines, unknown fields, the last line", () => {
    assert.deepEqual(parseIndexText(TEXT), expected());
    // Lines and characters split across chunks anywhere (the buffer grows from 16 bytes) read the same.
    for (const chunk of [1, 3, 7, 64, 1 << 20]) assert.deepEqual(parse(TEXT, chunk).entries(), expected());
    assert.deepEqual(compactFromEntries(expected()).entries(), expected());
  });

  test("a line longer than many chunks reads whole, and the lines after it too", () => {
    const long = "x".repeat(200_000);
    const text = `C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:a\nV:1-r0\nT:${long}\nD:b\n\nC:Q1BBBBBBBBBBBBBBBBBBBBBBBBBBB=\nP:b\nV:1-r0\n`;
    const entries = parse(text, 1000).entries();
    assert.equal(entries.length, 2);
    assert.equal(entries[0]!.description, long);
    assert.deepEqual(entries[0]!.depends, ["b"]);
    assert.equal(entries[1]!.name, "b");
  });

  test("the cache file's bytes give the same records, description, signatures and arch counts", () => {
    const p = new IndexTextParser("test");
    p.feed(TEXT);
    const index = p.finish("ab".repeat(32), "the description", [
      { algorithm: "sha256", keyName: "k.rsa.pub" },
    ]);
    const back = throughCache(index);
    assert.deepEqual(back.entries(), expected());
    assert.equal(back.description, "the description");
    assert.deepEqual(back.signatures, [{ algorithm: "sha256", keyName: "k.rsa.pub" }]);
    assert.equal(back.sourceSha256, "ab".repeat(32));
    assert.deepEqual([...back.arches], [...index.arches]);
    assert.deepEqual(
      [...index.arches],
      [
        ["x86_64", 2],
        ["noarch", 1],
      ],
    );
  });

  test("names answer for own and provided names in record order, one code per record and name", () => {
    const parsed = parse(TEXT, 5);
    for (const index of [parsed, throughCache(parsed), compactFromEntries(expected())]) {
      const names = nameTableOf(index);
      // alpha's own name twice (records 0 and 2); its `alpha=1.0-r0` provide is its own name.
      assert.deepEqual(names.lookup("alpha"), [0, 4]);
      // Provided by alpha (at two versions: one code) and by beta.
      assert.deepEqual(names.lookup("so:libalpha.so.1"), [1, 3]);
      assert.deepEqual(names.lookup("cmd:alpha"), [1]);
      assert.deepEqual(names.lookup("beta"), [2]);
      assert.deepEqual(names.lookup("so:libalpha.so"), []);
      assert.deepEqual(names.lookup("ünïcode"), []);
      assert.deepEqual(
        [...names.names()].sort(),
        ["alpha", "beta", "cmd:alpha", "so:libalpha.so.1"].sort(),
        "every name once",
      );
    }
  });

  test("a value with a line break cannot be built into an index (no APKINDEX can carry one)", () => {
    const e = expected()[1]!;
    e.description = "two\nlines";
    assert.throws(
      () => compactFromEntries([e]),
      (err: unknown) => isDistrolessError(err, "E_FORMAT") && /beta-2\.0-r0/.test(String(err)),
    );
  });

  test("the loader warns about records of another arch, counted at parse time and from the cache", async () => {
    const dir = tempDir("pd-compact-");
    const repo = path.join(dir, "repo");
    mkdirSync(path.join(repo, "x86_64"), { recursive: true });
    const records = expected();
    records[2]!.arch = "aarch64";
    writeFileSync(path.join(repo, "x86_64", "APKINDEX.tar.gz"), writeIndexArchive(records));
    const load = async () => {
      clearIndexMemo();
      const warnings: string[] = [];
      const client = new RepositoryClient({
        cacheDir: path.join(dir, "cache"),
        cacheSealKeyFile: path.join(dir, "seal.key"),
        allowUntrusted: true,
        env: {},
        progress: { info: () => {}, warn: (m) => warnings.push(m) },
      });
      const loaded = await client.loadIndex(parseRepositorySource(repo), "x86_64");
      await client.flush();
      return { parse: loaded.parse, foreign: warnings.filter((w) => /another arch/.test(w)) };
    };
    for (const how of ["parsed", "cache"]) {
      const r = await load();
      assert.equal(r.parse, how);
      assert.equal(r.foreign.length, 1, how);
      assert.match(r.foreign[0]!, /lists 1 package\(s\) built for another arch \(e\.g\. aarch64\)/);
    }
  });
});
