import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readApkHead } from "../../provider/apk/apk-reader";
import { readIndexArchive } from "../../provider/apk/index-archive";
import { Keyring, loadPrivateKey } from "../../provider/apk/keys";
import { PUBLISH_LOCK, publishPackages } from "../../provider/repository/publish";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures, projectRoot } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

const KEY = () => fixture("local-repo/melange.rsa");
const apks = (arch: string) =>
  readdirSync(fixture("local-repo", arch))
    .filter((n) => n.endsWith(".apk"))
    .sort()
    .map((n) => fixture("local-repo", arch, n));

async function readIndex(root: string, arch: string) {
  const keyring = await Keyring.fromPaths([fixture("local-repo/melange.rsa.pub")]);
  return readIndexArchive(readFileSync(path.join(root, arch, "APKINDEX.tar.gz")), { keyring });
}

/** Every package the index names is there, with the index's C:. */
async function assertConsistent(root: string, arch: string): Promise<string[]> {
  const idx = await readIndex(root, arch);
  for (const e of idx.entries) {
    const head = await readApkHead(path.join(root, arch, `${e.name}-${e.version}.apk`));
    assert.equal(head.controlChecksum, e.checksum, `${e.name} C:`);
  }
  return idx.entries.map((e) => e.name);
}

/** Runs a child node process publishing with `publishPackages`; `hook` is JS run before the index. */
function childPublish(root: string, packages: string[], opts: { prune?: boolean; hook?: string } = {}) {
  const mod = path.join(projectRoot, "dist/provider/repository/publish.js");
  const script = `
    const { publishPackages } = require(${JSON.stringify(mod)});
    const fs = require("node:fs");
    publishPackages({
      root: ${JSON.stringify(root)},
      packages: ${JSON.stringify(packages)},
      signingKey: ${JSON.stringify(KEY())},
      prune: ${opts.prune === true},
      beforeIndex: async (arch) => { ${opts.hook ?? ""} },
    }).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); });`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, done };
}

