import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { assembleImage } from "../../provider/image/assemble";
import { loadApkoConfig, parseApkoConfig } from "../../provider/image/config";
import { parseInstalledDb, viewRecord } from "../../provider/image/installed-db";
import { OciLayout } from "../../provider/image/oci-layout";
import type { ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { applyOverrides } from "../../provider/image/pipeline";
import { DistrolessError } from "../../provider/util/errors";
import { tempDir } from "../helpers/tmp";
import {
  BASE_PACKAGES,
  type BaseFixture,
  basePackagesFor,
  configText,
  makeBase,
  onBaseConfig,
} from "./base-image-helpers";
import { fileText, resolvedPlans, testKey, writeRepo } from "./image-helpers";
import { buildOurs, readLayers } from "./layering-helpers";

async function imageOf(
  layoutDir: string,
): Promise<{ manifest: ImageManifest; config: Record<string, unknown> }> {
  const layout = new OciLayout(layoutDir);
  const top = await layout.readIndex();
  const index = await layout.readJsonBlob<ImageIndex>(top.manifests[0]!.digest);
  const manifest = await layout.readJsonBlob<ImageManifest>(index.manifests[0]!.digest);
  return { manifest, config: await layout.readJsonBlob(manifest.config.digest) };
}

describe("contents.baseimage", () => {
  const dir = tempDir();
  let fx: BaseFixture;
  before(async () => {
    fx = await makeBase(dir);
  });

  test("the config reads both paths relative to the config file", () => {
    const config = parseApkoConfig(
      "contents:\n  baseimage:\n    image: ./base\n    apkindex: idx\n",
      path.join(dir, "sub", "a.yaml"),
    );
    assert.deepEqual(config.contents.baseImage, {
      image: path.join(dir, "sub", "base"),
      apkindex: path.join(dir, "sub", "idx"),
      written: { image: "./base", apkindex: "idx" },
    });
  });

  for (const [field, yaml] of [
    ["entrypoint", "entrypoint: { command: /bin/sh }"],
    ["environment", "environment: { A: b }"],
    ["accounts", "accounts: { run-as: '65532' }"],
    ["annotations", "annotations: { a: b }"],
    ["layering", "layering: { strategy: origin, budget: 2 }"],
  ] as const) {
    test(`${field} next to a base image is refused with its line, as apko refuses it`, () => {
      assert.throws(
        () =>
          parseApkoConfig(
            `contents:\n  baseimage: { image: a, apkindex: b }\n${yaml}\n`,
            path.join(dir, "refused.yaml"),
          ),
        (err: Error) => err.message.includes(field) && err.message.includes("refused.yaml:3"),
      );
    });
  }

  test("a base image needs both image and apkindex", () => {
    assert.throws(
      () => parseApkoConfig("contents:\n  baseimage: { image: a }\n", path.join(dir, "half.yaml")),
      /apkindex/,
    );
  });

  test("our packages go on top: base layer kept, base packages satisfied by the base", async () => {
    const out = path.join(dir, "on-base");
    const result = await buildOurs(onBaseConfig(fx, "app", ["app"]), out, path.join(dir, "cache"));
    const baseLayer = fx.base.platforms[0]!.layers[0]!;
    const p = result.platforms[0]!;
    assert.equal(p.layers.length, 2);
    assert.equal(p.layers[0]!.digest, baseLayer.digest, "the base's layer, byte for byte");
    assert.equal(p.layers[0]!.diffId, baseLayer.diffId);
    assert.ok(await new OciLayout(out).hasBlob(baseLayer.digest), "the base's blob is in the output layout");
    // app depends on libfoo: the base's 1.0 satisfies it, the repository's 2.0 is not installed.
    assert.deepEqual(
      result.lockedPackages.x86_64!.map((l) => `${l.name}-${l.version}`),
      ["app-1.0-r0"],
    );

    const { manifest, config } = await imageOf(out);
    assert.equal(manifest.layers[0]!.digest, baseLayer.digest);
    const rootfs = config.rootfs as { diff_ids: string[] };
    assert.deepEqual(rootfs.diff_ids, [baseLayer.diffId, p.layers[1]!.diffId]);
    assert.equal((config.history as unknown[]).length, 2, "the base's history, then ours");

    const layers = await readLayers(out, "amd64");
    const top = layers[1]!;
    const names = new Set(top.map((e) => e.header.name));
    assert.ok(names.has("usr/bin/app"));
    assert.ok(!names.has("usr/lib/libfoo.so.1"), "the base's files stay in the base layer");
    assert.ok(!names.has("usr/lib/libfoo.so.2"));
    const db = parseInstalledDb(fileText(top, "usr/lib/apk/db/installed")!).map((r) => viewRecord(r));
    assert.deepEqual(
      db.map((r) => `${r.name}-${r.version}`),
      ["baselayout-1.0-r0", "libfoo-1.0-r0", "app-1.0-r0"],
      "the installed database continues the base's",
    );
    // The base's records are carried over byte for byte.
    const baseDb = fileText(layers[0]!, "usr/lib/apk/db/installed")!;
    assert.ok(fileText(top, "usr/lib/apk/db/installed")!.startsWith(baseDb));
    assert.equal(fileText(top, "etc/apk/world"), "app=1.0-r0\nbaselayout=1.0-r0\nlibfoo=1.0-r0\n");
    const apkoJson = JSON.parse(fileText(top, "etc/apko.json")!) as { contents: Record<string, unknown> };
    assert.deepEqual(apkoJson.contents.baseimage, { image: fx.image, apkindex: fx.apkindex });
    assert.deepEqual(apkoJson.contents.packages, ["app=1.0-r0"]);
  });

  test("a package that needs a newer version of a base package is refused, as apko refuses it", async () => {
    await assert.rejects(
      buildOurs(
        onBaseConfig(fx, "newer", ["needs-new-foo"]),
        path.join(dir, "newer"),
        path.join(dir, "cache"),
      ),
      (err: Error) =>
        err instanceof DistrolessError && err.code === "E_RESOLVE" && /libfoo/.test(err.message),
    );
  });

  test("a base without an installed list for the image's arch is refused, naming the arch", async () => {
    const file = path.join(dir, "arm.apko.yaml");
    writeFileSync(
      file,
      configText(fx, [
        "  packages: [app]",
        `  baseimage: { image: ${fx.image}, apkindex: ${fx.apkindex} }`,
      ]).replace("archs: [x86_64]", "archs: [aarch64]"),
    );
    const config = await loadApkoConfig(file);
    await assert.rejects(
      buildOurs(file, path.join(dir, "arm"), path.join(dir, "cache"), config.archs),
      (err: Error) => /contents\.baseimage\.apkindex: .*aarch64\/APKINDEX does not exist/.test(err.message),
    );
  });

  test("a base given as an override still refuses what apko refuses next to one", async () => {
    const file = path.join(dir, "with-cmd.apko.yaml");
    writeFileSync(file, configText(fx, ["  packages: [app]"]).replace("archs:", "cmd: /usr/bin/app\narchs:"));
    const config = applyOverrides(await loadApkoConfig(file), {
      baseImage: { image: fx.image, apkindex: fx.apkindex },
    });
    const { plans, keys } = await resolvedPlans(config, path.join(dir, "cache"));
    await assert.rejects(
      assembleImage({
        config,
        plans,
        keys,
        cacheDir: path.join(dir, "cache"),
        outputDir: path.join(dir, "cmd"),
      }),
      (err: Error) =>
        err instanceof DistrolessError && /cmd cannot be set with contents\.baseimage/.test(err.message),
    );
  });
});

describe("contents.baseimage, multi-arch", () => {
  const dir = tempDir();

  test("a base that is an image index: each arch builds on its own image", async () => {
    const repo = path.join(dir, "repo");
    const signing = await testKey();
    const key = await writeRepo(repo, "x86_64", BASE_PACKAGES, signing);
    await writeRepo(repo, "aarch64", basePackagesFor("aarch64"), signing);
    const archs = ["x86_64", "aarch64"];
    const baseConfig = path.join(dir, "base.apko.yaml");
    writeFileSync(baseConfig, configText({ repo, key }, ["  packages: [baselayout, libfoo=1.0-r0]"], archs));
    const image = path.join(dir, "base-oci");
    const base = await buildOurs(baseConfig, image, path.join(dir, "cache"));
    const apkindex = path.join(dir, "apkindex");
    for (const [arch, oci] of [
      ["x86_64", "amd64"],
      ["aarch64", "arm64"],
    ] as const) {
      const [layer] = await readLayers(image, oci);
      mkdirSync(path.join(apkindex, arch), { recursive: true });
      writeFileSync(path.join(apkindex, arch, "APKINDEX"), fileText(layer!, "usr/lib/apk/db/installed")!);
    }
    const config = path.join(dir, "app.apko.yaml");
    writeFileSync(
      config,
      configText(
        { repo, key },
        ["  packages: [app]", `  baseimage: { image: ${image}, apkindex: ${apkindex} }`],
        archs,
      ),
    );
    const result = await buildOurs(config, path.join(dir, "out"), path.join(dir, "cache"));
    assert.equal(result.platforms.length, 2);
    for (const p of result.platforms) {
      const baseLayer = base.platforms.find((b) => b.arch === p.arch)!.layers[0]!;
      assert.equal(p.layers[0]!.digest, baseLayer.digest, `${p.arch} sits on its own base image`);
      assert.deepEqual(
        result.lockedPackages[p.arch]!.map((l) => l.name),
        ["app"],
      );
    }
    // The SBOM lists the base's packages and ours.
    const sbom = result.sboms.find((s) => s.arch === "aarch64")!;
    const doc = JSON.parse(
      (await new OciLayout(path.join(dir, "out")).readBlob(sbom.descriptor.digest)).toString("utf8"),
    ) as { packages: { name: string }[] };
    const names = doc.packages.map((p) => p.name);
    for (const n of ["baselayout", "libfoo", "app"]) assert.ok(names.includes(n), `SBOM lists ${n}`);
  });
});
