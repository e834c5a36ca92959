import * as assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import { assembleImage } from "../../provider/image/assemble";
import { loadApkoConfig } from "../../provider/image/config";
import { formatInstalledDb, parseInstalledDb, viewRecord } from "../../provider/image/installed-db";
import { formatTriggers, parseTriggers } from "../../provider/image/scripts";
import { isDistrolessError } from "../../provider/util/errors";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { fileText, readLayer, resolvedPlans } from "./image-helpers";

const dbFiles = () => [
  fixture("installed-db", "installed"),
  ...readdirSync(fixture("installed-db", "samples")).map((f) => fixture("installed-db", "samples", f)),
];

/** The record header keys, in order, with the optional `r` (replaces) left out. */
const headerKeys = (lines: [string, string][]) => {
  const firstDir = lines.findIndex(([k]) => k === "F");
  return (firstDir < 0 ? lines : lines.slice(0, firstDir)).map(([k]) => k);
};

describe("installed database", () => {
  test("every fixture database parses and formats back byte for byte", needsFixtures(), () => {
    for (const file of dbFiles()) {
      const text = readFileSync(file, "utf8");
      const records = parseInstalledDb(text, file);
      assert.ok(records.length > 0, file);
      assert.equal(formatInstalledDb(records), text, `${file} round-trips`);
    }
  });

  test("records read the way apk reads them (dirs, files, modes, checksums)", needsFixtures(), () => {
    const wolfi = parseInstalledDb(readFileSync(fixture("installed-db", "samples", "wolfi-base"), "utf8"));
    const base = viewRecord(wolfi[0]!);
    assert.equal(base.name, "wolfi-baselayout");
    assert.deepEqual(base.provides, ["merged-bin", "merged-lib", "merged-sbin", "merged-usrsbin"]);
    const mtab = base.files.find((f) => f.path === "etc/mtab")!;
    assert.equal(mtab.mode, 0o777);
    assert.equal(base.files.find((f) => f.path === "etc/shadow")!.mode, 0o600);
    assert.equal(
      base.files.find((f) => f.path === "etc/os-release")!.checksum,
      "Q10IRmjfdqeyjY/KWPljjFxfRUyVA=",
    );
    assert.ok(base.dirs.some((d) => d.path === "var/spool/cron"));
    // apk-tools' own layout (C: first, M: after R:) reads too.
    const apkTools = parseInstalledDb(readFileSync(fixture("installed-db", "installed"), "utf8")).map((r) =>
      viewRecord(r),
    );
    assert.deepEqual(apkTools.map((p) => p.name).slice(0, 3), ["alpine-baselayout-data", "musl", "busybox"]);
    const odd = viewRecord(
      parseInstalledDb(readFileSync(fixture("installed-db", "samples", "bad-top-level-perms"), "utf8"))[0]!,
    );
    assert.equal(odd.files.find((f) => f.path === "operator")!.mode, 0o777);
  });

  test("a malformed line is an error naming the line", () => {
    assert.throws(
      () => parseInstalledDb("P:x\nV:1\nthis is not a field\n", "db"),
      (e) => isDistrolessError(e, "E_FORMAT") && /line 3/.test(e.message) && e.message.startsWith("db:"),
    );
  });

  test("triggers and scripts.tar from apk-tools read back", needsFixtures(), async () => {
    const text = readFileSync(fixture("installed-db", "triggers"), "utf8");
    const triggers = parseTriggers(text);
    assert.deepEqual(triggers[0]!.paths, ["/bin", "/usr/bin", "/sbin", "/usr/sbin", "/lib/modules/*"]);
    assert.equal(formatTriggers(triggers), text);
    const db = parseInstalledDb(readFileSync(fixture("installed-db", "installed"), "utf8")).map((r) =>
      viewRecord(r),
    );
    const checksums = new Map(db.map((p) => [`${p.name}-${p.version}`, p.checksum]));
    // The triggers line belongs to busybox, by its C: checksum.
    assert.equal(triggers[0]!.checksum, checksums.get("busybox-1.35.0-r17"));
    const scripts = await readTarBuffer(readFileSync(fixture("installed-db", "scripts.tar")));
    assert.equal(scripts.length, 7);
    for (const s of scripts) {
      const m =
        /^(.+)\.(Q1[A-Za-z0-9+/=]{28})\.(pre|post)-(install|upgrade|deinstall)$|^(.+)\.(Q1[A-Za-z0-9+/=]{28})\.trigger$/.exec(
          s.header.name,
        );
      assert.ok(m, s.header.name);
      const pkg = m[1] ?? m[5]!;
      assert.ok(checksums.has(pkg), `${pkg} is installed`);
      assert.equal(s.header.mode, 0o755);
    }
  });

  test("the database we write for the fixture packages has apko's format", needsFixtures(), async () => {
    const dir = tempDir();
    const config = await loadApkoConfig(fixture("configs", "apko", "apko.yaml"));
    const { plans, keys } = await resolvedPlans(config, path.join(dir, "cache"), ["x86_64"]);
    await assembleImage({
      config,
      plans,
      keys,
      cacheDir: path.join(dir, "cache"),
      outputDir: path.join(dir, "oci"),
    });
    const layer = await readLayer(path.join(dir, "oci"), "amd64");
    const text = fileText(layer, "usr/lib/apk/db/installed")!;
    const ours = parseInstalledDb(text);
    assert.equal(formatInstalledDb(ours), text);
    // Same header field order as the database apko wrote for wolfi-base (r: only when replacing).
    const apko = parseInstalledDb(readFileSync(fixture("installed-db", "samples", "wolfi-base"), "utf8"));
    const expected = headerKeys(apko[0]!.lines);
    assert.deepEqual(expected, [
      "P",
      "V",
      "A",
      "L",
      "T",
      "o",
      "m",
      "U",
      "D",
      "p",
      "c",
      "i",
      "t",
      "S",
      "I",
      "k",
      "C",
    ]);
    for (const r of ours) {
      assert.deepEqual(
        headerKeys(r.lines).filter((k) => k !== "r"),
        expected,
      );
    }
    const [base, replayout] = ours.map((r) => viewRecord(r));
    assert.equal(base!.name, "pretend-baselayout");
    assert.equal(replayout!.name, "replayout");
    assert.deepEqual(replayout!.replaces, ["pretend-baselayout"]);
    // replayout took etc/os-release over; the old owner's record no longer lists it.
    assert.ok(!base!.files.some((f) => f.path === "etc/os-release"), "overwritten file dropped");
    assert.ok(
      base!.dirs.some((d) => d.path === "etc"),
      "directories stay",
    );
    const osRelease = replayout!.files.find((f) => f.path === "etc/os-release")!;
    // The package's own owner and mode are kept in the database (the layer has 0:0).
    assert.deepEqual([osRelease.uid, osRelease.gid, osRelease.mode], [501, 20, 0o644]);
    assert.deepEqual(scriptsOf(layer), Buffer.alloc(1024), "no scripts: an empty tar");
    assert.equal(fileText(layer, "usr/lib/apk/db/triggers"), "");
  });
});

function scriptsOf(layer: Awaited<ReturnType<typeof readLayer>>): Buffer {
  return layer.find((e) => e.header.name === "usr/lib/apk/db/scripts.tar")!.data;
}
