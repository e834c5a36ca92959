import * as assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { beforeEach, describe, test } from "node:test";
import { Keyring } from "../../provider/apk/keys";
import { RepositoryClient } from "../../provider/repository/client";
import type { RepositoryOptions } from "../../provider/repository/context";
import { clearIndexMemo } from "../../provider/repository/index-loader";
import { parseRepositorySource } from "../../provider/repository/source";
import { isDistrolessError } from "../../provider/util/errors";
import { sha256Hex } from "../../provider/util/hash";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { StaticServer } from "./static-server";

const INDEX = "/repo/x86_64/APKINDEX.tar.gz";
const fast = { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

async function melangeKeyring(): Promise<Keyring> {
  return Keyring.fromPaths([fixture("local-repo", "melange.rsa.pub")]);
}

async function setup(extra: Partial<RepositoryOptions> = {}) {
  const server = await new StaticServer()
    .set(INDEX, fixture("local-repo", "x86_64", "APKINDEX.tar.gz"))
    .start();
  const cacheDir = tempDir("pd-cache-");
  const keyring = await melangeKeyring();
  const client = (more: Partial<RepositoryOptions> = {}) =>
    new RepositoryClient({ cacheDir, keyring, retry: fast, env: {}, ...extra, ...more });
  const source = parseRepositorySource(`${server.url}/repo`);
  return { server, cacheDir, client, source };
}

describe("index cache over HTTP", needsFixtures(), () => {
  beforeEach(() => clearIndexMemo());

  test("an unchanged index costs one conditional request and no parse", async () => {
    const { server, client, source } = await setup();
    const c1 = client();
    const first = await c1.loadIndex(source, "x86_64");
    await c1.flush(); // the parsed form is written in the background
    assert.equal(first.fetch, "downloaded");
    assert.equal(first.parse, "parsed");
    assert.equal(first.verifiedBy?.keyName, "melange.rsa.pub");
    assert.deepEqual(
      first.entries.map((e) => e.name),
      ["custom-ca-certs-1", "custom-ca-certs-2", "pretend-baselayout", "replayout"],
    );

    clearIndexMemo(); // a new process: only the disk cache remains
    const second = await client().loadIndex(source, "x86_64");
    assert.equal(second.fetch, "not-modified");
    assert.equal(second.parse, "cache");
    assert.equal(second.sha256, first.sha256);
    assert.deepEqual(second.entries, first.entries);

    const third = await client().loadIndex(source, "x86_64");
    assert.equal(third.parse, "memory");
    assert.deepEqual(
      server.requests.map((r) => [r.conditional, r.status]),
      [
        [false, 200],
        [true, 304],
        [true, 304],
      ],
    );
  });

  test("a changed index is fetched and parsed again", async () => {
    const { server, client, source } = await setup();
    const before = await client().loadIndex(source, "x86_64");
    server.set(INDEX, fixture("local-repo", "aarch64", "APKINDEX.tar.gz")); // a different signed index
    const after = await client().loadIndex(source, "x86_64");
    assert.equal(after.fetch, "downloaded");
    assert.equal(after.parse, "parsed");
    assert.notEqual(after.sha256, before.sha256);
    assert.equal(after.entries[0]!.arch, "aarch64");
    assert.deepEqual(
      server.requests.map((r) => [r.conditional, r.status]),
      [
        [false, 200],
        [true, 200],
      ],
    );
  });

  test("a corrupted cache entry is detected and replaced", async () => {
    const { server, cacheDir, client, source } = await setup();
    const c1 = client();
    const good = await c1.loadIndex(source, "x86_64");
    await c1.flush();
    const blob = path.join(cacheDir, "blobs", "sha256", good.sha256);
    const parsed = path.join(cacheDir, "parsed", `${good.sha256}.pdix`);

    // A flipped byte in the parsed record: rebuilt from the (intact) archive, no extra download.
    const record = await fsp.readFile(parsed);
    const at = record.indexOf("replayout");
    assert.ok(at > 0, "the record holds the package's strings");
    record[at + 8] ^= 0x20;
    await fsp.writeFile(parsed, record);
    clearIndexMemo();
    const c2 = client();
    const reparsed = await c2.loadIndex(source, "x86_64");
    await c2.flush();
    assert.equal(reparsed.parse, "parsed");
    assert.deepEqual(reparsed.entries, good.entries);

    // Both entries damaged: the archive is fetched again, unconditionally, and the cache healed.
    const bytes = await fsp.readFile(blob);
    bytes[bytes.length - 20] ^= 0xff;
    await fsp.writeFile(blob, bytes);
    await fsp.writeFile(parsed, "garbage");
    clearIndexMemo();
    const healed = await client().loadIndex(source, "x86_64");
    assert.deepEqual(healed.entries, good.entries);
    assert.equal(sha256Hex(await fsp.readFile(blob)), good.sha256);
    assert.deepEqual(
      server.requests.map((r) => [r.conditional, r.status]),
      [
        [false, 200],
        [true, 304],
        [true, 304],
        [false, 200],
      ],
    );
  });

  test("a cached parse no trusted key vouched for is verified against the archive, refetched if it is gone", async () => {
    const { server, cacheDir, client, source } = await setup();
    const untrusting = new RepositoryClient({ cacheDir, allowUntrusted: true, retry: fast, env: {} });
    const first = await untrusting.loadIndex(source, "x86_64");
    await untrusting.flush();
    assert.equal(first.verifiedBy, undefined);
    const blob = path.join(cacheDir, "blobs", "sha256", first.sha256);
    await fsp.rm(blob);

    clearIndexMemo();
    const c2 = client();
    const verified = await c2.loadIndex(source, "x86_64");
    await c2.flush();
    assert.equal(verified.parse, "cache", "the parse is reused; only the signature needed the bytes");
    assert.equal(verified.fetch, "downloaded");
    assert.equal(verified.verifiedBy?.keyName, "melange.rsa.pub");
    assert.equal(sha256Hex(await fsp.readFile(blob)), first.sha256);
    assert.deepEqual(
      server.requests.map((r) => [r.conditional, r.status]),
      [
        [false, 200],
        [true, 304],
        [false, 200],
      ],
    );
  });

  test("offline: a warm cache needs no network; an empty one says what is missing", async () => {
    const { server, client, source } = await setup();
    await client().loadIndex(source, "x86_64");
    clearIndexMemo();
    const offline = await client({ offline: true }).loadIndex(source, "x86_64");
    assert.equal(offline.fetch, "offline-cache");
    assert.equal(server.requests.length, 1);

    const empty = new RepositoryClient({
      cacheDir: tempDir("pd-empty-"),
      offline: true,
      keyring: await melangeKeyring(),
    });
    await assert.rejects(empty.loadIndex(source, "aarch64"), (err: unknown) => {
      assert.ok(isDistrolessError(err, "E_MISSING"));
      assert.match(
        err.message,
        new RegExp(
          `offline, and the cache \\(.*pd-empty-.*\\) holds no index of repository ${server.url}/repo for aarch64`,
        ),
      );
      assert.match(err.message, /\/repo\/aarch64\/APKINDEX\.tar\.gz/);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });

  test("a key named by URL is fetched once, cached, and available offline", async () => {
    const { server, cacheDir, source } = await setup();
    server.set("/keys/melange.rsa.pub", fixture("local-repo", "melange.rsa.pub"));
    const keyUrl = { kind: "url" as const, location: `${server.url}/keys/melange.rsa.pub` };
    const online = new RepositoryClient({ cacheDir, env: {} });
    const ring = await online.addKeys([keyUrl]);
    assert.deepEqual(ring.names(), ["melange.rsa.pub"]);
    assert.equal((await online.loadIndex(source, "x86_64")).verifiedBy?.keyName, "melange.rsa.pub");
    await online.flush();
    clearIndexMemo();
    const offline = new RepositoryClient({ cacheDir, env: {}, offline: true });
    await offline.addKeys([keyUrl]);
    assert.equal((await offline.loadIndex(source, "x86_64")).verifiedBy?.keyName, "melange.rsa.pub");
    assert.equal(server.count("/keys/melange.rsa.pub"), 1);
    const cold = new RepositoryClient({ cacheDir: tempDir(), env: {}, offline: true });
    await assert.rejects(
      cold.addKeys([{ kind: "url", location: `${server.url}/keys/other.rsa.pub` }]),
      /offline, and the cache .* does not hold this key/,
    );
  });

  test("concurrent loads of one index share a single request", async () => {
    const { server, client, source } = await setup();
    const c = client();
    const [a, b] = await Promise.all([c.loadIndex(source, "x86_64"), c.loadIndex(source, "x86_64")]);
    assert.equal(a, b);
    assert.equal(server.requests.length, 1);
  });
});

describe("HTTP behaviour", needsFixtures(), () => {
  beforeEach(() => clearIndexMemo());

  test("a 500, a 429 and a dropped connection are retried with backoff", async () => {
    const { server, client, source } = await setup();
    server.failNext(INDEX, 500, 429);
    server.resetNext = 1;
    const loaded = await client({ retry: { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 } }).loadIndex(
      source,
      "x86_64",
    );
    assert.equal(loaded.entries.length, 4);
    assert.deepEqual(
      server.requests.map((r) => r.status),
      [0, 500, 429, 200],
    );
  });

  test("retries stop after the configured attempts with a clear network error", async () => {
    const { server, client, source } = await setup();
    server.failNext(INDEX, 503, 503, 503);
    await assert.rejects(
      client({ retry: { attempts: 2, baseDelayMs: 1 } }).loadIndex(source, "x86_64"),
      (err: unknown) => {
        assert.ok(isDistrolessError(err, "E_NETWORK"));
        assert.match(err.message, /failed after 2 attempt\(s\): HTTP 503/);
        return true;
      },
    );
    assert.equal(server.requests.length, 2);
  });

  test("basic auth per host from HTTP_AUTH; refusals name the host, never the password", async () => {
    const { server, client, source } = await setup();
    server.requireBasicAuth("reader", "s3cret:with:colons");
    await assert.rejects(client().loadIndex(source, "x86_64"), (err: unknown) => {
      assert.ok(isDistrolessError(err, "E_AUTH"));
      assert.match(
        err.message,
        /HTTP 401: 127\.0\.0\.1:\d+ requires credentials \(set HTTP_AUTH=basic:127\.0\.0\.1:USER:PASS/,
      );
      return true;
    });
    await assert.rejects(
      client({ env: { HTTP_AUTH: "basic:127.0.0.1:reader:wrong" } }).loadIndex(source, "x86_64"),
      (err: unknown) => {
        assert.ok(isDistrolessError(err, "E_AUTH"));
        assert.match(err.message, /the credentials for 127\.0\.0\.1:\d+ were refused/);
        assert.doesNotMatch(err.message, /wrong|reader/);
        return true;
      },
    );
    const ok = await client({ env: { HTTP_AUTH: "basic:127.0.0.1:reader:s3cret:with:colons" } }).loadIndex(
      source,
      "x86_64",
    );
    assert.equal(ok.entries.length, 4);
    // Credentials in the URL work too, and never show in what is reported.
    clearIndexMemo();
    const inUrl = parseRepositorySource(
      server.url.replace("http://", "http://reader:s3cret%3Awith%3Acolons@") + "/repo",
    );
    const viaUrl = await client().loadIndex(inUrl, "x86_64");
    assert.equal(viaUrl.location, `${server.url}/repo/x86_64/APKINDEX.tar.gz`);
  });

  test("a response over the size cap is refused", async () => {
    const { client, source } = await setup();
    await assert.rejects(client({ maxIndexBytes: 100 }).loadIndex(source, "x86_64"), (err: unknown) => {
      assert.ok(isDistrolessError(err, "E_HOSTILE"));
      assert.match(err.message, /larger than the 100-byte limit/);
      return true;
    });
  });
});
