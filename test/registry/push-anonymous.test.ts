import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { OciLayout } from "../../provider/image/oci-layout";
import { MEDIA_TYPES } from "../../provider/image/oci-types";
import { deleteTag, imageExists, listTags, pushLayout, resolveTag } from "../../provider/registry";
import { isDistrolessError } from "../../provider/util/errors";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy";
import { makeTestImage, type TestImage } from "../helpers/oci-test-image";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { assertServedAndRuns, layoutBlob, needsTools, runPushedImage, skopeoInspectRaw } from "./readback";

describe("push to an anonymous registry", needsTools(), () => {
  let registry: RegistryServer;
  let proxy: FaultProxy;
  let image: TestImage;
  const work = tempDir();

  before(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.port);
    image = await makeTestImage(path.join(work, "image-one"), { marker: "one" });
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  test("a multi-arch image: skopeo reads back our exact index, and runc runs it", async () => {
    const result = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `${registry.host}/team/app:v1`,
    });
    assert.equal(result.indexDigest, image.indexDigest);
    assert.equal(result.imageRef, `${registry.host}/team/app@${image.indexDigest}`);
    assert.deepEqual(result.platforms, image.manifests);
    assert.deepEqual(result.tags, ["v1"]);
    assert.equal(result.uploaded.blobs, image.blobs.length);
    assert.equal(result.manifestsPushed, 3);

    await assertServedAndRuns(`${registry.host}/team/app:v1`, image, path.join(work, "run-v1"));
    for (const digest of Object.values(image.manifests)) {
      const m = await skopeoInspectRaw(`${registry.host}/team/app@${digest}`);
      assert.ok(m.equals(layoutBlob(image, digest)));
    }
  });

  test("a re-push uploads nothing: one HEAD per blob and manifest on the wire", async () => {
    const reference = `${proxy.host}/team/app:v1`;
    await pushLayout({ layoutDir: image.layoutDir, reference });
    proxy.reset();
    const again = await pushLayout({ layoutDir: image.layoutDir, reference });
    assert.deepEqual(again.uploaded, { blobs: 0, bytes: 0 });
    assert.equal(again.skipped.blobs, image.blobs.length);
    assert.equal(again.manifestsPushed, 0);
    const manifests = Object.keys(image.manifests).length + 1;
    assert.deepEqual(
      proxy.log.map((e) => e.method),
      Array(image.blobs.length + manifests).fill("HEAD"),
    );
    assert.equal(proxy.count("blob-head"), image.blobs.length);
    assert.equal(proxy.count("manifest-head"), manifests);
    assert.equal(again.requests.total, image.blobs.length + manifests);
  });

  test("a re-push's HEADs go out together: a blob HEAD left unanswered holds back no manifest or tag HEAD", async () => {
    const reference = `${proxy.host}/team/app:v1`;
    await pushLayout({ layoutDir: image.layoutDir, reference });
    proxy.reset();
    // The first blob HEAD never gets an answer; the client gives up on it after the timeout and asks again.
    proxy.hangNext("blob-head");
    const again = await pushLayout({ layoutDir: image.layoutDir, reference, timeoutMs: 3000 });
    assert.equal(again.manifestsPushed, 0);
    const hung = proxy.log.find((e) => e.injected)!;
    const retried = proxy.log.findIndex((e) => e !== hung && e.path === hung.path);
    assert.ok(retried > 0, "the unanswered HEAD was asked again");
    const sentBefore = proxy.log.slice(0, retried);
    // Every manifest HEAD (the platforms' and the tag's) was on the wire before the retry: sent
    // one after another, they would have waited for the hung blob HEAD.
    assert.equal(
      sentBefore.filter((e) => e.kind === "manifest-head").length,
      Object.keys(image.manifests).length + 1,
    );
    assert.equal(sentBefore.filter((e) => e.kind === "blob-head").length, image.blobs.length);
  });

  test("an image differing in one layer per platform uploads only those layers, configs and manifests", async () => {
    const two = await makeTestImage(path.join(work, "image-two"), { marker: "two" });
    proxy.reset();
    const result = await pushLayout({ layoutDir: two.layoutDir, reference: `${proxy.host}/team/app:v2` });
    // Shared: the busybox layer. New: one small layer and one config per platform.
    assert.equal(result.skipped.blobs, 1);
    assert.equal(result.skipped.bytes, image.blobs.find((b) => b.digest === image.baseLayer)!.size);
    assert.equal(result.uploaded.blobs, 4);
    assert.equal(proxy.count("upload-put"), 4);
    assert.equal(proxy.count("manifest-put"), 4, "two manifests, the index, and the tag");
    assert.equal(
      await runPushedImage(`${registry.host}/team/app:v2`, path.join(work, "run-v2")),
      two.expectedOutput,
    );
    const v1 = await resolveTag(`${registry.host}/team/app`, "v1");
    assert.equal(v1?.digest, image.indexDigest, "v1 still points at the first image");
  });

  test("a second repository on the registry mounts the blobs instead of uploading them", async () => {
    proxy.reset();
    const result = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `${proxy.host}/other/app:v1`,
      mountFrom: ["team/app"],
    });
    assert.equal(result.mounted.blobs, image.blobs.length);
    assert.equal(result.uploaded.blobs, 0);
    assert.equal(proxy.count("upload-put"), 0);
    assert.equal(proxy.count("upload-start"), image.blobs.length, "one mount POST per blob");
    assert.ok(
      (await skopeoInspectRaw(`${registry.host}/other/app:v1`)).equals(layoutBlob(image, image.indexDigest)),
    );
  });

  test("imageExists, resolveTag and listTags report what is there", async () => {
    const repo = `${registry.host}/team/app`;
    assert.equal(await imageExists(`${repo}@${image.indexDigest}`), true);
    assert.equal(await imageExists(repo, `sha256:${"0".repeat(64)}`), false);
    const v1 = await resolveTag(`${repo}:v1`);
    assert.deepEqual(v1, {
      digest: image.indexDigest,
      mediaType: MEDIA_TYPES.index,
      size: layoutBlob(image, image.indexDigest).length,
    });
    assert.equal(await resolveTag(repo, "nope"), undefined);
    assert.deepEqual((await listTags(repo)).sort(), ["v1", "v2"]);
    assert.deepEqual(await listTags(`${registry.host}/never/pushed`), []);
  });

  test("deleteTag removes only the tag: the image and its other tags stay", async () => {
    const repo = `${registry.host}/del/app`;
    await pushLayout({ layoutDir: image.layoutDir, reference: `${repo}:keep`, tags: ["drop", "moved"] });
    const moved = await deleteTag(repo, "moved", { ifDigest: `sha256:${"1".repeat(64)}` });
    assert.equal(moved.outcome, "moved");
    const gone = await deleteTag(repo, "drop", { ifDigest: image.indexDigest });
    // Distribution 2.8 cannot delete tags, so the placeholder path is what runs here.
    assert.deepEqual(gone, { outcome: "deleted", digest: image.indexDigest, method: "placeholder" });
    assert.deepEqual((await listTags(repo)).sort(), ["keep", "moved"]);
    assert.equal(await imageExists(repo, image.indexDigest), true);
    for (const digest of Object.values(image.manifests)) assert.equal(await imageExists(repo, digest), true);
    assert.equal((await resolveTag(repo, "keep"))?.digest, image.indexDigest);
    assert.deepEqual(await deleteTag(repo, "drop"), { outcome: "absent" });
  });

  test("a single-manifest layout pushes that manifest as the image", async () => {
    const dir = path.join(work, "single");
    const multi = await makeTestImage(dir, { marker: "single" });
    const layout = new OciLayout(dir);
    const amd64 = multi.manifests.amd64;
    await layout.writeIndex([
      { mediaType: MEDIA_TYPES.manifest, digest: amd64, size: await layout.blobSize(amd64) },
    ]);
    const result = await pushLayout({ layoutDir: dir, reference: `${registry.host}/single/app:latest` });
    assert.equal(result.indexDigest, amd64);
    assert.equal(result.mediaType, MEDIA_TYPES.manifest);
    assert.deepEqual(result.platforms, { amd64 });
    assert.ok(
      (await skopeoInspectRaw(`${registry.host}/single/app:latest`)).equals(layoutBlob(multi, amd64)),
    );
  });

  test("a reference digest that is not the layout's is refused before anything is sent", async () => {
    proxy.reset();
    await assert.rejects(
      pushLayout({
        layoutDir: image.layoutDir,
        reference: `${proxy.host}/team/app@sha256:${"2".repeat(64)}`,
      }),
      (err: unknown) => isDistrolessError(err, "E_CONFIG") && err.message.includes(image.indexDigest),
    );
    assert.equal(proxy.log.length, 0);
  });

  test("a layout with a missing blob fails naming it, before anything is sent", async () => {
    const dir = path.join(work, "broken");
    const broken = await makeTestImage(dir, { marker: "broken" });
    const top = broken.blobs.find(
      (b) => b.mediaType === MEDIA_TYPES.layerGzip && b.digest !== broken.baseLayer,
    )!;
    rmSync(new OciLayout(dir).blobPath(top.digest));
    proxy.reset();
    await assert.rejects(
      pushLayout({ layoutDir: dir, reference: `${proxy.host}/team/broken:v1` }),
      (err: unknown) => isDistrolessError(err, "E_MISSING") && err.message.includes(top.digest),
    );
    assert.equal(proxy.log.length, 0);
  });
});
