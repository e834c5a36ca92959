import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type PushEvent, pushLayout } from "../../provider/registry";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy";
import { makeTestImage, type TestImage } from "../helpers/oci-test-image";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { layoutBlob, needsTools, skopeoInspectRaw } from "./readback";

const MiB = 1 << 20;
const QUICK = { attempts: 4, baseDelayMs: 20, maxDelayMs: 2000 };

/**
 * How a push gives up and goes on: a registry that never answers is retried after the (configurable)
 * timeout, not 300 s; a 503 on an upload waits as long as its Retry-After says; a connection cut in
 * the middle of a chunked upload goes on from the byte the registry reports, not from zero. Each
 * retry is told (progress warning and a `retry` event).
 */
describe("giving up and going on", needsTools(), () => {
  const work = tempDir();
  let registry: RegistryServer;
  let proxy: FaultProxy;

  before(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.port);
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  /** A push through the proxy with 2 MiB chunks, one blob at a time, recording what was retried. */
  const push = async (image: TestImage, name: string, timeoutMs?: number) => {
    const events: PushEvent[] = [];
    const warnings: string[] = [];
    const result = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `${proxy.host}/give-up/${name}:v1`,
      chunkSize: 2 * MiB,
      concurrency: 1,
      retry: QUICK,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      progress: { info: () => {}, warn: (m) => warnings.push(m) },
      onEvent: (e) => events.push(e),
    });
    assert.equal(result.indexDigest, image.indexDigest);
    const pushed = await skopeoInspectRaw(`${registry.host}/give-up/${name}:v1`);
    assert.ok(pushed.equals(layoutBlob(image, image.indexDigest)), "the registry serves our index");
    const retries = events.flatMap((e) => (e.type === "retry" ? [e.message] : []));
    return { result, retries, warnings };
  };

  test("a registry that never answers a request is retried after the timeout, and says so", async () => {
    const image = await makeTestImage(path.join(work, "hang"), { marker: "hang" });
    proxy.reset();
    proxy.hangNext("blob-head");
    const { warnings } = await push(image, "hang", 500);
    assert.equal(proxy.log.filter((e) => e.injected).length, 1, "one request was left hanging");
    assert.ok(
      warnings.some((w) =>
        /HEAD blob sha256:[0-9a-f]+: UND_ERR_HEADERS_TIMEOUT from .*; retrying in/.test(w),
      ),
      warnings.join("\n"),
    );
  });

  test("503 with Retry-After on a chunk: waited out, then the upload goes on where the registry is", async () => {
    const image = await makeTestImage(path.join(work, "busy"), { marker: "busy", extraLayerBytes: 6 * MiB });
    proxy.reset();
    // The second PATCH of the first chunked upload: 2 MiB are already with the registry.
    proxy.failNext("upload-patch", 503, { "retry-after": "1" }, 1);
    const { result, retries, warnings } = await push(image, "busy");
    assert.ok(
      retries.some((m) => /failed \(HTTP 503\); trying again in 1000 ms/.test(m)),
      retries.join("\n"),
    );
    assert.ok(
      retries.some((m) => m.includes(`at byte ${2 * MiB} (the registry's Range)`)),
      retries.join("\n"),
    );
    assert.ok(!retries.some((m) => m.includes("restarting")), retries.join("\n"));
    assert.equal(
      proxy.count("upload-start"),
      result.uploaded.blobs + result.mounted.blobs,
      "no upload started twice (mounts are POSTs too)",
    );
    assert.ok(warnings.some((w) => w.includes("HTTP 503")));
  });

  test("a connection cut in a chunked upload resumes from the registry's Range, not from zero", async () => {
    const image = await makeTestImage(path.join(work, "cut"), { marker: "cut", extraLayerBytes: 6 * MiB });
    proxy.reset();
    // The connection of the third PATCH dies before the registry got any of its bytes.
    proxy.cutNext("upload-patch", 0, 2);
    const { result, retries } = await push(image, "cut");
    assert.ok(
      proxy.log.some((e) => e.kind === "upload-patch" && e.cut),
      "a PATCH was cut",
    );
    assert.ok(
      retries.some((m) => m.includes(`at byte ${4 * MiB} (the registry's Range)`)),
      retries.join("\n"),
    );
    assert.ok(!retries.some((m) => m.includes("restarting")), retries.join("\n"));
    assert.equal(
      proxy.count("upload-start"),
      result.uploaded.blobs + result.mounted.blobs,
      "no upload started twice (mounts are POSTs too)",
    );
  });
});
