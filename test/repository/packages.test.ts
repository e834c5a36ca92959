import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { describe, test } from "node:test";
import { Keyring } from "../../provider/apk/keys";
import { RepositoryClient } from "../../provider/repository/client";
import type { RepositoryOptions } from "../../provider/repository/context";
import type { PackageRef } from "../../provider/repository/package-fetcher";
import { parseRepositorySource } from "../../provider/repository/source";
import { isDistrolessError } from "../../provider/util/errors";
import { sha256Hex } from "../../provider/util/hash";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { StaticServer } from "./static-server";

const APK = "/rsa/aarch64/alpine-baselayout-3.2.0-r23.apk";
const KEY = () => fixture("rsa256-signed", "test-rsa256.rsa.pub");
const APK_FILE = () => fixture("alpine-v3.16-main-aarch64", "alpine-baselayout-3.2.0-r23.apk");

/** Serves the RSA-SHA256 signed index and the real Alpine package it lists. */
async function setup(extra: Partial<RepositoryOptions> = {}) {
  const server = await new StaticServer()
    .set("/rsa/aarch64/APKINDEX.tar.gz", fixture("rsa256-signed", "APKINDEX.tar.gz"))
    .set(APK, APK_FILE())
    .start();
  const cacheDir = tempDir("pd-pkg-cache-");
  const keyring = await Keyring.fromPaths([KEY()]);
  const client = (more: Partial<RepositoryOptions> = {}) =>
    new RepositoryClient({
      cacheDir,
      keyring,
      env: {},
      retry: { attempts: 2, baseDelayMs: 5 },
      ...extra,
      ...more,
    });
  const source = parseRepositorySource(`${server.url}/rsa`);
  const index = await client().loadIndex(source, "aarch64");
  const e = index.entries.find((x) => x.name === "alpine-baselayout")!;
  const ref: PackageRef = {
    name: e.name,
    version: e.version,
    arch: "aarch64",
    checksum: e.checksum,
    size: e.size,
    source,
  };
  return { server, cacheDir, client, ref };
}

async function cachedApks(cacheDir: string): Promise<string[]> {
  return fsp.readdir(path.join(cacheDir, "packages")).catch(() => []);
}