describe("publishing a local repository", needsFixtures(), () => {
  test("copies apks per arch and writes a signed, sorted index that verifies; the key is published", async () => {
    const root = tempDir();
    const result = await publishPackages({
      root,
      packages: [...apks("x86_64"), ...apks("aarch64")],
      signingKey: KEY(),
    });
    assert.deepEqual(
      result.archs.map((a) => a.arch),
      ["aarch64", "x86_64"],
    );
    for (const a of result.archs) {
      const names = await assertConsistent(root, a.arch);
      assert.deepEqual(names, ["custom-ca-certs-1", "custom-ca-certs-2", "pretend-baselayout", "replayout"]);
      assert.deepEqual(
        a.packages.map((p) => p.name),
        names,
      );
      const idx = await readIndex(root, a.arch);
      assert.equal(idx.verifiedBy?.keyName, "melange.rsa.pub");
      assert.equal(idx.signatures[0]?.algorithm, "sha256");
      assert.match(a.indexDigest, /^sha256:[0-9a-f]{64}$/);
    }
    assert.equal(readFileSync(path.join(root, "melange.rsa.pub"), "utf8"), result.publicKeyPem);
    // Same C: as melange's own index for these packages.
    const theirs = await readIndexArchive(readFileSync(fixture("local-repo/x86_64/APKINDEX.tar.gz")), {
      allowUntrusted: true,
    });
    const ours = await readIndex(root, "x86_64");
    assert.deepEqual(
      ours.entries.map((e) => [e.name, e.checksum, e.size]),
      theirs.entries.map((e) => [e.name, e.checksum, e.size]).sort(),
    );
  });

  test("index bytes are deterministic: same packages in any order, any directory -> same bytes", async () => {
    const a = tempDir();
    const b = tempDir();
    const ra = await publishPackages({ root: a, packages: apks("x86_64"), signingKey: KEY() });
    const rb = await publishPackages({ root: b, packages: [...apks("x86_64")].reverse(), signingKey: KEY() });
    assert.deepEqual(
      readFileSync(path.join(a, "x86_64/APKINDEX.tar.gz")),
      readFileSync(path.join(b, "x86_64/APKINDEX.tar.gz")),
    );
    assert.equal(ra.archs[0]!.indexDigest, rb.archs[0]!.indexDigest);
    // Publishing the same again changes nothing.
    const again = await publishPackages({ root: a, packages: apks("x86_64"), signingKey: KEY() });
    assert.equal(again.archs[0]!.indexDigest, ra.archs[0]!.indexDigest);
  });

  test("adds to what is there; --prune drops (and then deletes) packages no longer listed", async () => {
    const root = tempDir();
    const [c1, c2, pretend, replayout] = apks("x86_64");
    await publishPackages({ root, packages: [c1!, c2!], signingKey: KEY() });
    await publishPackages({ root, packages: [pretend!], signingKey: KEY() });
    assert.deepEqual(await assertConsistent(root, "x86_64"), [
      "custom-ca-certs-1",
      "custom-ca-certs-2",
      "pretend-baselayout",
    ]);
    await publishPackages({ root, packages: [aarch(pretend!)], signingKey: KEY() });
    const pruned = await publishPackages({
      root,
      packages: [pretend!, replayout!],
      signingKey: KEY(),
      prune: true,
    });
    assert.deepEqual(await assertConsistent(root, "x86_64"), ["pretend-baselayout", "replayout"]);
    assert.ok(!existsSync(path.join(root, "x86_64", path.basename(c1!))));
    // aarch64 held a package not listed this time: pruned to an empty (still signed) index.
    assert.deepEqual(
      pruned.archs.map((a) => [a.arch, a.packages.length]),
      [
        ["aarch64", 0],
        ["x86_64", 2],
      ],
    );
    assert.deepEqual(await assertConsistent(root, "aarch64"), []);
  });

  test("a failure before the index is written leaves the previous index, byte for byte", async () => {
    const root = tempDir();
    const [c1, c2] = apks("x86_64");
    await publishPackages({ root, packages: [c1!], signingKey: KEY() });
    const before = readFileSync(path.join(root, "x86_64/APKINDEX.tar.gz"));
    await assert.rejects(
      publishPackages({
        root,
        packages: [c2!],
        signingKey: KEY(),
        prune: true,
        beforeIndex: async () => {
          throw new Error("disk full (simulated)");
        },
      }),
      /disk full/,
    );
    assert.deepEqual(readFileSync(path.join(root, "x86_64/APKINDEX.tar.gz")), before);
    assert.deepEqual(await assertConsistent(root, "x86_64"), ["custom-ca-certs-1"]);
  });

  test("a publisher killed mid-publish leaves the old index valid; the next one takes over its lock", async () => {
    const root = tempDir();
    const [c1, c2, pretend] = apks("x86_64");
    await publishPackages({ root, packages: [c1!], signingKey: KEY() });
    const before = readFileSync(path.join(root, "x86_64/APKINDEX.tar.gz"));
    const marker = path.join(tempDir(), "reached");
    const { child, done } = childPublish(root, [c2!, pretend!], {
      prune: true,
      hook: `fs.writeFileSync(${JSON.stringify(marker)}, "x"); setInterval(() => {}, 1000); await new Promise(() => {});`,
    });
    while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 20));
    assert.ok(existsSync(path.join(root, PUBLISH_LOCK)), "the killed publisher held the lock");
    child.kill("SIGKILL");
    const res = await done;
    assert.equal(res.signal, "SIGKILL");
    assert.deepEqual(readFileSync(path.join(root, "x86_64/APKINDEX.tar.gz")), before);
    assert.deepEqual(await assertConsistent(root, "x86_64"), ["custom-ca-certs-1"]);
    // The stale lock (dead pid) does not block the next publisher.
    await publishPackages({ root, packages: [pretend!], signingKey: KEY() });
    assert.deepEqual(await assertConsistent(root, "x86_64"), [
      "custom-ca-certs-1",
      "custom-ca-certs-2",
      "pretend-baselayout",
    ]);
    assert.deepEqual(
      readdirSync(path.join(root, "x86_64")).filter((n) => n.endsWith(".tmp")),
      [],
    );
  });

  test("concurrent publishers are serialized and both land; readers never see an index naming a missing apk", async () => {
    const root = tempDir();
    const [c1, c2, pretend, replayout] = apks("x86_64");
    await publishPackages({ root, packages: [c1!], signingKey: KEY() });
    const log = path.join(tempDir(), "sections.log");
    writeFileSync(log, "");
    const hook = (who: string) =>
      `fs.appendFileSync(${JSON.stringify(log)}, "start ${who}\\n"); await new Promise((r) => setTimeout(r, 300)); fs.appendFileSync(${JSON.stringify(log)}, "end ${who}\\n");`;
    // A reader polling the index meanwhile: whenever an index names a package whose file is missing
    // and the index has not changed since it was read, the repository lied.
    let stop = false;
    let reads = 0;
    const violations: string[] = [];
    const reader = (async () => {
      const indexFile = path.join(root, "x86_64/APKINDEX.tar.gz");
      while (!stop) {
        const bytes = readFileSync(indexFile);
        const idx = await readIndexArchive(bytes, { allowUntrusted: true });
        for (const e of idx.entries) {
          const f = path.join(root, "x86_64", `${e.name}-${e.version}.apk`);
          if (!existsSync(f) && readFileSync(indexFile).equals(bytes)) violations.push(`${e.name} missing`);
        }
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const p1 = childPublish(root, [c2!], { hook: hook("one") });
    const p2 = childPublish(root, [pretend!, replayout!], { hook: hook("two") });
    const [r1, r2] = await Promise.all([p1.done, p2.done]);
    // And one that prunes, racing with the reader.
    await publishPackages({ root, packages: [pretend!, replayout!], signingKey: KEY(), prune: true });
    stop = true;
    await reader;
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r2.code, 0, r2.stderr);
    const lines = readFileSync(log, "utf8").trim().split("\n");
    assert.equal(lines.length, 4);
    assert.ok(
      lines.join(",") === "start one,end one,start two,end two" ||
        lines.join(",") === "start two,end two,start one,end one",
      `critical sections interleaved: ${lines.join(", ")}`,
    );
    assert.ok(reads > 0);
    assert.deepEqual(violations, []);
    assert.deepEqual(await assertConsistent(root, "x86_64"), ["pretend-baselayout", "replayout"]);
  });

  test("refuses corrupt apks and hostile metadata before touching the repository", async () => {
    const root = tempDir();
    const bad = path.join(tempDir(), "broken.apk");
    const good = readFileSync(apks("x86_64")[0]!);
    writeFileSync(bad, good.subarray(0, good.length - 100));
    await assert.rejects(publishPackages({ root, packages: [bad], signingKey: KEY() }), /broken\.apk/);
    assert.ok(!existsSync(path.join(root, "x86_64")));
    const twice = path.join(tempDir(), "copy.apk");
    copyFileSync(apks("x86_64")[0]!, twice);
    await assert.rejects(
      publishPackages({ root, packages: [apks("x86_64")[0]!, twice], signingKey: KEY() }),
      /given twice/,
    );
  });

  test("the publish verb", async () => {
    const root = tempDir();
    const res = await runCli(["publish", root, ...apks("x86_64"), "--signing-key", KEY(), "--json"]);
    assert.equal(res.code, 0, res.stderr);
    const out = JSON.parse(res.stdout) as {
      keyName: string;
      archs: { arch: string; indexDigest: string; packages: unknown[] }[];
    };
    assert.equal(out.keyName, "melange.rsa.pub");
    assert.equal(out.archs[0]?.packages.length, 4);
    const human = await runCli(["publish", root, apks("x86_64")[2]!, "--signing-key", KEY(), "--prune"]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      /x86_64\/APKINDEX\.tar\.gz sha256:[0-9a-f]{64} \(1 packages, signed by melange\.rsa\.pub\)/,
    );
    const noKey = await runCli(["publish", root, apks("x86_64")[0]!]);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /--signing-key/);
    const key = await loadPrivateKey(KEY());
    assert.ok(
      !res.stdout.includes(
        key.privateKey.export({ type: "pkcs1", format: "pem" }).toString().split("\n")[1]!,
      ),
    );
  });
});

function aarch(x86File: string): string {
  return fixture("local-repo", "aarch64", path.basename(x86File));
}
