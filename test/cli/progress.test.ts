import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli, runProcess } from "../helpers/cli";
import { projectRoot } from "../helpers/fixtures";
import { entryOf, makeApk, makeTestKey, signedIndex } from "../helpers/hostile-repo";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { needsTools } from "../registry/readback";

/** 4 MiB of random (incompressible) bytes: the apk, the layer and the upload are all large. */
const BIG = 4 << 20;

/**
 * A project whose image holds one large package from a signed repository served over HTTP: a build
 * with --push downloads it, writes a large layer and uploads a large blob, the three transfers
 * whose bytes the CLI shows.
 */
async function largeImageProject(): Promise<{ config: string; close(): Promise<void> }> {
  const dir = tempDir("pd-progress-");
  const key = await makeTestKey(dir, "progress.rsa");
  const apk = await makeApk(dir, {
    name: "big",
    version: "1.0-r0",
    key: key.key,
    entries: [
      { path: "usr", type: "directory", mode: 0o755, uid: 0, gid: 0 },
      { path: "usr/share", type: "directory", mode: 0o755, uid: 0, gid: 0 },
      { path: "usr/share/big.bin", type: "file", mode: 0o644, uid: 0, gid: 0, content: randomBytes(BIG) },
    ],
  });
  const server = await trickleServer(
    new Map([
      ["/repo/x86_64/big-1.0-r0.apk", readFileSync(apk)],
      ["/repo/x86_64/APKINDEX.tar.gz", signedIndex([await entryOf(apk)], key.key)],
    ]),
  );
  const config = path.join(dir, "apko.yaml");
  writeFileSync(
    config,
    [
      "contents:",
      `  keyring: [ ${key.publicKeyFile} ]`,
      `  repositories: [ ${server.url}/repo ]`,
      "  packages: [ big ]",
      "archs: [ x86_64 ]",
      "",
    ].join("\n"),
  );
  return { config, close: server.close };
}

/**
 * A file server that sends each body in 256 KiB slices with a pause between them, as a remote
 * repository's bytes arrive: the download is reported piece by piece, not in one local gulp.
 */
async function trickleServer(files: Map<string, Buffer>): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(async (req, res) => {
    const body = files.get(new URL(req.url ?? "/", "http://x").pathname);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-length": body.length, "content-type": "application/octet-stream" });
    for (let at = 0; at < body.length; at += 256 << 10) {
      res.write(body.subarray(at, at + (256 << 10)));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** `'…'` for sh. */
const shellQuote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

describe("CLI: progress shows bytes within large transfers, on stderr only", needsTools("script"), () => {
  let registry: RegistryServer;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry?.stop();
  });

  // One project (its server and temp files live as long as this test) for both kinds of stderr.
  test("a build --push of a large package: downloading, writing the layer, uploading", async (t) => {
    const project = await largeImageProject();
    t.after(() => project.close());
    const buildArgs = (repo: string, cache: string) => [
      "build",
      project.config,
      "--push",
      `${registry.host}/progress/${repo}:v1`,
      "--cache-dir",
      cache,
      "--no-vcs",
      "--json",
    ];

    await t.test(
      "not a terminal: plain lines per quarter of each transfer; stdout is only the JSON",
      async () => {
        const r = await runCli(buildArgs("plain", tempDir()));
        assert.equal(r.code, 0, r.stderr);
        const result = JSON.parse(r.stdout) as { pushed: { imageRef: string }[] };
        assert.equal(result.pushed.length, 1);
        assert.doesNotMatch(r.stdout, /downloading|writing layer|uploading/);
        assert.ok(!r.stderr.includes("\r") && !r.stderr.includes("\x1b"), "no terminal control in a pipe");
        const percents = (re: RegExp) => [...r.stderr.matchAll(re)].map((m) => Number(m[1]));
        const lines = {
          download: percents(/^downloading big-1\.0-r0: [\d.]+ [KM]iB of 4\.\d MiB \((\d+)%\)$/gm),
          layer: percents(/^x86_64: writing layer: [\d.]+ [KM]iB of 4\.\d MiB \((\d+)%\)$/gm),
          upload: percents(/^uploading sha256:[0-9a-f]{12}: [\d.]+ [KM]iB of 4\.\d MiB \((\d+)%\)$/gm),
        };
        for (const [what, seen] of Object.entries(lines)) {
          // A line as each quarter is passed (a chunk may pass two at once), climbing, never 100%.
          // (The local server sends the download in a few big chunks: a line at least.)
          assert.ok(seen.length >= (what === "download" ? 1 : 2), `${what}: ${seen.join(", ")}\n${r.stderr}`);
          assert.ok(seen.length <= 3 + 1, `${what}: at most one line per quarter (and one per 5 s)`);
          assert.deepEqual(
            [...seen].sort((a, b) => a - b),
            seen,
            `${what} climbs`,
          );
          assert.ok(
            seen.every((p) => p >= 25 && p < 100),
            `${what}: ${seen.join(", ")}`,
          );
        }
      },
    );

    await t.test(
      "a terminal: one bar rewritten with \\r, erased at the end; stdout (redirected) is only the JSON",
      async () => {
        const work = tempDir();
        const out = path.join(work, "out.json");
        const bin = path.join(projectRoot, "dist", "provider", "cli", "launch.js");
        const command = [process.execPath, bin, ...buildArgs("tty", path.join(work, "cache"))]
          .map(shellQuote)
          .join(" ");
        // script(1) runs the command on a pseudo-terminal: its stderr is a TTY, its stdout the file.
        const r = await runProcess("script", ["-qfec", `${command} > ${shellQuote(out)}`, "/dev/null"], {
          env: { ...process.env, TERM: "xterm", COLUMNS: "120" },
        });
        // ESC shown as `<ESC>`, so the expressions below hold no control character.
        const screen = r.stdout.replaceAll("\x1b", "<ESC>");
        assert.equal(r.code, 0, screen);
        const json = readFileSync(out, "utf8");
        assert.ok(!json.includes("\x1b") && !json.includes("\r"), "no terminal control in the JSON");
        assert.doesNotMatch(json, /downloading|uploading/);
        assert.equal((JSON.parse(json) as { pushed: unknown[] }).pushed.length, 1);

        const bars = [
          ...screen.matchAll(/\r([^\r\n<]* \[[#-]{20}\] \d+% [\d.]+ [KM]iB\/[\d.]+ MiB)<ESC>\[K/g),
        ].map((m) => m[1]!);
        for (const what of [
          /downloading big-1\.0-r0/,
          /x86_64: writing layer/,
          /uploading sha256:[0-9a-f]{12}/,
        ]) {
          assert.ok(
            bars.some((b) => what.test(b)),
            `a bar for ${what}: ${JSON.stringify(bars)}`,
          );
        }
        // No plain progress lines on a terminal, and the last thing drawn is the erasure of the bar.
        assert.doesNotMatch(screen, /\(\d+%\)\r?\n/);
        const lastBar = screen.lastIndexOf(bars[bars.length - 1]!);
        assert.ok(screen.indexOf("\r<ESC>[K", lastBar) > lastBar, "the bar is erased after its last drawing");
      },
    );
  });
});