describe("packages", needsFixtures(), () => {
  test("a local repository's package is verified in place", async () => {
    const root = fixture("local-repo");
    const client = new RepositoryClient({
      cacheDir: tempDir(),
      keyring: await Keyring.fromPaths([`${root}/melange.rsa.pub`]),
    });
    const source = parseRepositorySource(root);
    const index = await client.loadIndex(source, "x86_64");
    const e = index.entries.find((x) => x.name === "replayout")!;
    const got = await client.fetchPackage({
      name: e.name,
      version: e.version,
      arch: "x86_64",
      checksum: e.checksum,
      source,
    });
    assert.equal(got.origin, "local");
    assert.equal(got.path, path.join(root, "x86_64", "replayout-1.0.0-r0.apk"));
    assert.equal(got.head.controlChecksum, e.checksum);
    assert.equal(got.data?.datahash, got.head.pkginfo.datahash);
    assert.ok((got.data?.files ?? 0) > 0);
  });

  test("a remote package is downloaded once, verified, then served from the cache", async () => {
    const { server, cacheDir, client, ref } = await setup();
    const first = await client().fetchPackage(ref);
    assert.equal(first.origin, "downloaded");
    assert.equal(first.data?.datahash, first.head.pkginfo.datahash);
    assert.equal(sha256Hex(await fsp.readFile(first.path)), sha256Hex(await fsp.readFile(APK_FILE())));
    const second = await client().fetchPackage(ref);
    assert.equal(second.origin, "cache");
    assert.equal(second.path, first.path);
    assert.equal(server.count(APK), 1);
    assert.deepEqual(await fsp.readdir(path.join(cacheDir, "tmp")), []);
  });

  test("a cached package that no longer verifies is discarded and fetched again", async () => {
    const { server, client, ref } = await setup();
    const first = await client().fetchPackage(ref);
    const bytes = await fsp.readFile(first.path);
    bytes[bytes.length - 100] ^= 0xff; // inside the data segment
    await fsp.writeFile(first.path, bytes);
    const warned: string[] = [];
    const again = await client({ progress: { info: () => {}, warn: (m) => warned.push(m) } }).fetchPackage(
      ref,
    );
    assert.equal(again.origin, "downloaded");
    assert.equal(server.count(APK), 2);
    assert.match(
      warned[0]!,
      /cached alpine-baselayout-3\.2\.0-r23 failed verification .*; fetching it again/,
    );
    assert.equal(sha256Hex(await fsp.readFile(again.path)), sha256Hex(await fsp.readFile(APK_FILE())));
  });

  test("a package that does not match the signed index is refused and never cached", async () => {
    const { server, cacheDir, client, ref } = await setup();
    const tampered = await fsp.readFile(APK_FILE());
    tampered[tampered.length - 100] ^= 0xff;
    server.set(APK, tampered);
    await assert.rejects(client().fetchPackage(ref), (err: unknown) => {
      assert.ok(isDistrolessError(err));
      assert.ok(["E_CHECKSUM", "E_FORMAT"].includes(err.code), err.message);
      assert.match(
        err.message,
        /downloaded package alpine-baselayout-3\.2\.0-r23 \(aarch64\) from http:\/\/127\.0\.0\.1:\d+\/rsa does not verify/,
      );
      return true;
    });
    assert.deepEqual(await cachedApks(cacheDir), []);
    assert.deepEqual(await fsp.readdir(path.join(cacheDir, "tmp")), []);
    // An index checksum that is not this package's control segment is caught first.
    server.set(APK, APK_FILE());
    await assert.rejects(
      client().fetchPackage({ ...ref, checksum: "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=" }),
      /control checksum Q1LLq2qDNrS\/qRnhxQ3hsY\/sHbQnc= does not match the index's Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=/,
    );
  });

  test("the index's size caps the download", async () => {
    const { client, ref } = await setup();
    await assert.rejects(client().fetchPackage({ ...ref, size: 100 }), /larger than the 100-byte limit/);
  });

  test("offline with an empty cache names the package, arch and repository", async () => {
    const { client, ref, server } = await setup();
    await assert.rejects(client({ offline: true }).fetchPackage(ref), (err: unknown) => {
      assert.ok(isDistrolessError(err, "E_MISSING"));
      assert.match(
        err.message,
        /offline, and the cache \(.*\) does not hold package alpine-baselayout-3\.2\.0-r23 \(aarch64\) from http:\/\/127\.0\.0\.1:\d+\/rsa/,
      );
      return true;
    });
    assert.equal(server.count(APK), 0);
  });
});

/** Runs the fetch worker in its own process. */
function worker(args: object): {
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill: () => void;
} {
  const child = spawn(process.execPath, [path.join(__dirname, "fetch-worker.js"), JSON.stringify(args)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stdout, stderr })),
  );
  return { done, kill: () => child.kill("SIGKILL") };
}

describe("a cache shared between processes", needsFixtures(), () => {
  test("two processes fetching the same package at once both get one verified entry", async () => {
    const { server, cacheDir } = await setup();
    const args = {
      repo: `${server.url}/rsa`,
      arch: "aarch64",
      name: "alpine-baselayout",
      cacheDir,
      keyFile: KEY(),
    };
    const [a, b] = await Promise.all([worker(args).done, worker(args).done]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const pa = JSON.parse(a.stdout) as { path: string; datahash: string };
    const pb = JSON.parse(b.stdout) as { path: string; datahash: string };
    assert.equal(pa.path, pb.path);
    assert.equal(pa.datahash, pb.datahash);
    assert.equal((await cachedApks(cacheDir)).length, 1);
    assert.equal(sha256Hex(await fsp.readFile(pa.path)), sha256Hex(await fsp.readFile(APK_FILE())));
    assert.deepEqual(await fsp.readdir(path.join(cacheDir, "tmp")), []);
  });

  test("a process killed mid-download leaves no cache entry, and the next fetch succeeds", async () => {
    const { server, cacheDir, client, ref } = await setup();
    server.stall = { path: APK, bytes: 4000 };
    const w = worker({
      repo: `${server.url}/rsa`,
      arch: "aarch64",
      name: "alpine-baselayout",
      cacheDir,
      keyFile: KEY(),
    });
    for (let i = 0; i < 500 && server.count(APK) === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(server.count(APK), 1, "the worker started downloading");
    await new Promise((r) => setTimeout(r, 100));
    w.kill();
    await w.done;
    assert.deepEqual(await cachedApks(cacheDir), []);
    server.stall = undefined;
    const got = await client().fetchPackage(ref);
    assert.equal(got.origin, "downloaded");
    assert.equal((await cachedApks(cacheDir)).length, 1);
  });
});
