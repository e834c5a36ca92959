/**
 * The source digest cache (provider/build/source/digest-cache.ts): an unchanged source tree is
 * digested from `lstat` alone, and every kind of change still changes the digest exactly as a
 * digest without the cache would, including the edits a stat check can be fooled by in principle
 * (same size, mtime put back) and a file swapped in by rename.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { generateSigningKey, parsePrivateKey } from "../../provider/apk/keys";
import { prepareBuild } from "../../provider/build/prepare";
import { SETTLED_MS } from "../../provider/build/source/digest-cache";
import { listSourceTree, sourceTreeDigest } from "../../provider/build/source/source-tree";
import { loadSealKey, SEAL_BYTES, sealBytes } from "../../provider/repository/cache-seal";
import { tempDir } from "../helpers/tmp";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A small tree whose files are old enough to be remembered. */
async function settledTree(): Promise<{ root: string; cacheDir: string }> {
  const dir = tempDir();
  const root = path.join(dir, "src");
  mkdirSync(path.join(root, "sub"), { recursive: true });
  writeFileSync(path.join(root, "a.txt"), "alpha alpha\n");
  writeFileSync(path.join(root, "sub", "b.txt"), "bravo bravo\n");
  writeFileSync(path.join(root, "big.bin"), Buffer.alloc(200 << 10, 7)); // above the PEM scan size
  await sleep(SETTLED_MS + 200);
  return { root, cacheDir: path.join(dir, "cache") };
}

async function digest(root: string, cacheDir?: string): Promise<string> {
  return sourceTreeDigest(await listSourceTree(root, cacheDir ? { cacheDir } : {}));
}

function cacheFile(cacheDir: string): string {
  const dir = path.join(cacheDir, "source-digests");
  const files = readdirSync(dir);
  assert.equal(files.length, 1, files.join(", "));
  return path.join(dir, files[0]!);
}

interface Doc {
  root: string;
  files: Record<string, [string, string]>;
}

/** The record without its seal (the last SEAL_BYTES bytes). */
function readDoc(cacheDir: string): Doc {
  const bytes = readFileSync(cacheFile(cacheDir));
  return JSON.parse(bytes.subarray(0, bytes.length - SEAL_BYTES).toString("utf8")) as Doc;
}

function recorded(cacheDir: string): Record<string, [string, string]> {
  return readDoc(cacheDir).files;
}

/** Writes `doc` sealed under the real key for `root`, as a process holding the key could. */
async function writeSealed(cacheDir: string, root: string, doc: Doc): Promise<void> {
  const key = await loadSealKey({ env: process.env });
  assert.ok(key, "the cache seal key");
  const body = Buffer.from(JSON.stringify(doc));
  writeFileSync(cacheFile(cacheDir), Buffer.concat([body, sealBytes(key, `source-digests\0${root}`, body)]));
}

test("an unchanged tree is digested from the remembered hashes, to the digest it has without them", async () => {
  const { root, cacheDir } = await settledTree();
  const cold = await digest(root);
  assert.equal(await digest(root, cacheDir), cold);
  assert.deepEqual(Object.keys(recorded(cacheDir)).sort(), ["a.txt", "big.bin", "sub/b.txt"]);
  assert.equal(await digest(root, cacheDir), cold);

  // The remembered hash is what a stat-identical file is digested by: proof that it was not read.
  const doc = readDoc(cacheDir);
  doc.files["a.txt"]![1] = "0".repeat(64);
  await writeSealed(cacheDir, doc.root, doc);
  assert.notEqual(await digest(root, cacheDir), cold);
});

test("a record planted in a shared cache without the seal key is ignored", async () => {
  const { root, cacheDir } = await settledTree();
  const cold = await digest(root);
  await digest(root, cacheDir);
  const doc = readDoc(cacheDir);
  doc.files["a.txt"]![1] = "0".repeat(64);
  const body = Buffer.from(JSON.stringify(doc));
  // Unsealed, and sealed under a key that is not ours.
  for (const forged of [
    body,
    Buffer.concat([body, sealBytes(Buffer.alloc(32, 1), `source-digests\0${doc.root}`, body)]),
  ]) {
    writeFileSync(cacheFile(cacheDir), forged);
    assert.equal(await digest(root, cacheDir), cold);
  }
});

test("a same-size edit with the mtime put back still changes the digest", async () => {
  const { root, cacheDir } = await settledTree();
  const before = await digest(root, cacheDir);
  for (const rel of ["a.txt", "big.bin"]) {
    const p = path.join(root, rel);
    const st = statSync(p, { bigint: true });
    // touch -r keeps the times to the nanosecond (utimes from JS rounds them).
    const ref = path.join(root, "..", "times-ref");
    execFileSync("touch", ["-r", p, ref]);
    const content = readFileSync(p);
    content[0] = content[0]! ^ 1;
    writeFileSync(p, content);
    execFileSync("touch", ["-r", ref, p]);
    const now = statSync(p, { bigint: true });
    assert.equal(now.size, st.size);
    assert.equal(now.mtimeNs, st.mtimeNs);
  }
  // Once the edit has settled, only its ctime tells the files apart from what the cache remembers.
  await sleep(SETTLED_MS + 200);
  const after = await digest(root, cacheDir);
  assert.notEqual(after, before, "edited in place");
  assert.equal(after, await digest(root), "the cached digest is the cold one");
});

