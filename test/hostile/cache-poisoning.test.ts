/**
 * Issue #9 item 4: a cache shared between CI runs is writable by whoever shares it, so nothing in it
 * may be a way in. A forged parsed index plus a planted apk must not get unsigned content installed
 * while the server still serves the good, signed index; nor may a rewritten index-meta/blob pair.
 */
import * as assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { before, beforeEach, describe, test } from "node:test";
import { writeIndexArchive } from "../../provider/apk/index-archive";
import { CompactIndex } from "../../provider/apk/index-compact";
import { compactFromEntries } from "../../provider/apk/index-compact-builder";
import { RepositoryClient } from "../../provider/repository/client";
import type { RepositoryOptions } from "../../provider/repository/context";
import { clearIndexMemo } from "../../provider/repository/index-loader";
import type { PackageRef } from "../../provider/repository/package-fetcher";
import { parseRepositorySource } from "../../provider/repository/source";
import { q1Decode, sha256, sha256Hex } from "../../provider/util/hash";
import { entryOf, makeApk, makeTestKey, signedIndex, type TestKey } from "../helpers/hostile-repo";
import { tempDir } from "../helpers/tmp";
import { StaticServer } from "../repository/static-server";

const WORK = tempDir("pd-poison-");
const INDEX = "/repo/x86_64/APKINDEX.tar.gz";
const APK = "/repo/x86_64/hello-1.0-r0.apk";

