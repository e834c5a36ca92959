/**
 * Issue #9 item 7: a damaged cached package is discarded and fetched again (as the README promises),
 * also on the path image builds take (`verifyData: false`: the installer scans the data itself), and
 * a damaged download never enters the cache in the first place.
 */
import * as assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { RepositoryClient } from "../../provider/repository/client";
import { clearIndexMemo } from "../../provider/repository/index-loader";
import type { PackageRef } from "../../provider/repository/package-fetcher";
import { parseRepositorySource } from "../../provider/repository/source";
import { isDistrolessError } from "../../provider/util/errors";
import { sha256Hex } from "../../provider/util/hash";
import { entryOf, makeApk, makeTestKey, signedIndex, type TestKey } from "../helpers/hostile-repo";
import { tempDir } from "../helpers/tmp";
import { StaticServer } from "../repository/static-server";

const WORK = tempDir("pd-repair-");
const INDEX = "/repo/x86_64/APKINDEX.tar.gz";
const APK = "/repo/x86_64/hello-1.0-r0.apk";

describe("damaged cached packages are replaced", () => {
  let key: TestKey;
  let good: Buffer;
  before(async () => {
    key = await makeTestKey(path.join(WORK, "keys"));
    const file = await makeApk(path.join(WORK, "b"), { name: "hello", version: "1.0-r0", key: key.key });
    good = readFileSync(file);
  });

  async function setup() {
    clearIndexMemo();
    const apk = path.join(WORK, "b", "hello-1.0-r0.apk");
    const server = await new StaticServer()
      .set(INDEX, signedIndex([await entryOf(apk)], key.key))
      .set(APK, good)
      .start();
    const cacheDir = tempDir("pd-repair-cache-");
    const warnings: string[] = [];
    const client = () =>
      new RepositoryClient({
        cacheDir,
        cacheSealKeyFile: path.join(cacheDir, "..", `${path.basename(cacheDir)}.key`),
        keyring: key.keyring,
        env: {},
        retry: { attempts: 2, baseDelayMs: 5 },
        progress: { info: () => {}, warn: (m) => warnings.push(m) },
      });
    const source = parseRepositorySource(`${server.url}/repo`);
    const e = (await client().loadIndex(source, "x86_64")).entries[0]!;
    const ref: PackageRef = {
      name: e.name,
      version: e.version,
      arch: "x86_64",
      checksum: e.checksum,
      size: e.size,
      source,
    };
    return { server, cacheDir, client, ref, warnings };
  }

  const damages: [string, (b: Buffer) => Buffer][] = [
    [
      "a flipped byte in the data segment",
      (b) => {
        const c = Buffer.from(b);
        c[c.length - 40] ^= 0xff;
        return c;
      },
    ],
    ["a file cut short", (b) => b.subarray(0, b.length - 200)],
    ["an empty file", () => Buffer.alloc(0)],
    ["garbage", () => Buffer.from("not an apk at all\n")],
  ];
  for (const [what, damage] of damages) {
    test(`${what}: the next fetch (as image builds do it) discards it and downloads it again`, async () => {
      const { server, client, ref, warnings } = await setup();
      const first = await client().fetchPackage(ref, { verifyData: false });
      assert.equal(first.origin, "downloaded");
      writeFileSync(first.path, damage(readFileSync(first.path)));
      const again = await client().fetchPackage(ref, { verifyData: false });
      assert.equal(again.origin, "downloaded");
      assert.equal(sha256Hex(readFileSync(again.path)), sha256Hex(good));
      assert.equal(server.count(APK), 2);
      assert.match(warnings.join("\n"), /cached hello-1\.0-r0 failed verification \(.+\); fetching it again/);
      // Repaired for good: the run after that is served from the cache.
      assert.equal((await client().fetchPackage(ref, { verifyData: false })).origin, "cache");
    });
  }

  test("a download whose data segment is damaged is refused and never cached, even when the caller scans the data itself", async () => {
    const { server, cacheDir, client, ref } = await setup();
    const bad = Buffer.from(good);
    bad[bad.length - 40] ^= 0xff;
    server.set(APK, bad);
    await assert.rejects(client().fetchPackage(ref, { verifyData: false }), (err: unknown) => {
      assert.ok(isDistrolessError(err, "E_CHECKSUM"), String(err));
      assert.match(
        err.message,
        /downloaded package hello-1\.0-r0 .* does not verify: .*does not match \.PKGINFO datahash/,
      );
      return true;
    });
    assert.ok(!existsSync(path.join(cacheDir, "packages")), "nothing entered the package cache");
    assert.deepEqual(readdirSync(path.join(cacheDir, "tmp")), [], "no staging file left");
    server.set(APK, good);
    assert.equal((await client().fetchPackage(ref, { verifyData: false })).origin, "downloaded");
  });
});
