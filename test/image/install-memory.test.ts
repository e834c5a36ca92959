import * as assert from "node:assert/strict";
import * as path from "node:path";
import { test } from "node:test";
import { writeApk } from "../../provider/apk/apk-writer";
import { assembleImage } from "../../provider/image/assemble";
import { validateApkoConfig } from "../../provider/image/config";
import { type DbEntry, PackageEntries } from "../../provider/image/install-entries";
import { parseInstalledDb, viewRecord } from "../../provider/image/installed-db";
import { tempDir } from "../helpers/tmp";
import { dir, directPlan, file, fileText, pkgInfo, readLayer, symlink, withParents } from "./image-helpers";

/**
 * The compact forms the installer keeps per file (install-entries.ts, shared leaf metadata in
 * install.ts) must not change what an image says: these check the edges of each.
 */

test("PackageEntries gives back every entry as recorded (paths split at the last slash, moved ones)", () => {
  const entries: DbEntry[] = [
    { path: "top", resolved: "top", type: "file", mode: 0o644, uid: 0, gid: 0, sha1: "a".repeat(40) },
    { path: "usr/bin", resolved: "usr/bin", type: "dir", mode: 0o755, uid: 0, gid: 0 },
    { path: "usr/bin/tool", resolved: "usr/bin/tool", type: "file", mode: 0o4755, uid: 7, gid: 8 },
    { path: "lib/libc.so", resolved: "usr/lib/libc.so", type: "symlink", mode: 0o777, uid: 0, gid: 0 },
    {
      path: "usr/bin/again",
      resolved: "usr/bin/again",
      type: "hardlink",
      mode: 0o600,
      uid: 4294967294,
      gid: 1,
    },
    { path: "/abs/x", resolved: "abs/x", type: "file", mode: 0o7777, uid: 0, gid: 0 },
    { path: "dir/", resolved: "dir", type: "dir", mode: 0o700, uid: 0, gid: 0 },
  ];
  const packed = new PackageEntries();
  for (const e of entries) packed.push(e);
  assert.equal(packed.length, entries.length);
  assert.deepEqual(packed.list(), entries);
  assert.deepEqual(packed.at(3), entries[3]);
});

async function twoFilePackage(root: string): Promise<string> {
  const out = path.join(root, "repo", "x86_64", "pair-1.0-r0.apk");
  await writeApk({
    pkginfo: pkgInfo("pair", "1.0-r0", "x86_64", { builddate: 1700000000 }),
    // Same mode, owner and mtime: the installer gives both leaves one shared metadata object.
    entries: withParents([
      dir("etc/app"),
      file("etc/app/a.conf", "a\n"),
      file("etc/app/b.conf", "b\n"),
      file("etc/app/c.conf", "c\n"),
      symlink("etc/app/link-a", "a.conf"),
      symlink("etc/app/link-b", "b.conf"),
    ]),
    output: out,
    sourceDateEpoch: 1700000000,
  });
  return out;
}

test("a path mutation of one file leaves the files that shared its metadata alone, cold and warm", async () => {
  const root = tempDir();
  const apk = await twoFilePackage(root);
  const config = validateApkoConfig(
    {
      contents: { packages: ["pair"] },
      archs: ["x86_64"],
      paths: [
        { path: "/etc/app/a.conf", type: "permissions", permissions: 0o600, uid: 3, gid: 4 },
        // Through the link (paths follow symlinks): b.conf changes, link-b itself does not.
        { path: "/etc/app/link-b", type: "permissions", permissions: 0o640, uid: 5, gid: 6 },
      ],
    },
    "paths.yaml",
  );
  const plan = await directPlan("x86_64", [apk]);
  // The first build unpacks the package into the cache, the second installs from that copy.
  for (const round of ["cold", "warm"]) {
    const outputDir = path.join(root, `oci-${round}`);
    await assembleImage({ config, plans: [plan], cacheDir: path.join(root, "cache"), outputDir, keys: [] });
    const layer = await readLayer(outputDir, "amd64");
    const meta = (n: string) => {
      const h = layer.find((e) => e.header.name === n)?.header;
      assert.ok(h, `${round}: ${n} in the layer`);
      return [h.mode, h.uid, h.gid];
    };
    assert.deepEqual(meta("etc/app/a.conf"), [0o600, 3, 4], round);
    assert.deepEqual(meta("etc/app/b.conf"), [0o640, 5, 6], round);
    assert.deepEqual(meta("etc/app/c.conf"), [0o644, 0, 0], `${round}: c.conf kept its own`);
    assert.deepEqual(meta("etc/app/link-a"), [0o777, 0, 0], `${round}: link-a kept its own`);
    assert.deepEqual(meta("etc/app/link-b"), [0o777, 0, 0], `${round}: link-b kept its own`);
    // The installed database keeps the package's own modes and lists every file once.
    const record = parseInstalledDb(fileText(layer, "usr/lib/apk/db/installed")!).map((r) => viewRecord(r));
    const pair = record.find((p) => p.name === "pair")!;
    assert.deepEqual(
      pair.files.map((f) => [f.path, f.mode, f.uid, f.gid]),
      [
        ["etc/app/a.conf", 0o644, 0, 0],
        ["etc/app/b.conf", 0o644, 0, 0],
        ["etc/app/c.conf", 0o644, 0, 0],
        ["etc/app/link-a", 0o777, 0, 0],
        ["etc/app/link-b", 0o777, 0, 0],
      ],
      round,
    );
  }
  const blob = (round: string) => readLayer(path.join(root, `oci-${round}`), "amd64");
  assert.deepEqual(
    (await blob("cold")).map((e) => e.header),
    (await blob("warm")).map((e) => e.header),
    "cold and warm builds give the same layer",
  );
});
