import * as assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { describe, test } from "node:test";
import { loadApkoConfig } from "../../provider/image/config";
import { RepositoryClient } from "../../provider/repository/client";
import { resolvePackages } from "../../provider/resolve/resolve";
import { isDistrolessError } from "../../provider/util/errors";
import { type CliResult, runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

type Summary = Record<string, { name: string; version: string; checksum: string; repository: string }[]>;

/** Runs the real `pulumi-distroless` binary, with no HTTP_AUTH from the environment. */
function cli(...argv: string[]): Promise<CliResult> {
  return runCli(argv, { env: { HTTP_AUTH: "" } });
}

async function resolveConfig(file: string, cacheDir: string, packages?: string[]) {
  const config = await loadApkoConfig(file);
  const client = new RepositoryClient({ cacheDir });
  try {
    return await resolvePackages(
      {
        repositories: config.contents.repositories,
        keys: config.contents.keyring,
        packages: packages ?? config.contents.packages,
        archs: config.archs,
      },
      { client },
    );
  } finally {
    await client.flush();
  }
}

describe("real indexes", needsFixtures(), () => {
  test("lock: alpine-baselayout, musl and busybox against the Alpine 3.16 index (its records are x86_64)", async () => {
    const dir = tempDir();
    // The fixture keeps the index in a folder named after the wrong arch; every A: says x86_64.
    await fsp.mkdir(path.join(dir, "alpine", "x86_64"), { recursive: true });
    await fsp.symlink(
      fixture("alpine-v3.16-main-aarch64", "APKINDEX.tar.gz"),
      path.join(dir, "alpine", "x86_64", "APKINDEX.tar.gz"),
    );
    const config = path.join(dir, "apko.yaml");
    await fsp.writeFile(
      config,
      [
        "contents:",
        "  keyring:",
        `    - ${fixture("alpine-keys", "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub")}`,
        "  repositories:",
        "    - ./alpine",
        "  packages:",
        "    - alpine-baselayout",
        "    - musl",
        "archs: [x86_64]",
        "",
      ].join("\n"),
    );
    // /bin/sh is only an unversioned provide of busybox, which has no provider_priority: apk-tools
    // (since 2.12.10) does not pick it on its own, and neither do we.
    const bare = await cli("lock", config, "--cache-dir", path.join(dir, "cache"));
    assert.equal(bare.code, 1);
    assert.match(
      bare.stderr,
      /\/bin\/sh \(virtual\): no provider may be picked for it automatically .*provided by: busybox; required by: world -> alpine-baselayout-3\.2\.0-r23 -> \/bin\/sh/,
    );
    await fsp.writeFile(
      config,
      (await fsp.readFile(config, "utf8")).replace("    - musl\n", "    - musl\n    - busybox\n"),
    );
    const res = await cli("lock", config, "--cache-dir", path.join(dir, "cache"));
    assert.equal(res.code, 0, res.stderr);
    const lock = JSON.parse(res.stdout) as Summary;
    assert.deepEqual(Object.keys(lock), ["x86_64"]);
    // apko's install order: alpine-baselayout's dependencies in the order apko resolves them (one
    // candidate each, so by constraint text: `/bin/sh` < `alpine-baselayout-data=...` < `so:libc...`),
    // each after its own (busybox after musl); the rule test/conformance checks against `apko lock`.
    assert.deepEqual(
      lock.x86_64!.map((p) => `${p.name}-${p.version}`),
      [
        "musl-1.2.3-r2",
        "busybox-1.35.0-r17",
        "alpine-baselayout-data-3.2.0-r23",
        "alpine-baselayout-3.2.0-r23",
      ],
    );
    const why = await cli(
      "lock",
      config,
      "--cache-dir",
      path.join(dir, "cache"),
      "--why",
      "alpine-baselayout-data",
    );
    assert.equal(why.code, 0, why.stderr);
    assert.equal(
      why.stdout,
      "x86_64: world -> alpine-baselayout-3.2.0-r23 -> alpine-baselayout-data-3.2.0-r23\n",
    );
    const viaProvide = await cli("lock", config, "--cache-dir", path.join(dir, "cache"), "--why", "/bin/sh");
    assert.equal(viaProvide.stdout, "x86_64: world -> busybox-1.35.0-r17 (provides /bin/sh)\n");
    const absent = await cli(
      "lock",
      config,
      "--cache-dir",
      path.join(dir, "cache"),
      "--why",
      "bash",
      "--json",
    );
    assert.deepEqual(JSON.parse(absent.stdout), ["x86_64: bash is not installed"]);
    const json = await cli("lock", config, "--cache-dir", path.join(dir, "cache"), "--json");
    assert.deepEqual(JSON.parse(json.stdout), JSON.parse(res.stdout));
    const byName = new Map(lock.x86_64!.map((p) => [p.name, p]));
    assert.equal(byName.get("alpine-baselayout")!.checksum, "Q19UI7UxyiUywG6aew9c3lCBPshsE=");
    assert.equal(byName.get("musl")!.checksum, "Q1s+0ABSdjudKn+n+ccJIUrG93mAk=");
    assert.equal(byName.get("musl")!.repository, path.join(dir, "alpine"));

    // The same index under the wrong key is refused, naming the repository and the signing key.
    const wrongKey = path.join(dir, "wrong.yaml");
    await fsp.writeFile(
      wrongKey,
      (await fsp.readFile(config, "utf8")).replace(
        fixture("alpine-keys", "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"),
        fixture("alpine-v3.16-main-aarch64", "alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub"),
      ),
    );
    const refused = await cli("lock", wrongKey, "--cache-dir", path.join(dir, "cache"));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /index of repository .*alpine for x86_64 is not trusted/);
    assert.match(refused.stderr, /alpine-devel@lists\.alpinelinux\.org-6165ee59\.rsa\.pub/);
  });

  test("apko.yaml: replayout and the pretend-baselayout it replaces, on x86_64 and aarch64", async () => {
    const res = await cli(
      "lock",
      fixture("configs", "apko", "apko.yaml"),
      "--cache-dir",
      path.join(tempDir(), "c"),
    );
    assert.equal(res.code, 0, res.stderr);
    const lock = JSON.parse(res.stdout) as Summary;
    assert.deepEqual(Object.keys(lock).sort(), ["aarch64", "x86_64"]);
    const expected: Record<string, [string, string][]> = {
      x86_64: [
        ["pretend-baselayout", "Q1m6wB0UFePGN8Drz82pC8y2uAiu8="],
        ["replayout", "Q11/HhSewwwOXgl0r0ffb0O0BRtYc="],
      ],
      aarch64: [
        ["pretend-baselayout", "Q1JQ8nfsxa27d0f6oa056sdT5IcJY="],
        ["replayout", "Q1u62watWiRSQgVtAIuVuYoDOaVO4="],
      ],
    };
    for (const arch of ["x86_64", "aarch64"]) {
      assert.deepEqual(
        lock[arch]!.map((p) => [p.name, p.checksum]),
        expected[arch],
      );
      for (const p of lock[arch]!) assert.equal(p.repository, fixture("local-repo"));
    }
  });

  test("lock --output writes apko.lock.json, and lock --lock resolves to exactly it", async () => {
    const dir = tempDir();
    const cache = path.join(dir, "c");
    const out = path.join(dir, "apko.lock.json");
    const config = fixture("configs", "apko", "apko.yaml");
    const first = await cli("lock", config, "--cache-dir", cache, "--output", out, "--arch", "amd64");
    assert.equal(first.code, 0, first.stderr);
    const written = JSON.parse(await fsp.readFile(out, "utf8")) as {
      version: string;
      contents: { packages: unknown[] };
    };
    assert.equal(written.version, "v1");
    assert.equal(written.contents.packages.length, 2);
    const again = await cli("lock", config, "--cache-dir", cache, "--lock", out, "--arch", "x86_64");
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout), JSON.parse(first.stdout));
    const missingArch = await cli("lock", config, "--cache-dir", cache, "--lock", out);
    assert.equal(missingArch.code, 1);
    assert.match(missingArch.stderr, /the lock has no packages for aarch64 \(re-run lock with this arch\)/);
  });

  test("lock --offline with an empty cache says which repository and arch are missing", async () => {
    const dir = tempDir();
    const config = path.join(dir, "apko.yaml");
    await fsp.writeFile(
      config,
      [
        "contents:",
        `  keyring: [${fixture("local-repo", "melange.rsa.pub")}]`,
        "  repositories: [https://packages.example.invalid/os]",
        "  packages: [replayout]",
        "archs: [aarch64]",
        "",
      ].join("\n"),
    );
    const res = await cli("lock", config, "--offline", "--cache-dir", path.join(dir, "empty"));
    assert.equal(res.code, 1);
    assert.match(
      res.stderr,
      /offline, and the cache \(.*empty\) holds no index of repository https:\/\/packages\.example\.invalid\/os for aarch64/,
    );
  });

  test("base_image.apko.yaml: two repositories signed by two keys", async () => {
    const out = await resolveConfig(
      fixture("configs", "apko", "base_image.apko.yaml"),
      path.join(tempDir(), "c"),
    );
    for (const arch of ["x86_64", "aarch64"]) {
      assert.deepEqual(
        out.lock.archs[arch]!.map((p) => [p.name, p.repository]),
        [
          ["pretend-baselayout", fixture("local-repo")],
          ["package-x", fixture("local-repo-private")],
          ["package-y", fixture("local-repo-private")],
        ],
      );
    }
    const signers = [...out.indexes.values()].flat().map((i) => i.verifiedBy?.keyName);
    assert.deepEqual([...new Set(signers)].sort(), ["melange.rsa.pub", "private_pkg_key.rsa.pub"]);
  });

  test("apko-certs.yaml: both providers of custom-ca-certificates are named, so both install", async () => {
    const out = await resolveConfig(fixture("configs", "apko", "apko-certs.yaml"), path.join(tempDir(), "c"));
    for (const arch of ["x86_64", "aarch64"]) {
      assert.deepEqual(out.lock.archs[arch]!.map((p) => p.name).sort(), [
        "custom-ca-certs-1",
        "custom-ca-certs-2",
        "pretend-baselayout",
      ]);
    }
  });

  test("asking for the virtual custom-ca-certificates alone fails, naming both providers", async () => {
    const file = fixture("configs", "apko", "apko-certs.yaml");
    try {
      await resolveConfig(file, path.join(tempDir(), "c"), ["pretend-baselayout", "custom-ca-certificates"]);
      assert.fail("expected an ambiguity error");
    } catch (err) {
      assert.ok(isDistrolessError(err, "E_RESOLVE"), String(err));
      assert.match(
        err.message,
        /^x86_64, aarch64: custom-ca-certificates \(virtual\): no provider may be picked for it automatically \(none has a provider_priority\): provided by: custom-ca-certs-1 custom-ca-certs-2; required by: world -> custom-ca-certificates/,
      );
    }
  });
});
