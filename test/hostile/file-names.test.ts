import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as zlib from "node:zlib";
import { readApkHead, scanApkData } from "../../provider/apk/apk-reader";
import { writeApk } from "../../provider/apk/apk-writer";
import { decodeName } from "../../provider/archive/raw-names";
import { MAX_ENTRY_NAME_BYTES } from "../../provider/archive/safe-path";
import { encodeHeader, newHeader, paddingFor } from "../../provider/archive/tar-header";
import { assembleImage } from "../../provider/image/assemble";
import { validateApkoConfig } from "../../provider/image/config";
import { OciLayout } from "../../provider/image/oci-layout";
import type { ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import {
  assertNothingInstalled,
  dataTar,
  expectRefusal,
  pkginfoText,
  type RawEntry,
  rawApk,
} from "../helpers/hostile-apk";
import { tempDir } from "../helpers/tmp";
import { dir, directPlan, file, fileText, pkgInfo, readLayer, withParents } from "../image/image-helpers";

/**
 * Issue #9 items 3 and 12: file names are refused when they could forge installed-db records
 * (control characters, as apk-tools does) or when apk-tools says "File name too long". Names that
 * are not UTF-8 keep their bytes (two of them used to merge into one file). Names round-trip
 * exactly, and package owners reach the layer as the db records them.
 */

function writeRaw(root: string, entries: RawEntry[] | Buffer): string {
  const f = path.join(root, "repo", "x86_64", "names-1.0-r0.apk");
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, rawApk(pkginfoText("names"), entries));
  return f;
}

async function assemble(root: string, apk: string) {
  return assembleImage({
    config: validateApkoConfig({ archs: ["x86_64"] }, "names.yaml"),
    plans: [await directPlan("x86_64", [apk])],
    cacheDir: path.join(root, "cache"),
    outputDir: path.join(root, "oci"),
    keys: [],
  });
}

/** The scan refuses before the hostile entry reaches any consumer, and the image build writes nothing. */
async function refusedEverywhere(
  entries: RawEntry[] | Buffer,
  pattern: RegExp,
  seenBefore: string[],
): Promise<void> {
  const root = tempDir();
  const apk = writeRaw(root, entries);
  const seen: string[] = [];
  await assert.rejects(
    scanApkData(await readApkHead(apk), async (e) => {
      seen.push(e.path);
    }),
    (err) => expectRefusal(err, "E_HOSTILE", pattern, apk),
  );
  assert.deepEqual(seen, seenBefore, "nothing from the hostile entry on reached the consumer");
  await assert.rejects(assemble(root, apk), (err) => expectRefusal(err, "E_HOSTILE", pattern));
  assertNothingInstalled(root);
}

/** A PAX header (`x`) entry whose `path` record holds exactly these bytes. */
function paxPathEntry(pathBytes: Buffer): Buffer {
  const body = (len: number) => Buffer.concat([Buffer.from(`${len} path=`), pathBytes, Buffer.from("\n")]);
  let len = body(0).length;
  while (body(len).length !== len) len = body(len).length;
  const data = body(len);
  const header = encodeHeader(newHeader({ name: "PaxHeaders/x", type: "pax", size: data.length }));
  return Buffer.concat([header, data, Buffer.alloc(paddingFor(data.length))]);
}

