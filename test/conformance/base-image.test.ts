/**
 * `contents.baseimage` against the real apko v1.2.37: a base built by our assembler, then one config
 * on it built by `apko lock` + `apko build --lockfile` (apko builds on a base only from a lock) and
 * by us. Compared: the lock, the layers (the base's byte for byte; ours entry by entry with every
 * header field and the content), the image config. Differences must be rows of the "Base images"
 * table in docs/conformance.md, and every row must still be needed.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { OciLayout } from "../../provider/image/oci-layout";
import type { ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { projectRoot } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { tool, toolSkip } from "../helpers/tools";
import { type BaseFixture, configText, makeBase, onBaseConfig } from "../image/base-image-helpers";
import { fileText, type LayerFile, run } from "../image/image-helpers";
import { buildOurs, readLayers } from "../image/layering-helpers";

interface Row {
  where: string;
  field: string;
}

function documentedRows(): Row[] {
  const text = readFileSync(path.join(projectRoot, "docs", "conformance.md"), "utf8");
  const section = text.split(/^## /m).find((s) => s.startsWith("Base images"));
  if (!section) throw new Error('docs/conformance.md has no "## Base images" section');
  const rows: Row[] = [];
  for (const line of section.split("\n")) {
    const m = /^\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|(.+)\|\s*$/.exec(line);
    if (m) rows.push({ where: m[1]!, field: m[2]! });
  }
  return rows;
}

const view = (e: LayerFile): Record<string, string> => ({
  type: e.header.type,
  mode: e.header.mode.toString(8),
  owner: `${e.header.uid}:${e.header.gid} ${e.header.uname}:${e.header.gname}`,
  mtime: String(e.header.mtime),
  linkname: e.header.linkname,
  content: createHash("sha256").update(e.data).digest("hex"),
});

function layerDifferences(apko: LayerFile[], ours: LayerFile[]): Row[] {
  const out: Row[] = [];
  const a = new Map(apko.map((e) => [e.header.name, view(e)]));
  const o = new Map(ours.map((e) => [e.header.name, view(e)]));
  for (const name of new Set([...a.keys(), ...o.keys()])) {
    const x = a.get(name);
    const y = o.get(name);
    if (!x || !y) {
      out.push({ where: name, field: x ? "missing" : "extra" });
      continue;
    }
    for (const k of Object.keys(x)) if (x[k] !== y[k]) out.push({ where: name, field: k });
  }
  const order = (l: LayerFile[]) => l.map((e) => e.header.name).join("\n");
  if (order(apko) !== order(ours)) out.push({ where: "(layer)", field: "order" });
  return out;
}

async function configOf(layoutDir: string): Promise<Record<string, unknown>> {
  const layout = new OciLayout(layoutDir);
  let desc = (await layout.readIndex()).manifests[0]!;
  if (desc.mediaType.includes("index"))
    desc = (await layout.readJsonBlob<ImageIndex>(desc.digest)).manifests[0]!;
  const manifest = await layout.readJsonBlob<ImageManifest>(desc.digest);
  return layout.readJsonBlob(manifest.config.digest);
}

async function manifestLayers(layoutDir: string): Promise<string[]> {
  const layout = new OciLayout(layoutDir);
  let desc = (await layout.readIndex()).manifests[0]!;
  if (desc.mediaType.includes("index"))
    desc = (await layout.readJsonBlob<ImageIndex>(desc.digest)).manifests[0]!;
  return (await layout.readJsonBlob<ImageManifest>(desc.digest)).layers.map((l) => l.digest);
}

/** `config` built on its base by apko (lock, then build from the lock) and by us; compared. */
async function compareOnBase(dir: string, name: string, config: string): Promise<void> {
  const lockFile = path.join(dir, `${name}.lock.json`);
  const apkoOut = path.join(dir, `${name}-apko`);
  const oursOut = path.join(dir, `${name}-ours`);
  mkdirSync(apkoOut, { recursive: true });
  const common = ["--arch", "x86_64", "--cache-dir", path.join(dir, "apko-cache")];
  const env = ["SOURCE_DATE_EPOCH=0", tool("apko")!];
  run("env", [...env, "lock", config, "--output", lockFile, ...common]);
  run("env", [
    ...env,
    "build",
    config,
    "test.local/on-base:latest",
    apkoOut,
    "--lockfile",
    lockFile,
    "--offline",
    "--vcs=false",
    "--sbom=false",
    ...common,
  ]);
  const ours = await buildOurs(config, oursOut, path.join(dir, "cache"));

  const apkoLock = JSON.parse(readFileSync(lockFile, "utf8")) as {
    contents: { packages: { name: string; version: string; checksum: string }[] };
  };
  assert.deepEqual(
    ours.lockedPackages.x86_64!.map((p) => [p.name, p.version, p.checksum]),
    apkoLock.contents.packages.map((p) => [p.name, p.version, p.checksum]),
    "the lock leaves the base's packages out, as apko's does",
  );

  const theirs = await readLayers(apkoOut, "amd64");
  const mine = await readLayers(oursOut, "amd64");
  assert.equal(mine.length, theirs.length, "layer count");
  const baseCount = mine.length - 1;
  assert.deepEqual(
    (await manifestLayers(oursOut)).slice(0, baseCount),
    (await manifestLayers(apkoOut)).slice(0, baseCount),
    "the base's layers, same digests",
  );

  const rows = documentedRows();
  const found = layerDifferences(theirs[baseCount]!, mine[baseCount]!);
  for (const d of found) {
    assert.ok(
      rows.some((r) => r.where === d.where && (r.field === "*" || r.field === d.field)),
      `undocumented difference in our layer: ${d.where} ${d.field}`,
    );
  }
  for (const r of rows) {
    assert.ok(
      found.some((d) => d.where === r.where),
      `docs/conformance.md "Base images" row ${r.where} is no longer needed`,
    );
  }

  const a = await configOf(apkoOut);
  const o = await configOf(oursOut);
  // author and history name the tool; everything a runtime sees is the same.
  for (const k of ["architecture", "os", "created", "config"]) assert.deepEqual(o[k], a[k], `config ${k}`);
  const ids = (c: Record<string, unknown>) => (c.rootfs as { diff_ids: string[] }).diff_ids;
  assert.deepEqual(ids(o).slice(0, baseCount), ids(a).slice(0, baseCount), "the base's diff_ids first");
  assert.equal(ids(o).length, ids(a).length);
  assert.equal((o.history as unknown[]).length, (a.history as unknown[]).length, "history entries");
}

