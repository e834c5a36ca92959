import * as assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { describe, test } from "node:test";
import { RepositoryClient } from "../../provider/repository/client";
import { securityNotes } from "../../provider/security/drift";
import { loadSecurityDbs } from "../../provider/security/load";
import { fixedBetween, missingFixes, parseSecurityDb } from "../../provider/security/secdb";
import { isDistrolessError } from "../../provider/util/errors";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { StaticServer } from "../repository/static-server";

/** A database in Alpine's secdb format, as the tests need it. */
function secdb(pkgs: Record<string, Record<string, string[]>>): string {
  return JSON.stringify({
    apkurl: "{{urlprefix}}/{{distroversion}}/{{reponame}}/{{arch}}/{{pkg.name}}-{{pkg.ver}}.apk",
    archs: ["x86_64", "aarch64"],
    reponame: "main",
    packages: Object.entries(pkgs).map(([name, secfixes]) => ({ pkg: { name, secfixes } })),
  });
}

describe("security databases (secdb)", () => {
  const db = parseSecurityDb(
    secdb({
      openssl: {
        "3.1.2-r0": ["CVE-2023-0001"],
        "3.1.4-r0": ["CVE-2023-0002 CVE-2023-0003"],
        "0": ["CVE-2020-9999"],
      },
    }),
    "main.json",
  );

  test("which ids a version change fixes, and which fixes a version lacks", () => {
    assert.deepEqual(fixedBetween(db, "openssl", "3.1.1-r0", "3.1.2-r0"), ["CVE-2023-0001"]);
    assert.deepEqual(fixedBetween(db, "openssl", "3.1.1-r0", "3.1.4-r0"), [
      "CVE-2023-0001",
      "CVE-2023-0002",
      "CVE-2023-0003",
    ]);
    assert.deepEqual(fixedBetween(db, "openssl", "3.1.2-r0", "3.1.3-r0"), []);
    assert.deepEqual(
      missingFixes(db, "openssl", "3.1.2-r0").map((f) => f.version),
      ["3.1.4-r0"],
    );
    assert.deepEqual(missingFixes(db, "zlib", "1.0-r0"), [], "a package the database does not list");
    const notes = securityNotes(db, { x86_64: { openssl: "3.1.2-r0" } }, { x86_64: { openssl: "3.1.1-r0" } });
    assert.deepEqual(notes.fixes, { x86_64: { openssl: ["CVE-2023-0001"] } });
    assert.deepEqual(notes.notices, [
      "x86_64: openssl 3.1.1-r0 -> 3.1.2-r0 fixes CVE-2023-0001",
      "x86_64: openssl 3.1.2-r0 is below the fix for CVE-2023-0002, CVE-2023-0003 (fixed in 3.1.4-r0)",
    ]);
  });

  test("malformed databases are refused naming the file and entry", () => {
    const bad: [string, RegExp][] = [
      ["{", /^db\.json: not JSON/],
      ["{}", /has a `packages` list/],
      [JSON.stringify({ packages: [{ pkg: {} }] }), /packages\[0\]\.pkg\.name is missing/],
      [
        secdb({ x: { "1.0/../../x": ["CVE-1"] } }),
        /packages\[0\]\.pkg\.secfixes \(x\): "1\.0\/\.\.\/\.\.\/x" is not an apk version/,
      ],
      [
        JSON.stringify({ packages: [{ pkg: { name: "x", secfixes: { "1.0-r0": "CVE-1" } } }] }),
        /1\.0-r0: not a list of ids/,
      ],
    ];
    for (const [text, re] of bad) {
      assert.throws(
        () => parseSecurityDb(text, "db.json"),
        (err: unknown) => isDistrolessError(err, "E_FORMAT") && re.test(err.message),
        text,
      );
    }
  });

  test("a URL is fetched once, then revalidated with one conditional request; offline uses the copy", async () => {
    const server = await new StaticServer()
      .set("/v3.19/main.json", Buffer.from(secdb({ musl: { "1.2.4-r1": ["CVE-2024-1"] } })))
      .start();
    const cacheDir = tempDir();
    const url = `${server.url}/v3.19/main.json`;
    const first = await loadSecurityDbs([url], new RepositoryClient({ cacheDir, env: {} }));
    assert.deepEqual(fixedBetween(first, "musl", "1.2.4-r0", "1.2.4-r1"), ["CVE-2024-1"]);
    await loadSecurityDbs([url], new RepositoryClient({ cacheDir, env: {} }));
    assert.deepEqual(
      server.requests.map((r) => [r.conditional, r.status]),
      [
        [false, 200],
        [true, 304],
      ],
    );
    const offline = await loadSecurityDbs([url], new RepositoryClient({ cacheDir, env: {}, offline: true }));
    assert.deepEqual(fixedBetween(offline, "musl", "1.2.4-r0", "1.2.4-r1"), ["CVE-2024-1"]);
    await assert.rejects(
      loadSecurityDbs([url], new RepositoryClient({ cacheDir: tempDir(), env: {}, offline: true })),
      /offline, and the cache .* holds no security database/,
    );
  });

  test("lock --security-db marks packages below a fix and warns", needsFixtures(), async () => {
    const dir = tempDir();
    const file = path.join(dir, "security.json");
    await fsp.writeFile(
      file,
      secdb({ "pretend-baselayout": { "1.0.1-r0": ["CVE-2026-4242"], "1.0.0-r0": ["CVE-2026-1"] } }),
    );
    const res = await runCli([
      "lock",
      fixture("configs", "apko", "apko.yaml"),
      "--arch",
      "x86_64",
      "--cache-dir",
      path.join(dir, "cache"),
      "--security-db",
      file,
    ]);
    assert.equal(res.code, 0, res.stderr);
    const lock = JSON.parse(res.stdout) as Record<string, { name: string; belowFix?: unknown }[]>;
    const base = lock.x86_64!.find((p) => p.name === "pretend-baselayout")!;
    assert.deepEqual(base.belowFix, [{ fixedIn: "1.0.1-r0", ids: ["CVE-2026-4242"] }]);
    assert.match(
      res.stderr,
      /warning: x86_64: pretend-baselayout 1\.0\.0-r0 is below the fix for CVE-2026-4242 \(fixed in 1\.0\.1-r0\)/,
    );
  });
});
