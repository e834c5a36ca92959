import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { listSourceTree, sourceTreeDigest } from "../../provider/build/source/source-tree";
import { tempDir } from "../helpers/tmp";

function put(root: string, rel: string, content = rel): void {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), content);
}

test("a Pulumi project as the source directory: dependencies, VCS, state, stack config and outputs stay out", async () => {
  const root = tempDir();
  for (const rel of [
    "melange.yaml",
    "src/main.c",
    "Pulumi.yaml",
    "Pulumi.dev.yaml",
    "node_modules/@pulumi/pulumi/index.js",
    ".git/HEAD",
    ".pulumi/stacks/dev.json",
    ".distroless/packages/app/x86_64/app-1.0-r0.apk",
    "repo/x86_64/APKINDEX.tar.gz",
    "repo/x86_64/app-1.0-r0.apk",
    "repo/.publish.lock",
    "repo/distroless-0123abcd.rsa.pub",
    "docs/notes.apk.md",
  ])
    put(root, rel);
  const listed = (await listSourceTree(root)).entries.map((e) => e.path);
  assert.deepEqual(listed, ["Pulumi.yaml", "docs", "docs/notes.apk.md", "melange.yaml", "src", "src/main.c"]);

  // What the resources write, and `npm install`, no longer change the digest.
  const before = await sourceTreeDigest(await listSourceTree(root));
  put(root, "node_modules/left-pad/index.js");
  put(root, "repo/x86_64/app-1.1-r0.apk");
  put(root, "Pulumi.dev.yaml", "config: changed");
  put(root, "out/aarch64/APKINDEX.tar.gz"); // a new repository directory: only ignored files in it
  assert.equal(await sourceTreeDigest(await listSourceTree(root)), before);
  put(root, "src/main.c", "changed");
  assert.notEqual(await sourceTreeDigest(await listSourceTree(root)), before);

  // .melangeignore can take a default back.
  put(root, ".melangeignore", "!node_modules/\n");
  mkdirSync(path.join(root, "empty-on-purpose"));
  const back = (await listSourceTree(root)).entries.map((e) => e.path);
  assert.ok(back.includes("empty-on-purpose"), "a directory that is empty by itself is still a source");
  assert.ok(back.includes("node_modules/left-pad/index.js"), back.join(", "));
});

test("a large source tree is reported once, with what to do", async () => {
  const root = tempDir();
  put(root, "big.bin", Buffer.alloc(101 * 2 ** 20).toString());
  const notes: string[] = [];
  await listSourceTree(root, { onLarge: (m) => notes.push(m) });
  assert.equal(notes.length, 1);
  assert.match(
    notes[0]!,
    /holds 1 files \(101 MiB\).*set sourceDir, or list what the build does not need in \.melangeignore/,
  );
});
