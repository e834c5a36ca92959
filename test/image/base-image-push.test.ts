/**
 * The `build` verb on a config with `contents.baseimage`, pushed to a real registry: the base's
 * layers are uploaded like ours (the registry serves them by the base's digests), and the pushed
 * manifest lists the base's layers first.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import type { ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { runCli } from "../helpers/cli";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { needsTools, skopeoInspectRaw } from "../registry/readback";
import { type BaseFixture, makeBase, onBaseConfig } from "./base-image-helpers";

describe("build on a base image, pushed", needsTools(), () => {
  const dir = tempDir();
  let fx: BaseFixture;
  let registry: RegistryServer;
  before(async () => {
    fx = await makeBase(dir);
    registry = await startRegistry();
  });
  after(async () => {
    await registry?.stop();
  });

  test("the base's layers reach the registry with their digests, ours on top", async () => {
    const config = onBaseConfig(fx, "push", ["app"]);
    const ref = `${registry.host}/based/app:v1`;
    const res = await runCli([
      "build",
      config,
      "--output",
      path.join(dir, "out"),
      "--push",
      ref,
      "--offline",
      "--cache-dir",
      path.join(dir, "cache"),
      "--no-vcs",
      "--no-sbom-attach",
    ]);
    assert.equal(res.code, 0, res.stderr);
    const index = JSON.parse((await skopeoInspectRaw(ref)).toString("utf8")) as ImageIndex;
    const manifest = JSON.parse(
      (await skopeoInspectRaw(`${registry.host}/based/app@${index.manifests[0]!.digest}`)).toString("utf8"),
    ) as ImageManifest;
    const baseLayer = fx.base.platforms[0]!.layers[0]!;
    assert.equal(manifest.layers.length, 2);
    assert.equal(manifest.layers[0]!.digest, baseLayer.digest);
    for (const layer of manifest.layers) {
      const head = await fetch(`http://${registry.host}/v2/based/app/blobs/${layer.digest}`, {
        method: "HEAD",
      });
      assert.equal(head.status, 200, `${layer.digest} is in the registry`);
      assert.equal(Number(head.headers.get("content-length")), layer.size);
    }
  });
});