describe("hostile file names", () => {
  test("a newline in a name (a forged installed-db record) is refused, naming package and path", async () => {
    await refusedEverywhere(
      [
        { name: "tmp", type: "directory" },
        // A body big enough for the shared file store, read before the hostile entry: it must not stay.
        { name: "tmp/big", body: Buffer.alloc(64 << 10, "b") },
        { name: "tmp/x\nF:etc\nR:shadow\nZ:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=", body: "root::0:0::/:/bin/sh\n" },
      ],
      /names-1\.0-r0: archive entry "tmp\/x\\nF:etc\\nR:shadow.*" contains a control character/,
      ["tmp", "tmp/big"],
    );
  });

  for (const [what, name, shown] of [
    ["a terminal escape", "usr/bin/\u001b[2Jls", "usr/bin/\\x1b[2Jls"],
    ["DEL", "usr/bin/l\u007fs", "usr/bin/l\\x7fs"],
    ["a carriage return", "etc/pass\rwd", "etc/pass\\x0dwd"],
  ] as const) {
    test(`${what} in a name is refused, shown escaped`, async () => {
      const escaped = shown.replace(/[[\]\\/]/g, (c) => `\\${c}`);
      await refusedEverywhere(
        [{ name, body: "x" }],
        new RegExp(`archive entry "${escaped}" contains a control character`),
        [],
      );
    });
  }

  test("names that are not UTF-8 keep their bytes: two stay two files, in the layer and the installed db", async () => {
    const latin1 = (s: string) => Buffer.from(s, "latin1");
    const root = tempDir();
    // Two Latin-1 names (a lossy decode made both "usr/caf\uFFFD"), and one through a PAX path record.
    const tar = Buffer.concat([
      dataTar([
        { name: "usr", type: "directory" },
        { name: latin1("usr/caf\u00e9"), body: "first" },
        { name: latin1("usr/caf\u00e8"), body: "second" },
      ]).subarray(0, -1024),
      paxPathEntry(latin1("usr/na\u00efve")),
      dataTar([{ name: "placeholder", body: "third" }]),
    ]);
    const apk = writeRaw(root, tar);
    await assemble(root, apk);
    const layer = await readLayer(path.join(root, "oci"), "amd64");
    const gz = readFileSync(
      path.join(root, "oci", "blobs", "sha256", (await layerDigest(path.join(root, "oci"))).slice(7)),
    );
    const layerFile = path.join(root, "layer.tar");
    writeFileSync(layerFile, zlib.gunzipSync(gz));
    // GNU tar, an independent reader, lists the exact bytes (it shows them as octal escapes).
    const listed = spawnSync("tar", ["-tf", layerFile, "--quoting-style=escape"], {
      encoding: "utf8",
    }).stdout;
    for (const name of ["usr/caf\\351", "usr/caf\\350", "usr/na\\357ve"]) {
      assert.ok(listed.split("\n").includes(name), `${name} in:\n${listed}`);
    }
    const body = (name: Buffer) => layer.find((e) => e.header.name === decodeName(name))?.data.toString();
    assert.equal(body(latin1("usr/caf\u00e9")), "first");
    assert.equal(body(latin1("usr/caf\u00e8")), "second");
    assert.equal(body(latin1("usr/na\u00efve")), "third");
    const db = spawnSync("tar", ["-xOf", layerFile, "usr/lib/apk/db/installed"]).stdout as Buffer;
    for (const n of ["caf\u00e9", "caf\u00e8", "na\u00efve"]) {
      assert.ok(db.includes(latin1(`\nR:${n}\n`)), `R:${n} as its bytes in the installed db`);
    }
  });

  test("a 5,000-character path is refused as apk-tools does (File name too long)", async () => {
    const long = `usr/${"a".repeat(4996)}`;
    await refusedEverywhere(
      [{ name: long, body: "x" }],
      /names-1\.0-r0: archive entry "usr\/a+\.\.\." is 5000 bytes long: File name too long/,
      [],
    );
    await refusedEverywhere(
      [{ name: "usr/link", type: "symlink", link: `/${"b".repeat(5000)}` }],
      /usr\/link: link target of 5001 bytes: File name too long/,
      [],
    );
    // One byte under apk-tools' limit still reads.
    const root = tempDir();
    const atLimit = `usr/${"c/".repeat((MAX_ENTRY_NAME_BYTES - 5) / 2)}d`.slice(0, MAX_ENTRY_NAME_BYTES);
    assert.equal(Buffer.byteLength(atLimit), MAX_ENTRY_NAME_BYTES);
    const seen: string[] = [];
    await scanApkData(await readApkHead(writeRaw(root, [{ name: atLimit, body: "x" }])), async (e) => {
      seen.push(e.path);
    });
    assert.equal(seen.length, 1);
  });

  test("UTF-8 names round-trip into the layer and the installed db; package owners into the db (the layer is root-owned, as apko writes it)", async () => {
    const root = tempDir();
    const apk = path.join(root, "repo", "x86_64", "owners-1.0-r0.apk");
    await writeApk({
      pkginfo: pkgInfo("owners", "1.0-r0", "x86_64"),
      entries: withParents([
        { ...file("usr/share/doc/caf\u00e9/\u65e5\u672c.txt", "utf-8\n"), uid: 1000, gid: 1001 },
        { ...dir("var/lib/app", 0o750), uid: 1000, gid: 1000 },
        file("etc/root-owned", "root\n"),
      ]),
      output: apk,
    });
    await assemble(root, apk);
    const layer = await readLayer(path.join(root, "oci"), "amd64");
    const entry = (n: string) => {
      const e = layer.find((x) => x.header.name === n);
      assert.ok(e, `${n} in the layer (have ${layer.map((x) => x.header.name).join(", ")})`);
      return e.header;
    };
    const doc = entry("usr/share/doc/caf\u00e9/\u65e5\u672c.txt");
    assert.deepEqual([doc.uid, doc.gid], [0, 0]);
    const data = entry("var/lib/app");
    assert.deepEqual([data.uid, data.gid, data.mode], [0, 0, 0o750]);
    const rootOwned = entry("etc/root-owned");
    assert.deepEqual([rootOwned.uid, rootOwned.gid], [0, 0]);
    const db = fileText(layer, "usr/lib/apk/db/installed")!;
    assert.match(db, /\nF:usr\/share\/doc\/caf\u00e9\nR:\u65e5\u672c\.txt\na:1000:1001:0644\n/);
    assert.match(db, /\nF:var\/lib\/app\nM:1000:1000:0750\n/);
  });
});

async function layerDigest(layoutDir: string): Promise<string> {
  const layout = new OciLayout(layoutDir);
  const top = await layout.readIndex();
  const ref = top.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === "latest")!;
  const index = await layout.readJsonBlob<ImageIndex>(ref.digest);
  const manifest = await layout.readJsonBlob<ImageManifest>(index.manifests[0]!.digest);
  return manifest.layers[0]!.digest;
}
