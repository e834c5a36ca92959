import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { listTags, type PushEvent, pushLayout, resolveTag } from "../../provider/registry";
import { isDistrolessError } from "../../provider/util/errors";
import { type FaultProxy, startFaultProxy } from "../helpers/fault-proxy";
import { makeTestImage, type TestImage } from "../helpers/oci-test-image";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { layoutBlob, needsTools, runPushedImage, skopeoInspectRaw } from "./readback";

const MiB = 1 << 20;
/** Generous retries: the registry restart in these tests must fit inside them. */
const PATIENT = { attempts: 12, baseDelayMs: 100, maxDelayMs: 1500 };

describe("pushes that meet failures", needsTools(), () => {
  const work = tempDir();
  let registry: RegistryServer;
  let proxy: FaultProxy;
  let small: TestImage;
  /** A fresh large image per test: one pushed before would be skipped or mounted, not uploaded. */
  const largeImage = (marker: string) =>
    makeTestImage(path.join(work, marker), { marker, extraLayerBytes: 8 * MiB });

  before(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.port);
    small = await makeTestImage(path.join(work, "small"), { marker: "faults-small" });
  });
  after(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  test("one injected 500 on a blob PUT is retried and the push succeeds", async () => {
    proxy.reset();
    proxy.failNext("upload-put", 500);
    const events: PushEvent[] = [];
    const result = await pushLayout({
      layoutDir: small.layoutDir,
      reference: `${proxy.host}/faults/five-hundred:v1`,
      onEvent: (e) => events.push(e),
    });
    assert.equal(result.uploaded.blobs, small.blobs.length);
    assert.equal(proxy.log.filter((e) => e.injected && e.status === 500).length, 1);
    assert.equal(proxy.count("upload-put"), small.blobs.length + 1, "the failed PUT, then one per blob");
    assert.ok(events.some((e) => e.type === "retry" && e.message.includes("restarting upload")));
    assert.ok(
      (await skopeoInspectRaw(`${registry.host}/faults/five-hundred:v1`)).equals(
        layoutBlob(small, small.indexDigest),
      ),
    );
  });

  test("429 with Retry-After on a HEAD is waited out and retried", async () => {
    proxy.reset();
    proxy.failNext("manifest-head", 429, { "retry-after": "1" });
    const result = await pushLayout({
      layoutDir: small.layoutDir,
      reference: `${proxy.host}/faults/five-hundred:v1`,
    });
    assert.equal(result.uploaded.blobs, 0);
    assert.equal(proxy.log.filter((e) => e.injected && e.status === 429).length, 1);
    assert.equal(proxy.count("manifest-put"), 0);
  });

  test("a connection cut in the middle of a chunk: the upload resumes or restarts and completes", async () => {
    // 8 MiB of incompressible bytes per platform: uploads span several 2 MiB chunks.
    const large = await largeImage("cut");
    proxy.reset();
    proxy.cutNext("upload-patch", 1 * MiB);
    const events: PushEvent[] = [];
    const result = await pushLayout({
      layoutDir: large.layoutDir,
      reference: `${proxy.host}/faults/cut:v1`,
      chunkSize: 2 * MiB,
      retry: PATIENT,
      onEvent: (e) => events.push(e),
    });
    assert.equal(result.indexDigest, large.indexDigest);
    assert.ok(
      proxy.log.some((e) => e.kind === "upload-patch" && e.cut),
      "a PATCH was cut",
    );
    assert.ok(
      events.some((e) => e.type === "retry"),
      "the client noticed and went again",
    );
    // skopeo verifies every blob's digest while copying, and runc runs the result.
    assert.equal(
      await runPushedImage(`${registry.host}/faults/cut:v1`, path.join(work, "run-cut")),
      large.expectedOutput,
    );
  });

  test("the registry killed mid-upload and restarted: the push picks up and completes", async () => {
    const large = await largeImage("crash");
    let killed = false;
    let restarting: Promise<void> | undefined;
    const events: PushEvent[] = [];
    const result = await pushLayout({
      layoutDir: large.layoutDir,
      reference: `${registry.host}/faults/crash:v1`,
      chunkSize: 2 * MiB,
      concurrency: 1,
      retry: PATIENT,
      onEvent: (e) => {
        events.push(e);
        if (!killed && e.type === "blob-bytes" && e.sent >= 5 * MiB && e.size > 6 * MiB) {
          killed = true;
          restarting = (async () => {
            await registry.kill();
            await registry.restart();
          })();
        }
      },
    });
    await restarting;
    assert.ok(killed, "the registry was killed during an upload");
    assert.ok(events.some((e) => e.type === "retry"));
    assert.equal(result.indexDigest, large.indexDigest);
    assert.equal((await resolveTag(`${registry.host}/faults/crash:v1`))?.digest, large.indexDigest);
    assert.equal(
      await runPushedImage(`${registry.host}/faults/crash:v1`, path.join(work, "run-crash")),
      large.expectedOutput,
    );
  });

  test("the registry killed and not back in time: a clear E_NETWORK, and no tag points anywhere", async () => {
    const large = await largeImage("gone");
    const reference = `${registry.host}/faults/gone:v1`;
    let killing: Promise<void> | undefined;
    const err = await pushLayout({
      layoutDir: large.layoutDir,
      reference,
      chunkSize: 2 * MiB,
      concurrency: 1,
      retry: { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 },
      onEvent: (e) => {
        if (!killing && e.type === "blob-bytes" && e.sent >= 3 * MiB) killing = registry.kill();
      },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    await killing;
    assert.ok(isDistrolessError(err, "E_NETWORK"), String(err));
    assert.match(err.message, new RegExp(`${registry.host}/faults/gone`));
    assert.match(err.message, /cannot reach .*ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|EPIPE/);

    await registry.restart();
    assert.equal(await resolveTag(reference), undefined, "the tag was never written");
    assert.deepEqual(await listTags(`${registry.host}/faults/gone`), []);
    // Running the push again finishes the job; blobs that made it are skipped.
    const again = await pushLayout({ layoutDir: large.layoutDir, reference, chunkSize: 2 * MiB });
    assert.equal(again.indexDigest, large.indexDigest);
    assert.ok((await skopeoInspectRaw(reference)).equals(layoutBlob(large, large.indexDigest)));
  });
});
