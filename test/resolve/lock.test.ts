import * as assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  type ApkoLockFile,
  parseApkoLock,
  readApkoLockFile,
  toApkoLock,
  writeApkoLockFile,
} from "../../provider/resolve/apko-lock";
import { computeLockDigest, lockSummary } from "../../provider/resolve/lock";
import { isDistrolessError } from "../../provider/util/errors";
import { q1Decode } from "../../provider/util/hash";
import { tempDir } from "../helpers/tmp";
import { Harness } from "./harness";
import { testKey, writeRepo } from "./test-repo";

const base = [
  { name: "app", version: "1.0-r0", depends: ["lib"] },
  { name: "lib", version: "1.0-r0" },
  { name: "other", version: "1.0-r0" },
];

async function twoArchRepo(): Promise<Harness> {
  return new Harness().repo({ archs: { x86_64: base, aarch64: base } });
}

describe("the lock", () => {
  test("apko.lock.json round trip: apko's fields, every arch, install order, checksums", async () => {
    const h = await twoArchRepo();
    const out = await h.resolve(["app"], ["x86_64", "aarch64"]);
    const file = path.join(tempDir(), "apko.lock.json");
    const apko = toApkoLock(out.lock, {
      configName: "apko.yaml",
      keyring: ["k.rsa.pub"],
      repositories: ["/r"],
    });
    await writeApkoLockFile(file, apko);
    const json = JSON.parse(await fsp.readFile(file, "utf8")) as ApkoLockFile;
    assert.equal(json.version, "v1");
    assert.deepEqual(Object.keys(json.contents).sort(), [
      "build_repositories",
      "keyring",
      "packages",
      "repositories",
    ]);
    assert.deepEqual(json.contents.repositories[0], {
      name: "/r/aarch64",
      url: "/r/aarch64/APKINDEX.tar.gz",
      architecture: "aarch64",
    });
    const first = json.contents.packages[0]!;
    assert.deepEqual(Object.keys(first).sort(), [
      "architecture",
      "checksum",
      "control",
      "data",
      "name",
      "signature",
      "url",
      "version",
    ]);
    assert.equal(first.control.checksum, `sha1-${q1Decode(first.checksum)!.toString("base64")}`);
    // Credentials in configured URLs never reach the (shared) lock file.
    const withCreds = toApkoLock(out.lock, {
      keyring: ["https://reader:s3cret@keys.example.com/k.rsa.pub"],
      repositories: ["https://reader:s3cret@packages.example.com/os"],
    });
    assert.doesNotMatch(JSON.stringify(withCreds), /reader|s3cret/);
    assert.deepEqual(withCreds.contents.keyring, [
      { name: "keys.example.com/k.rsa.pub", url: "https://keys.example.com/k.rsa.pub" },
    ]);
    assert.equal(
      withCreds.contents.repositories[0]!.url,
      "https://packages.example.com/os/aarch64/APKINDEX.tar.gz",
    );
    const pins = await readApkoLockFile(file);
    for (const arch of ["x86_64", "aarch64"]) {
      assert.deepEqual(
        pins.get(arch)!.map((p) => [p.name, p.version, p.checksum]),
        out.lock.archs[arch]!.map((p) => [p.name, p.version, p.checksum]),
      );
    }
  });

  test("a lock pins exact versions; newer ones are a notice, not a change", async () => {
    const h = await twoArchRepo();
    const first = await h.resolve(["app"], ["x86_64", "aarch64"]);
    const pins = parseApkoLock(JSON.stringify(toApkoLock(first.lock)), "lock");
    // Upstream publishes lib 1.1 for both archs.
    const newer = [...base, { name: "lib", version: "1.1-r0" }];
    await writeRepo(path.join(h.root, "repo0"), "x86_64", newer, await testKey());
    await writeRepo(path.join(h.root, "repo0"), "aarch64", newer, await testKey());
    const unlocked = await h.resolve(["app"], ["x86_64", "aarch64"]);
    assert.equal(unlocked.lock.archs.x86_64!.find((p) => p.name === "lib")!.version, "1.1-r0");
    const locked = await h.resolve(["app"], ["x86_64", "aarch64"], pins);
    assert.equal(locked.lock.lockDigest, first.lock.lockDigest);
    assert.deepEqual(lockSummary(locked.lock), lockSummary(first.lock));
    assert.deepEqual(locked.notices.sort(), [
      "aarch64: lib is locked at 1.0-r0; 1.1-r0 is available",
      "x86_64: lib is locked at 1.0-r0; 1.1-r0 is available",
    ]);
  });

  test("a stale lock fails with what to do: a new package, a vanished version, a rebuilt package", async () => {
    const h = await twoArchRepo();
    const first = await h.resolve(["app"], ["x86_64"]);
    const pins = parseApkoLock(JSON.stringify(toApkoLock(first.lock)), "lock");

    await assert.rejects(h.resolve(["app", "other"], ["x86_64"], pins), (err: unknown) => {
      assert.ok(isDistrolessError(err, "E_RESOLVE"));
      assert.match(
        err.message,
        /cannot satisfy world -> other: other-1\.0-r0: the lock does not list it \(re-run lock/,
      );
      return true;
    });

    const key = await testKey();
    await writeRepo(
      path.join(h.root, "repo0"),
      "x86_64",
      [base[0]!, base[2]!, { name: "lib", version: "2.0-r0" }],
      key,
    );
    await assert.rejects(
      h.resolve(["app"], ["x86_64"], pins),
      /the lock pins lib-1\.0-r0, which no configured repository has for x86_64 any more \(re-run lock\)/,
    );

    await writeRepo(
      path.join(h.root, "repo0"),
      "x86_64",
      [base[0]!, base[2]!, { ...base[1]!, build: "rebuilt" }],
      key,
    );
    await assert.rejects(h.resolve(["app"], ["x86_64"], pins), (err: unknown) => {
      assert.ok(isDistrolessError(err, "E_CHECKSUM"));
      assert.match(
        err.message,
        /the lock pins lib-1\.0-r0 with checksum Q1\S+, but .* now has Q1\S+ for that version/,
      );
      return true;
    });
  });

  test("a lock from an older apko (control checksum only) still pins checksums", () => {
    const text = JSON.stringify({
      version: "v1",
      contents: {
        keyring: [],
        repositories: [],
        packages: [
          {
            name: "musl",
            url: "https://example.invalid/x86_64/musl-1.2.3-r2.apk",
            version: "1.2.3-r2",
            architecture: "x86_64",
            signature: { range: "bytes=0-600", checksum: "sha1-AAAA" },
            control: { range: "bytes=601-1000", checksum: "sha1-s+0ABSdjudKn+n+ccJIUrG93mAk=" },
            data: { range: "bytes=1001-383458", checksum: "sha256-BBBB" },
          },
        ],
      },
    });
    const pins = parseApkoLock(text, "old.lock.json");
    assert.deepEqual(pins.get("x86_64"), [
      {
        name: "musl",
        version: "1.2.3-r2",
        checksum: "Q1s+0ABSdjudKn+n+ccJIUrG93mAk=",
        url: "https://example.invalid/x86_64/musl-1.2.3-r2.apk",
      },
    ]);
    assert.throws(
      () => parseApkoLock('{"contents":{"packages":[{"name":"x"}]}}', "bad.json"),
      /bad\.json: contents\.packages\[0\]\.version is missing/,
    );
    assert.throws(() => parseApkoLock("{", "bad.json"), /bad\.json: not JSON/);
  });

  test("the digest covers identity and order, not sizes", () => {
    const p = {
      name: "a",
      version: "1-r0",
      arch: "x86_64",
      repository: "/r",
      checksum: "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      size: 1,
      installedSize: 2,
      origin: "a",
    };
    const q = { ...p, name: "b" };
    const d = computeLockDigest({ x86_64: [p, q] });
    assert.equal(computeLockDigest({ x86_64: [{ ...p, size: 99, installedSize: 7 }, q] }), d);
    assert.notEqual(computeLockDigest({ x86_64: [q, p] }), d);
    assert.notEqual(
      computeLockDigest({ x86_64: [{ ...p, checksum: "Q1BBBBBBBBBBBBBBBBBBBBBBBBBBB=" }, q] }),
      d,
    );
    assert.notEqual(computeLockDigest({ x86_64: [{ ...p, tag: "edge" }, q] }), d);
  });
});