describe("base images compared with apko build", toolSkip("apko"), () => {
  const dir = tempDir();
  let fx: BaseFixture;
  before(async () => {
    fx = await makeBase(dir);
  });

  test("on a base we built: the lock, the base's layers and our layer match apko's", async () => {
    await compareOnBase(dir, "app", onBaseConfig(fx, "app", ["app"]));
  });

  test("on a base apko built (its layout, its installed list): the same", async () => {
    const baseConfig = path.join(dir, "apko-base.apko.yaml");
    writeFileSync(baseConfig, configText(fx, ["  packages: [baselayout, libfoo=1.0-r0]"]));
    const image = path.join(dir, "apko-base-oci");
    mkdirSync(image, { recursive: true });
    run("env", [
      "SOURCE_DATE_EPOCH=0",
      tool("apko")!,
      "build",
      baseConfig,
      "test.local/base:latest",
      image,
      "--offline",
      "--vcs=false",
      "--sbom=false",
      "--arch",
      "x86_64",
      "--cache-dir",
      path.join(dir, "apko-cache"),
    ]);
    const [layer] = await readLayers(image, "amd64");
    const apkindex = path.join(dir, "apko-base-apkindex");
    mkdirSync(path.join(apkindex, "x86_64"), { recursive: true });
    writeFileSync(path.join(apkindex, "x86_64", "APKINDEX"), fileText(layer!, "usr/lib/apk/db/installed")!);
    const onApko = { ...fx, image, apkindex, dir: path.join(dir, "on-apko") };
    mkdirSync(onApko.dir, { recursive: true });
    await compareOnBase(dir, "on-apko", onBaseConfig(onApko, "app", ["app"]));
  });
});
