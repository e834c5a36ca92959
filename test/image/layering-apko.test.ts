import * as assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import type { ApkArch } from "../../provider/image/config/arch";
import { needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { tool, toolSkip } from "../helpers/tools";
import { testKey, writeRepo } from "./image-helpers";
import {
  buildOurs,
  buildWithApko,
  entryList,
  fixtureConfigCopy,
  LAYERING_PACKAGES,
  layeredConfig,
  readLayers,
} from "./layering-helpers";

/**
 * Layered images against the real apko v1.2.37: the same config over the same repository gives
 * the same number of layers and, layer by layer, the same entries in the same order (names and
 * types; the single-layer conformance suite compares the entries' contents).
 */
async function assertSameLayers(ours: string, apkos: string, ociArch: string): Promise<number> {
  const mine = await readLayers(ours, ociArch);
  const theirs = await readLayers(apkos, ociArch);
  assert.equal(mine.length, theirs.length, "layer count");
  mine.forEach((layer, i) => {
    assert.deepEqual(entryList(layer), entryList(theirs[i]!), `layer ${i} of ${mine.length}`);
    // Directory mtimes are what makes a package layer shareable: they must match too.
    assert.deepEqual(
      layer.map((e) => `${e.header.name} ${e.header.mtime} ${e.header.mode.toString(8)}`),
      theirs[i]!.map((e) => `${e.header.name} ${e.header.mtime} ${e.header.mode.toString(8)}`),
      `layer ${i}: mtimes and modes`,
    );
  });
  return mine.length;
}

describe("layering compared with apko build", toolSkip("apko"), () => {
  const dir = tempDir();
  const apko = () => tool("apko")!;
  before(async () => {
    await writeRepo(path.join(dir, "repo"), "x86_64", LAYERING_PACKAGES, await testKey());
  });

  for (const [budget, layers] of [
    [10, 5],
    [2, 3],
    [0, 2],
  ] as const) {
    test(`budget ${budget}: ${layers} layers, each with apko's entries`, async () => {
      const name = `budget-${budget}`;
      const config = layeredConfig(
        dir,
        name,
        ["base", "runtime", "runtime-doc", "app-a", "app-b"],
        `{ strategy: origin, budget: ${budget} }`,
      );
      await buildOurs(config, path.join(dir, name, "ours"), path.join(dir, "cache"));
      buildWithApko(apko(), config, path.join(dir, name, "apko"), "x86_64");
      const count = await assertSameLayers(
        path.join(dir, name, "ours"),
        path.join(dir, name, "apko"),
        "amd64",
      );
      assert.equal(count, layers);
    });
  }

  for (const [fixture, layers] of [
    ["layering.yaml", 2],
    ["empty-layering.yaml", 1],
  ] as const) {
    test(
      `the ${fixture} fixture builds, ${layers} layer(s) per arch as apko's`,
      needsFixtures(),
      async () => {
        const work = path.join(dir, fixture);
        mkdirSync(path.join(work, "config"), { recursive: true });
        const config = fixtureConfigCopy(fixture, path.join(work, "config"));
        for (const [arch, ociArch] of [
          ["x86_64", "amd64"],
          ["aarch64", "arm64"],
        ] as [ApkArch, string][]) {
          await buildOurs(config, path.join(work, arch, "ours"), path.join(dir, "cache"), [arch]);
          buildWithApko(apko(), config, path.join(work, arch, "apko"), arch);
          const count = await assertSameLayers(
            path.join(work, arch, "ours"),
            path.join(work, arch, "apko"),
            ociArch,
          );
          assert.equal(count, layers);
        }
      },
    );
  }
});
