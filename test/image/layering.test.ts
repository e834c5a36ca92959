import * as assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { parseInstalledDb, viewRecord } from "../../provider/image/installed-db";
import { groupByOrigin } from "../../provider/image/layering";
import { OciLayout } from "../../provider/image/oci-layout";
import type { ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { pushLayout } from "../../provider/registry";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { type LayerFile, pkgInfo, testKey, writeRepo } from "./image-helpers";
import { buildOurs, LAYERING_PACKAGES, layeredConfig, readLayers } from "./layering-helpers";

describe("apko's origin grouping", () => {
  const info = (name: string, origin: string, size: number, replaces: string[] = []) =>
    pkgInfo(name, "1.0-r0", "x86_64", { origin, size, replaces });
  const names = (groups: { packages: string[] }[]) => groups.map((g) => g.packages);

  test("packages of one origin share a group; groups go biggest first", () => {
    const pkgs = [info("a", "a", 10), info("b", "big", 500), info("b-dev", "big", 5), info("c", "c", 50)];
    assert.deepEqual(names(groupByOrigin(pkgs, 10)), [["b", "b-dev"], ["c"], ["a"]]);
  });

  test("over budget, the budget-1 biggest keep a layer and the rest share the last one", () => {
    const pkgs = [info("a", "a", 10), info("b", "b", 500), info("c", "c", 50), info("d", "d", 1)];
    assert.deepEqual(names(groupByOrigin(pkgs, 2)), [["b"], ["a", "c", "d"]]);
    assert.deepEqual(names(groupByOrigin(pkgs, 4)), [["b"], ["c"], ["a"], ["d"]]);
    // A budget of 0 (or 1) still gives one package layer.
    assert.deepEqual(names(groupByOrigin(pkgs, 0)), [["a", "b", "c", "d"]]);
    assert.deepEqual(names(groupByOrigin(pkgs, 1)), [["a", "b", "c", "d"]]);
    assert.deepEqual(groupByOrigin([], 3), []);
  });

  test("equal sizes are ordered by the group's greatest package name", () => {
    const pkgs = [info("zeta", "z", 7), info("alpha", "a", 7), info("mid", "a", 0)];
    assert.deepEqual(names(groupByOrigin(pkgs, 5)), [["alpha", "mid"], ["zeta"]]);
  });

  test("a replacer joins the group of the package it replaces, when the version matches", () => {
    const pkgs = [
      info("libcrypt1", "glibc", 100),
      info("libxcrypt", "libxcrypt", 50, ["libcrypt1"]),
      info("other", "other", 70, ["libfoo<1.0"]),
      info("libfoo", "foo", 10),
      info("newer", "newer", 60, ["libfoo>=2"]),
    ];
    assert.deepEqual(names(groupByOrigin(pkgs, 10)), [
      ["libcrypt1", "libxcrypt"],
      ["other"],
      ["newer"],
      ["libfoo"],
    ]);
    const matching = [info("x", "x", 1, ["y=1.0-r0"]), info("y", "y", 2)];
    assert.deepEqual(names(groupByOrigin(matching, 10)), [["x", "y"]]);
  });
});

describe("layered images", () => {
  const dir = tempDir();
  before(async () => {
    const key = await testKey();
    await writeRepo(path.join(dir, "repo"), "x86_64", LAYERING_PACKAGES, key);
  });

  const build = (name: string, packages: string[], layering?: string) =>
    buildOurs(layeredConfig(dir, name, packages, layering), path.join(dir, name), path.join(dir, "cache"));

  test("the layers stacked in order give exactly the single-layer image's file system", async () => {
    const packages = ["base", "runtime", "runtime-doc", "app-a"];
    const single = await build("single", packages);
    const layered = await build("layered", packages, "{ strategy: origin, budget: 10 }");
    const layers = layered.platforms[0]!.layers;
    assert.deepEqual(
      layers.map((l) => l.packages),
      [["runtime", "runtime-doc"], ["app-a"], ["base"], []],
    );
    assert.equal(single.platforms[0]!.layers.length, 1);

    const [flat] = await readLayers(path.join(dir, "single"), "amd64");
    const stacked = new Map<string, LayerFile>();
    for (const layer of await readLayers(path.join(dir, "layered"), "amd64"))
      for (const e of layer) stacked.set(e.header.name, e);
    assert.deepEqual([...stacked.keys()].sort(), flat!.map((e) => e.header.name).sort());
    for (const e of flat!) {
      const got = stacked.get(e.header.name)!;
      if (e.header.name === "etc/apko.json") {
        // The locked config records the layering setting, as apko's does; nothing else differs.
        assert.match(got.data.toString(), /"layering":\{"strategy":"origin","budget":10\}/);
        continue;
      }
      assert.deepEqual({ ...got.header, pax: {} }, { ...e.header, pax: {} }, e.header.name);
      assert.ok(got.data.equals(e.data), `${e.header.name} content`);
    }
  });

  test("each package layer has its parents, its files and its own installed-db records; the top layer the rest", async () => {
    const layers = await readLayers(path.join(dir, "layered"), "amd64");
    const runtime = layers[0]!;
    const files = runtime.filter((e) => e.header.type !== "directory").map((e) => e.header.name);
    assert.deepEqual(files, [
      "usr/bin/runtime",
      "usr/lib/apk/db/installed",
      "usr/lib/runtime/libruntime.so",
      "usr/share/doc/runtime/README",
    ]);
    // Parent directories come before their files and take the file's mtime, not the tree's.
    const names = runtime.map((e) => e.header.name);
    for (const f of files) {
      for (let p = path.posix.dirname(f); p !== "."; p = path.posix.dirname(p)) {
        assert.ok(names.indexOf(p) >= 0 && names.indexOf(p) < names.indexOf(f), `${p} before ${f}`);
      }
    }
    const db = (layer: LayerFile[]) =>
      parseInstalledDb(
        layer.find((e) => e.header.name === "usr/lib/apk/db/installed")!.data.toString("utf8"),
      ).map((r) => viewRecord(r).name);
    assert.deepEqual(db(runtime), ["runtime", "runtime-doc"]);
    assert.deepEqual(db(layers[1]!), ["app-a"]);
    const top = layers[layers.length - 1]!;
    assert.deepEqual(db(top).sort(), ["app-a", "base", "runtime", "runtime-doc"]);
    assert.ok(top.some((e) => e.header.name === "etc/apko.json"));
    assert.ok(!top.some((e) => e.header.name === "usr/lib/runtime/libruntime.so"));
  });

  describe("two images sharing the runtime origin", () => {
    let registry: RegistryServer;
    before(async () => {
      registry = await startRegistry();
    });
    after(async () => {
      await registry?.stop();
    });

    test("share its layer digest, and the registry receives and stores it once", async () => {
      const a = await build(
        "share-a",
        ["base", "runtime", "runtime-doc", "app-a"],
        "{ strategy: origin, budget: 10 }",
      );
      const b = await build(
        "share-b",
        ["base", "runtime", "runtime-doc", "app-b"],
        "{ strategy: origin, budget: 10 }",
      );
      const la = a.platforms[0]!.layers;
      const lb = b.platforms[0]!.layers;
      assert.deepEqual(la[0]!.packages, ["runtime", "runtime-doc"]);
      assert.equal(la[0]!.digest, lb[0]!.digest, "the runtime layer is the same blob");
      assert.notEqual(a.indexDigest, b.indexDigest);
      assert.notEqual(la[la.length - 1]!.digest, lb[lb.length - 1]!.digest);

      await pushLayout({ layoutDir: path.join(dir, "share-a"), reference: `${registry.host}/layered/app:a` });
      const pushedB = await pushLayout({
        layoutDir: path.join(dir, "share-b"),
        reference: `${registry.host}/layered/app:b`,
      });
      // B uploads only the blobs A did not already put there.
      const blobsOf = async (layoutDir: string) => {
        const layout = new OciLayout(layoutDir);
        const index = await layout.readJsonBlob<ImageIndex>(
          (await layout.readIndex()).manifests.find((m) => m.mediaType.includes("index"))!.digest,
        );
        const out = new Map<string, number>();
        for (const m of index.manifests) {
          const manifest = await layout.readJsonBlob<ImageManifest>(m.digest);
          for (const d of [manifest.config, ...manifest.layers]) out.set(d.digest, d.size);
        }
        return out;
      };
      const inA = await blobsOf(path.join(dir, "share-a"));
      const inB = await blobsOf(path.join(dir, "share-b"));
      const onlyB = [...inB].filter(([d]) => !inA.has(d));
      assert.equal(pushedB.uploaded.blobs, onlyB.length);
      assert.equal(
        pushedB.uploaded.bytes,
        onlyB.reduce((n, [, size]) => n + size, 0),
      );
      assert.ok(!onlyB.some(([d]) => d === la[0]!.digest), "the shared layer is not uploaded again");
      const stored = readdirSync(path.join(registry.storageDir, "docker/registry/v2/blobs/sha256")).flatMap(
        (p) => readdirSync(path.join(registry.storageDir, "docker/registry/v2/blobs/sha256", p)),
      );
      assert.equal(stored.filter((h) => `sha256:${h}` === la[0]!.digest).length, 1);
    });
  });
});
