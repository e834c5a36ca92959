import assert from "node:assert/strict";
import { createReadStream, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { type CliResult, runProcess } from "../helpers/cli";
import { fixture, needsFixtures, projectRoot } from "../helpers/fixtures";
import { makeTestImage, type TestImage } from "../helpers/oci-test-image";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { makeTestCa } from "../helpers/test-ca";
import { tempDir } from "../helpers/tmp";

/**
 * The bin starts node without NODE_EXTRA_CA_CERTS (its sh header moves it aside: Node 20 would
 * otherwise build its CA store at every start) and loads the file at the first TLS connection.
 * These run the bin as a user does, through /bin/sh, against servers whose CA is known only through
 * that variable.
 */
const bin = path.join(projectRoot, "dist", "provider", "cli", "launch.js");

function runBin(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const clean: NodeJS.ProcessEnv = { ...process.env };
  delete clean.NODE_EXTRA_CA_CERTS;
  delete clean.NODE_OPTIONS;
  return runProcess(bin, args, {
    cwd: tempDir(),
    // The node running these tests, first on PATH: the sh header execs `node`.
    env: { ...clean, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ""}`, ...env },
  });
}

/** A static HTTPS server for one directory (a repository), with the given certificate. */
async function serveDirectory(root: string, cert: { certPem: string; keyPem: string }): Promise<Server> {
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url ?? "/", "https://x").pathname));
    if (!file.startsWith(root + path.sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-length": statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

describe("NODE_EXTRA_CA_CERTS through the bin, loaded at the first TLS connection", needsFixtures(), () => {
  const work = tempDir();
  const caFile = path.join(work, "extra-ca.pem");
  let registry: RegistryServer;
  let repoServer: Server;
  let image: TestImage;

  before(async () => {
    const ca = makeTestCa();
    const cert = ca.issue({ commonName: "127.0.0.1", ips: ["127.0.0.1"] });
    // The CA among others, as a system bundle holds it.
    writeFileSync(caFile, `${readFileSync("/etc/ssl/certs/ca-certificates.crt", "utf8")}\n${ca.certPem}`);
    registry = await startRegistry({ tls: { certPem: cert.certPem, keyPem: cert.keyPem } });
    repoServer = await serveDirectory(fixture("local-repo"), cert);
    image = await makeTestImage(path.join(work, "image"), { marker: "extra-ca" });
  });
  after(async () => {
    await registry?.stop();
    repoServer?.close();
  });

  test("node starts without the variable; the command's own processes get it back", async () => {
    assert.match(readFileSync(bin, "utf8"), /^#!\/bin\/sh\n":" \/\/;/, "npm run build writes the sh header");
    // A preload sees the environment node started with, and at exit the one children inherit.
    const seen = path.join(work, "seen.json");
    const preload = path.join(work, "see-env.js");
    writeFileSync(
      preload,
      `const at = (e) => ({ extra: e.NODE_EXTRA_CA_CERTS ?? null, deferred: e.PD_DEFERRED_EXTRA_CA_CERTS ?? null });
const start = at(process.env);
process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(seen)}, JSON.stringify({ start, exit: at(process.env) })));\n`,
    );
    const res = await runBin(["--version"], {
      NODE_EXTRA_CA_CERTS: caFile,
      NODE_OPTIONS: `--require ${preload}`,
    });
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(readFileSync(seen, "utf8")), {
      start: { extra: null, deferred: caFile },
      exit: { extra: caFile, deferred: null },
    });
    // NODE_OPTIONS choosing another CA store: left to node as it is.
    const kept = await runBin(["--version"], {
      NODE_EXTRA_CA_CERTS: caFile,
      NODE_OPTIONS: `--require ${preload} --use-openssl-ca`,
    });
    assert.equal(kept.code, 0, kept.stderr);
    assert.deepEqual(JSON.parse(readFileSync(seen, "utf8")).start, { extra: caFile, deferred: null });
  });

  test("a push to a TLS registry whose CA only NODE_EXTRA_CA_CERTS names succeeds", async () => {
    const reference = `${registry.host}/extra-ca/app:v1`;
    const res = await runBin(["push", image.layoutDir, reference, "--json"], { NODE_EXTRA_CA_CERTS: caFile });
    assert.equal(res.code, 0, res.stderr);
    const [result] = JSON.parse(res.stdout) as { indexDigest: string }[];
    assert.equal(result?.indexDigest, image.indexDigest);
    // Without the variable the same push is refused: it was the file's CA that was trusted.
    const without = await runBin(["push", image.layoutDir, reference], {});
    assert.notEqual(without.code, 0);
    assert.match(without.stderr, /not trusted/);
  });

  test("a lock from an https repository whose CA only NODE_EXTRA_CA_CERTS names succeeds", async () => {
    const repo = `https://127.0.0.1:${(repoServer.address() as AddressInfo).port}`;
    const config = path.join(work, "https.yaml");
    writeFileSync(
      config,
      `contents:\n  keyring:\n    - ${fixture("local-repo", "melange.rsa.pub")}\n  repositories:\n    - ${repo}\n` +
        "  packages:\n    - pretend-baselayout\narchs:\n  - x86_64\n",
    );
    const args = ["lock", config, "--cache-dir", path.join(work, "cache-lock")];
    const res = await runBin(args, { NODE_EXTRA_CA_CERTS: caFile });
    assert.equal(res.code, 0, res.stderr);
    const lock = JSON.parse(res.stdout) as Record<string, { name: string }[]>;
    assert.deepEqual(
      lock.x86_64?.map((p) => p.name),
      ["pretend-baselayout"],
    );
  });

  test("an unreadable file fails the first TLS connection with an error naming it, and nothing before", async () => {
    const missing = path.join(work, "no-such-ca.pem");
    const res = await runBin(["push", image.layoutDir, `${registry.host}/extra-ca/missing:v1`], {
      NODE_EXTRA_CA_CERTS: missing,
    });
    assert.notEqual(res.code, 0);
    assert.match(
      res.stderr,
      new RegExp(`${missing}: the NODE_EXTRA_CA_CERTS file cannot be read \\(ENOENT\\)`),
    );
    // A command making no TLS connection never reads it (and Node did not warn about it at start).
    const version = await runBin(["--version"], { NODE_EXTRA_CA_CERTS: missing });
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stderr, "");
  });
});