describe("a shared cache is not a way in", () => {
  let key: TestKey;
  let good: string;
  let evil: string;
  before(async () => {
    key = await makeTestKey(path.join(WORK, "keys"));
    good = await makeApk(path.join(WORK, "good"), { name: "hello", version: "1.0-r0", key: key.key });
    // The attacker's build of the same name and version: unsigned, other content.
    evil = await makeApk(path.join(WORK, "evil"), {
      name: "hello",
      version: "1.0-r0",
      entries: [
        { path: "etc", type: "directory", mode: 0o755, uid: 0, gid: 0 },
        { path: "etc/evil", type: "file", mode: 0o644, uid: 0, gid: 0, content: Buffer.from("pwned\n") },
      ],
    });
  });
  beforeEach(() => clearIndexMemo());

  /** A server of the good, signed index and package (started in the test, stopped after it). */
  async function setup(extra: Partial<RepositoryOptions> = {}) {
    const server = await new StaticServer()
      .set(INDEX, signedIndex([await entryOf(good)], key.key))
      .set(APK, readFileSync(good))
      .start();
    const dir = tempDir("pd-poison-run-");
    const cacheDir = path.join(dir, "cache");
    const sealKeyFile = path.join(dir, "state", "cache-seal.key");
    const client = (more: Partial<RepositoryOptions> = {}) =>
      new RepositoryClient({
        cacheDir,
        cacheSealKeyFile: sealKeyFile,
        keyring: key.keyring,
        env: {},
        retry: { attempts: 2, baseDelayMs: 5 },
        ...extra,
        ...more,
      });
    return { dir, cacheDir, sealKeyFile, client, source: parseRepositorySource(`${server.url}/repo`) };
  }

  async function refOf(
    c: RepositoryClient,
    source: ReturnType<typeof parseRepositorySource>,
  ): Promise<PackageRef> {
    const idx = await c.loadIndex(source, "x86_64");
    const e = idx.entries.find((x) => x.name === "hello")!;
    return { name: e.name, version: e.version, arch: "x86_64", checksum: e.checksum, size: e.size, source };
  }

  /** Rewrites every parsed record so `hello` has `checksum`, as an attacker without the seal key can. */
  function forgeParsed(cacheDir: string, checksum: string, size: number): number {
    const dir = path.join(cacheDir, "parsed");
    let n = 0;
    for (const f of readdirSync(dir).filter((x) => x.endsWith(".pdix"))) {
      const data = readFileSync(path.join(dir, f));
      const record = CompactIndex.fromCacheBytes(Buffer.from(data.subarray(0, data.length - 32)), f);
      const entries = record.entries();
      entries[0]!.checksum = checksum;
      entries[0]!.size = size;
      const body = Buffer.concat(
        compactFromEntries(entries, record.description, record.sourceSha256).parts(),
      );
      // The best an attacker without the seal key can do: a trailer computed over the body it wrote.
      writeFileSync(path.join(dir, f), Buffer.concat([body, sha256(body)]));
      n++;
    }
    return n;
  }

  test("a forged parsed index and a planted apk: the next build gets the signed package, not the planted one", async () => {
    const { cacheDir, client, source } = await setup();
    const c1 = client();
    const genuine = await c1.fetchPackage(await refOf(c1, source));
    await c1.flush();
    const evilHead = await entryOf(evil);
    assert.ok(forgeParsed(cacheDir, evilHead.checksum, evilHead.size) > 0);
    const planted = path.join(
      cacheDir,
      "packages",
      `${q1Decode(evilHead.checksum)!.toString("hex")}-hello-1.0-r0.apk`,
    );
    await fsp.copyFile(evil, planted);

    clearIndexMemo(); // the next run: a new process, only the (poisoned) disk cache remains
    const c2 = client();
    const idx = await c2.loadIndex(source, "x86_64");
    assert.equal(idx.parse, "parsed", "the forged record was not used");
    assert.equal(idx.fetch, "not-modified");
    assert.equal(idx.entries[0]!.checksum, genuine.ref.checksum);
    const fetched = await c2.fetchPackage(await refOf(c2, source));
    assert.equal(sha256Hex(readFileSync(fetched.path)), sha256Hex(readFileSync(good)));
    assert.notEqual(fetched.path, planted);
    // And the re-derived record is sealed again: the run after that reads it from disk.
    await c2.flush();
    clearIndexMemo();
    assert.equal((await client().loadIndex(source, "x86_64")).parse, "cache");
  });

  test("the seal key lives outside the cache (0600); records sealed under another key are re-derived, a shared secret shares them", async () => {
    const { cacheDir, sealKeyFile, client, source } = await setup();
    const c1 = client();
    await c1.loadIndex(source, "x86_64");
    await c1.flush();
    assert.ok(!path.relative(cacheDir, sealKeyFile).startsWith("parsed"));
    assert.ok(path.relative(cacheDir, sealKeyFile).startsWith(".."), "not under the cache directory");
    assert.equal(statSync(sealKeyFile).mode & 0o777, 0o600);
    const sealKey = readFileSync(sealKeyFile);
    for (const f of readdirSync(path.join(cacheDir, "parsed"))) {
      assert.ok(!readFileSync(path.join(cacheDir, "parsed", f)).includes(sealKey));
    }

    // Another machine (its own key) sharing the cache: parses again, never trusts ours blindly.
    clearIndexMemo();
    const other = await client({ cacheSealKeyFile: path.join(tempDir(), "other.key") }).loadIndex(
      source,
      "x86_64",
    );
    assert.equal(other.parse, "parsed");

    // CI runs given one secret share the parses whatever their key files.
    const env = { PULUMI_DISTROLESS_CACHE_KEY: "ci-secret" };
    const a = client({ env, cacheSealKeyFile: path.join(tempDir(), "a.key") });
    clearIndexMemo();
    await a.loadIndex(source, "x86_64");
    await a.flush();
    clearIndexMemo();
    const b = await client({ env, cacheSealKeyFile: path.join(tempDir(), "b.key") }).loadIndex(
      source,
      "x86_64",
    );
    assert.equal(b.parse, "cache");
  });

  test("index-meta pointed at an unsigned index the attacker cached: refused, then the server's signed index is used", async () => {
    const { cacheDir, client, source } = await setup();
    const c1 = client();
    await c1.loadIndex(source, "x86_64");
    await c1.flush();
    // The attacker's unsigned index, stored as a blob under its true digest, and the meta rewritten
    // to name it (keeping the server's ETag, so the server answers 304).
    const forged = writeIndexArchive([await entryOf(evil)]); // no signing key: unsigned
    const digest = sha256Hex(forged);
    await fsp.writeFile(path.join(cacheDir, "blobs", "sha256", digest), forged);
    const metaDir = path.join(cacheDir, "index-meta");
    for (const f of readdirSync(metaDir)) {
      const meta = JSON.parse(readFileSync(path.join(metaDir, f), "utf8")) as { sha256: string };
      meta.sha256 = digest;
      writeFileSync(path.join(metaDir, f), JSON.stringify(meta));
    }
    clearIndexMemo();
    const warnings: string[] = [];
    const idx = await client({ progress: { info: () => {}, warn: (m) => warnings.push(m) } }).loadIndex(
      source,
      "x86_64",
    );
    assert.equal(idx.verifiedBy?.keyName, "hostile-test.rsa.pub");
    assert.equal(idx.entries[0]!.checksum, (await entryOf(good)).checksum);
    assert.equal(idx.fetch, "downloaded");
    assert.match(warnings.join("\n"), /the cached copy of the index does not verify; fetching it again/);
  });
});