test("a file renamed over another one of the same size and mtime changes the digest", async () => {
  const { root, cacheDir } = await settledTree();
  const before = await digest(root, cacheDir);
  const target = path.join(root, "a.txt");
  const swap = path.join(root, "..", "swap.txt");
  writeFileSync(swap, "ALPHA alpha\n");
  execFileSync("touch", ["-r", target, swap]);
  renameSync(swap, target);
  const after = await digest(root, cacheDir);
  assert.notEqual(after, before);
  assert.equal(after, await digest(root));
});

test("a mode change, a new file and a removed file change the digest as without the cache", async () => {
  const { root, cacheDir } = await settledTree();
  const before = await digest(root, cacheDir);
  chmodSync(path.join(root, "a.txt"), 0o600);
  const chmodded = await digest(root, cacheDir);
  assert.notEqual(chmodded, before);
  assert.equal(chmodded, await digest(root));
  writeFileSync(path.join(root, "new.txt"), "new\n");
  const added = await digest(root, cacheDir);
  assert.equal(added, await digest(root));
  assert.notEqual(added, chmodded);
  rmSync(path.join(root, "sub", "b.txt"));
  const removed = await digest(root, cacheDir);
  assert.equal(removed, await digest(root));
  assert.notEqual(removed, added);
});

test("files changed just before the listing are not remembered (racily clean, as git calls it)", async () => {
  const dir = tempDir();
  const root = path.join(dir, "src");
  mkdirSync(root);
  writeFileSync(path.join(root, "fresh.txt"), "fresh\n");
  const cacheDir = path.join(dir, "cache");
  await digest(root, cacheDir);
  // Nothing was settled, so nothing was worth writing down.
  assert.throws(() => cacheFile(cacheDir), /ENOENT/);
});

test("a corrupt or foreign cache file is ignored", async () => {
  const { root, cacheDir } = await settledTree();
  const cold = await digest(root);
  await digest(root, cacheDir);
  const file = cacheFile(cacheDir);
  for (const junk of [
    "{not json",
    JSON.stringify({ v: 1, root: "/elsewhere", files: { "a.txt": ["x", "0".repeat(64)] } }),
  ]) {
    writeFileSync(file, junk);
    assert.equal(await digest(root, cacheDir), cold);
  }
  // Sealed for this root but recording another tree's files.
  await writeSealed(cacheDir, readDoc(cacheDir).root, {
    ...readDoc(cacheDir),
    root: "/elsewhere",
    files: { "a.txt": ["x", "0".repeat(64)] },
  });
  assert.equal(await digest(root, cacheDir), cold);
});

test("a PEM private key is scanned on every listing: it is left out once it becomes the signing key", async () => {
  const { root, cacheDir } = await settledTree();
  const pair = await generateSigningKey(2048);
  const keyFile = path.join(root, "test-key.pem");
  writeFileSync(keyFile, pair.privateKeyPem);
  // The package's test suite needs this key: taken back into the workspace.
  writeFileSync(path.join(root, ".melangeignore"), "!test-key.pem\n");
  await sleep(SETTLED_MS + 200);
  const first = await listSourceTree(root, { cacheDir });
  await sourceTreeDigest(first);
  assert.ok(first.entries.some((e) => e.path === "test-key.pem"));
  assert.ok(!("test-key.pem" in recorded(cacheDir)), "a PEM key is never remembered");
  const signingKey = parsePrivateKey(pair.privateKeyPem, "other.rsa.pub");
  const second = await listSourceTree(root, { cacheDir, signingKey });
  assert.ok(!second.entries.some((e) => e.path === "test-key.pem"));
  assert.deepEqual(second.excluded, [{ path: "test-key.pem", reason: "signing key" }]);
});

test("the build's inputDigest (what decides a rebuild) follows a same-size edit with the mtime put back", async () => {
  const { root, cacheDir } = await settledTree();
  const recipeFile = path.join(root, "..", "melange.yaml");
  writeFileSync(
    recipeFile,
    `package:\n  name: cached\n  version: 1.0.0\n  epoch: 0\npipeline:\n  - runs: cp a.txt \${{targets.destdir}}/\n`,
  );
  const inputDigest = async () =>
    (await prepareBuild({ recipeFile, sourceDir: root, arch: "x86_64", runner: "host", cacheDir }))
      .inputDigest;
  const before = await inputDigest();
  assert.equal(await inputDigest(), before, "unchanged inputs, unchanged digest");
  const p = path.join(root, "a.txt");
  const ref = path.join(root, "..", "times-ref");
  execFileSync("touch", ["-r", p, ref]);
  writeFileSync(p, "ALPHA alpha\n");
  execFileSync("touch", ["-r", ref, p]);
  await sleep(SETTLED_MS + 200);
  assert.notEqual(await inputDigest(), before);
});
