import * as assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { Keyring } from "../../provider/apk/keys";
import { RepositoryClient } from "../../provider/repository/client";
import { HttpClient } from "../../provider/repository/http";
import { parseRepositorySource } from "../../provider/repository/source";
import { tempDir } from "../helpers/tmp";
import { file, pkgInfo, testKey, writeRepo } from "../image/image-helpers";

/**
 * Servers that close the connection after each response (HTTP/1.0 `python3 -m http.server`, or
 * `Connection: close`) while our reader is slower than the network: undici 7 used to die with an
 * uncatchable `assert(!this.paused)` when the socket ended under a paused parser. A crash takes the
 * whole test process down, so these tests fail loudly without the fix.
 */

/** `python3 -m http.server` serving `dir` on a free loopback port; stopped when the file ends. */
async function pythonServer(dir: string): Promise<string> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "python3",
    ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", dir],
    { stdio: "ignore" },
  );
  after(() => child.kill());
  for (let i = 0; i < 200; i++) {
    if (await accepts(port)) return `http://127.0.0.1:${port}`;
    await delay(25);
  }
  throw new Error("python3 -m http.server did not start");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

/** Reads like a slow disk: a pause after every chunk, so undici's body buffer fills up. */
async function slowSha256(body: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of body) {
    hash.update(chunk);
    await delay(1);
  }
  return hash.digest("hex");
}

describe("servers that close the connection", () => {
  test("python3 -m http.server: multi-MB downloads read slowly complete intact", async () => {
    const dir = tempDir("pd-conn-close-");
    const data = randomBytes(8 << 20);
    writeFileSync(path.join(dir, "big.bin"), data);
    const url = await pythonServer(dir);
    const client = new HttpClient({ retry: { attempts: 1 } });
    const want = createHash("sha256").update(data).digest("hex");
    for (let i = 0; i < 3; i++) {
      const got = await client.get(`${url}/big.bin`, { maxBytes: 64 << 20, what: "big file" }, slowSha256);
      assert.equal(got.value, want);
    }
  });

  test("a raw HTTP/1.1 server that sends Connection: close and ends the socket", async () => {
    const data = randomBytes(6 << 20);
    // Written by hand so the FIN follows the body at once, as small servers and proxies do.
    const server = net.createServer((sock) => {
      sock.once("data", () => {
        sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\nConnection: close\r\n\r\n`);
        sock.end(data);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    after(() => server.close());
    const { port } = server.address() as AddressInfo;
    const client = new HttpClient({ retry: { attempts: 1 } });
    const want = createHash("sha256").update(data).digest("hex");
    for (let i = 0; i < 3; i++) {
      const got = await client.get(
        `http://127.0.0.1:${port}/x`,
        { maxBytes: 16 << 20, what: "blob" },
        slowSha256,
      );
      assert.equal(got.value, want);
    }
  });

  test("a repository of multi-MB packages installs from python3 -m http.server", async () => {
    const root = tempDir("pd-conn-repo-");
    const key = await testKey("close.rsa");
    const packages = [0, 1, 2].map((i) => ({
      info: pkgInfo(`big${i}`, "1.0-r0", "x86_64"),
      // Random bytes do not compress, so each apk is as large as its file.
      entries: [file(`usr/share/big${i}.bin`, randomBytes(6 << 20))],
    }));
    const pub = await writeRepo(root, "x86_64", packages, key);
    const url = await pythonServer(root);
    const client = new RepositoryClient({
      cacheDir: tempDir("pd-conn-cache-"),
      keyring: await Keyring.fromPaths([pub]),
      env: {},
      retry: { attempts: 1 },
    });
    const source = parseRepositorySource(url);
    const index = await client.loadIndex(source, "x86_64");
    assert.equal(index.entries.length, 3);
    const fetched = await Promise.all(
      index.entries.map((e) =>
        client.fetchPackage({
          name: e.name,
          version: e.version,
          arch: "x86_64",
          checksum: e.checksum,
          ...(e.size ? { size: e.size } : {}),
          source,
        }),
      ),
    );
    for (const f of fetched) {
      assert.equal(f.origin, "downloaded");
      assert.ok(f.head.fileSize > 6 << 20, `${f.ref.name} is a multi-MB package`);
    }
  });
});
