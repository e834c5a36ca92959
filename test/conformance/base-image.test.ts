/**
 * `contents.baseimage` against the real apko v1.2.37: a base built by our assembler, then one config
 * on it built by `apko lock` + `apko build --lockfile` (apko builds on a base only from a lock) and
 * by us. Compared: the lock, the layers (the base's byte for byte; ours entry by entry with every
 * header field and the content), the image config. Differences must be rows of the "Base images"
 * table in docs/conformance.md, and every row must still be needed.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { OciLayout } from "../../provider/image/oci-layout";
import type { ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { projectRoot } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { tool, toolSkip } from "../helpers/tools";
import { type BaseFixture, makeBase, onBaseConfig } from "../image/base-image-helpers";
import { type LayerFile, run } from "../image/image-helpers";
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

describe("base images compared with apko build", toolSkip("apko"), () => {
  const dir = tempDir();
  let fx: BaseFixture;
  before(async () => {
    fx = await makeBase(dir);
  });

  test("the lock, the base's layers and our layer on top match apko's (differences documented)", async () => {
    const config = onBaseConfig(fx, "app", ["app"]);
    const lockFile = path.join(dir, "app.lock.json");
    const apkoOut = path.join(dir, "apko-out");
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
    const ours = await buildOurs(config, path.join(dir, "ours-out"), path.join(dir, "cache"));

    const apkoLock = JSON.parse(readFileSync(lockFile, "utf8")) as {
      contents: { packages: { name: string; version: string; checksum: string }[] };
    };
    assert.deepEqual(
      ours.lockedPackages.x86_64!.map((p) => [p.name, p.version, p.checksum]),
      apkoLock.contents.packages.map((p) => [p.name, p.version, p.checksum]),
      "the lock leaves the base's packages out, as apko's does",
    );

    const theirs = await readLayers(apkoOut, "amd64");
    const mine = await readLayers(path.join(dir, "ours-out"), "amd64");
    assert.equal(mine.length, theirs.length, "layer count");
    assert.equal(ours.platforms[0]!.layers[0]!.digest, fx.base.platforms[0]!.layers[0]!.digest);
    assert.deepEqual(layerDifferences(theirs[0]!, mine[0]!), [], "the base layer");

    const rows = documentedRows();
    const found = layerDifferences(theirs[1]!, mine[1]!);
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
    const o = await configOf(path.join(dir, "ours-out"));
    // author and history name the tool; everything a runtime sees is the same.
    for (const k of ["architecture", "os", "created", "rootfs", "config"]) {
      if (k === "rootfs") {
        const ids = (c: Record<string, unknown>) => (c.rootfs as { diff_ids: string[] }).diff_ids;
        assert.equal(ids(o)[0], ids(a)[0], "the base's diff_id first");
        assert.equal(ids(o).length, ids(a).length);
      } else assert.deepEqual(o[k], a[k], `config ${k}`);
    }
    assert.equal((o.history as unknown[]).length, (a.history as unknown[]).length, "history entries");
  });
});
