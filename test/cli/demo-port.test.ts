import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import * as http from "node:http";
import type * as net from "node:net";
import * as path from "node:path";
import { describe, test } from "node:test";
import { chooseDemoPort, DEFAULT_DEMO_PORT, portInUse } from "../../provider/cli/demo/port";
import { runCli } from "../helpers/cli";
import { tempDir } from "../helpers/tmp";

/** A stranger on a port: answers every request 200 (as any registry's `/v2/` would) and counts them. */
async function stranger(port = 0): Promise<{ port: number; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe("demo: the registry port", () => {
  test("a --port something already listens on is refused before anything is written or pushed", async () => {
    const other = await stranger();
    try {
      const work = tempDir("pd-demo-port-");
      const r = await runCli(["demo", "--engine", "local", "--work", work, "--port", String(other.port)]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`--port ${other.port}: something already listens on 127\\.0\\.0\\.1:${other.port}`),
      );
      assert.deepEqual(other.requests, [], "nothing was sent to the program on the port");
      assert.equal(existsSync(path.join(work, "demo.rsa")), false, "no key generated");
      assert.equal(existsSync(path.join(work, "registry")), false, "no registry state written");
    } finally {
      await other.close();
    }
  });

  test("--port that is not a port number is refused naming the flag", async () => {
    const r = await runCli(["demo", "--engine", "local", "--work", tempDir(), "--port", "51x"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--port 51x: a TCP port number/);
  });

  test("the default port, when taken, is swapped for a free one and the notice says so", async () => {
    // Hold the default port ourselves when it is free; when another program holds it, that does.
    const held = (await portInUse(DEFAULT_DEMO_PORT)) ? undefined : await stranger(DEFAULT_DEMO_PORT);
    try {
      assert.equal(await portInUse(DEFAULT_DEMO_PORT), true);
      const chosen = await chooseDemoPort(undefined);
      assert.notEqual(chosen.port, DEFAULT_DEMO_PORT);
      assert.equal(await portInUse(chosen.port), false);
      assert.match(
        chosen.notice ?? "",
        new RegExp(
          `port ${DEFAULT_DEMO_PORT} is in use by another program: .* 127\\.0\\.0\\.1:${chosen.port} instead`,
        ),
      );
      assert.deepEqual(held?.requests ?? [], []);
    } finally {
      await held?.close();
    }
  });
});
