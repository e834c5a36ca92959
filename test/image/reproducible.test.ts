import * as assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { assembleImage } from "../../provider/image/assemble";
import { loadApkoConfig, validateApkoConfig } from "../../provider/image/config";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import {
  dir,
  file,
  pkgInfo,
  resolvedPlans,
  snapshot,
  testKey,
  withParents,
  writeRepo,
} from "./image-helpers";

describe("reproducible images", () => {
  test(
    "building twice (fresh caches, fresh layouts) gives byte-identical blobs",
    needsFixtures(),
    async () => {
      const root = tempDir();
      const config = await loadApkoConfig(fixture("configs", "apko", "base_image.apko.yaml"));
      const build = async (n: number, epoch?: number) => {
        const cache = path.join(root, `cache-${n}`);
        const { plans, keys } = await resolvedPlans(config, cache);
        const outputDir = path.join(root, `oci-${n}`);
        const result = await assembleImage({
          config,
          plans,
          keys,
          cacheDir: cache,
          outputDir,
          sbomDir: path.join(root, `sbom-${n}`),
          ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
        });
        return {
          result,
          blobs: await snapshot(outputDir),
          sboms: await snapshot(path.join(root, `sbom-${n}`)),
        };
      };
      const one = await build(1);
      const two = await build(2);
      assert.equal(one.result.indexDigest, two.result.indexDigest);
      assert.deepEqual([...one.blobs.keys()].sort(), [...two.blobs.keys()].sort());
      for (const [name, bytes] of one.blobs)
        assert.ok(bytes.equals(two.blobs.get(name)!), `${name} identical`);
      assert.ok(one.sboms.size > 0, "SBOM files were written");
      assert.deepEqual([...one.sboms.keys()].sort(), [...two.sboms.keys()].sort());
      for (const [name, bytes] of one.sboms)
        assert.ok(bytes.equals(two.sboms.get(name)!), `${name} identical`);
      // Another epoch: another image (created times, scripts.tar mtimes, SBOMs), same file contents.
      const later = await build(3, 1_700_000_000);
      assert.notEqual(later.result.indexDigest, one.result.indexDigest);
      assert.equal(later.result.sourceDateEpoch, 1_700_000_000);
    },
  );

  test("changing one package's version changes the layer and the index", async () => {
    const root = tempDir();
    const key = await testKey("repro.rsa");
    const base = {
      info: pkgInfo("base", "1.0-r0", "x86_64"),
      entries: withParents([file("etc/os-release", "ID=repro\n")]),
    };
    const app = (version: string) => ({
      info: pkgInfo("app", version, "x86_64", { depends: ["base"] }),
      entries: withParents([dir("usr/bin"), file("usr/bin/app", "#!/bin/sh\necho app\n", 0o755)]),
    });
    const build = async (n: number, appVersion: string) => {
      // One repository path (it is written into etc/apk/repositories), rewritten for each build.
      const repo = path.join(root, "repo");
      const pub = await writeRepo(repo, "x86_64", [base, app(appVersion)], key);
      const config = validateApkoConfig(
        { contents: { repositories: [repo], keyring: [pub], packages: ["app"] }, archs: ["x86_64"] },
        "repro.yaml",
      );
      const { plans, keys } = await resolvedPlans(config, path.join(root, "cache"));
      return assembleImage({
        config,
        plans,
        keys,
        cacheDir: path.join(root, "cache"),
        outputDir: path.join(root, `oci-${n}`),
      });
    };
    const first = await build(1, "1.0-r0");
    const same = await build(2, "1.0-r0");
    const bumped = await build(3, "1.0-r1");
    assert.equal(
      same.indexDigest,
      first.indexDigest,
      "the repository rewritten with the same packages: same image",
    );
    assert.notEqual(bumped.indexDigest, first.indexDigest);
    assert.notEqual(bumped.platforms[0]!.diffId, first.platforms[0]!.diffId);
    assert.deepEqual(
      bumped.lockedPackages.x86_64!.map((p) => `${p.name}=${p.version}`),
      ["base=1.0-r0", "app=1.0-r1"],
    );
  });
});
