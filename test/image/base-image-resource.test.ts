/**
 * DistrolessImage on a base image: the `baseImage` input (a local OCI layout and its installed
 * list) builds on the base, and the base's identity is part of the input digest, so a rebuilt base
 * makes a diff (and a rebuild) while an unchanged one does not.
 */
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { provider as imageProvider } from "../../provider/dynamic/image";
import { OciLayout } from "../../provider/image/oci-layout";
import { tempDir } from "../helpers/tmp";
import { type BaseFixture, buildBase, configText, makeBase } from "./base-image-helpers";

describe("DistrolessImage baseImage input", () => {
  const dir = tempDir();
  let fx: BaseFixture;
  let configFile: string;
  before(async () => {
    fx = await makeBase(dir);
    configFile = path.join(dir, "image.apko.yaml");
    writeFileSync(configFile, configText(fx, ["  packages: [app]"]));
  });

  const inputs = (outputPath: string) => ({
    configFile,
    baseImage: { image: fx.image, apkindex: fx.apkindex },
    outputPath,
    offline: true,
    cacheDir: path.join(dir, "cache"),
    sourceDateEpoch: 0,
  });
  const digestOf = (checked: { inputs: Record<string, unknown> }) =>
    checked.inputs.resolved as { inputDigest: string; lock: Record<string, Record<string, string>> };

  test("builds on the base; a changed base changes the input digest, the same base does not", async () => {
    const out = path.join(dir, "out");
    const first = await imageProvider.check({}, inputs(out));
    assert.deepEqual(
      digestOf(first).lock,
      { x86_64: { app: "1.0-r0" } },
      "the base's packages are not locked",
    );
    const created = await imageProvider.create(first.inputs);
    const layers = (created.outs.layers as Record<string, string[]>).x86_64!;
    assert.equal(layers.length, 2);
    assert.equal(layers[0], fx.base.platforms[0]!.layers[0]!.digest);
    assert.ok(await new OciLayout(out).hasBlob(layers[0]!), "the base's layer is in the output layout");

    const same = await imageProvider.check(created.outs, inputs(out));
    assert.equal(digestOf(same).inputDigest, digestOf(first).inputDigest);
    assert.equal((await imageProvider.diff(String(created.id), created.outs, same.inputs)).changes, false);

    // The same base built again (reproducible): the same identity, no change.
    await buildBase(fx, ["baselayout", "libfoo=1.0-r0"]);
    const rebuilt = await imageProvider.check(created.outs, inputs(out));
    assert.equal(digestOf(rebuilt).inputDigest, digestOf(first).inputDigest);

    // A base with another package in it (same paths): another manifest and installed list.
    await buildBase(fx, ["baselayout", "libfoo=1.0-r0", "app"]);
    const changed = await imageProvider.check(created.outs, inputs(out));
    assert.notEqual(digestOf(changed).inputDigest, digestOf(first).inputDigest);
    assert.deepEqual(digestOf(changed).lock, { x86_64: {} }, "app is the base's now");
    assert.equal((await imageProvider.diff(String(created.id), created.outs, changed.inputs)).changes, true);
  });
});
