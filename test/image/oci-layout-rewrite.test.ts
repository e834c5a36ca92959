import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { OciLayout } from "../../provider/image/oci-layout";
import { sha256Hex } from "../../provider/util/hash";
import { tempDir } from "../helpers/tmp";

/**
 * A rebuild into the same layout leaves what is already right alone (no rename over a blob, no
 * synced rewrite of an unchanged index.json), and still replaces what changed.
 */
describe("OCI layout rewrites", () => {
  test("adopting a blob the layout already has keeps the existing file and drops the temp", async () => {
    const dir = tempDir();
    const layout = new OciLayout(dir);
    const data = Buffer.from("layer bytes ".repeat(1000));
    const digest = `sha256:${sha256Hex(data)}`;
    mkdirSync(path.join(dir, "blobs", "sha256"), { recursive: true });
    const first = path.join(dir, "blobs", "sha256", ".first.tmp");
    writeFileSync(first, data);
    await layout.adoptBlob(first, digest);
    const target = layout.blobPath(digest);
    const inode = statSync(target).ino;
    const second = path.join(dir, "blobs", "sha256", ".second.tmp");
    writeFileSync(second, data);
    await layout.adoptBlob(second, digest);
    assert.equal(existsSync(second), false, "the temp file is removed");
    assert.equal(statSync(target).ino, inode, "the existing blob is kept, not replaced");
    assert.deepEqual(await layout.readBlob(digest), data);
  });

  for (const [what, impostor] of [
    ["the wrong size", "cut"],
    ["the right size but other bytes", "the fake layer"],
  ] as const) {
    test(`a blob of ${what} under the digest's name is replaced`, async () => {
      const dir = tempDir();
      const layout = new OciLayout(dir);
      const data = Buffer.from("the real layer");
      const digest = `sha256:${sha256Hex(data)}`;
      const target = layout.blobPath(digest);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, impostor);
      const tmp = path.join(dir, "blobs", "sha256", ".layer.tmp");
      writeFileSync(tmp, data);
      await layout.adoptBlob(tmp, digest);
      assert.deepEqual(await layout.readBlob(digest), data);
      assert.equal(existsSync(tmp), false);
    });
  }

  test("index.json is rewritten only when its content changes", async () => {
    const dir = tempDir();
    const layout = new OciLayout(dir);
    const manifest = {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: `sha256:${"a".repeat(64)}`,
      size: 1,
    };
    await layout.writeIndex([manifest]);
    const index = path.join(dir, "index.json");
    const before = statSync(index).ino;
    const layoutFile = statSync(path.join(dir, "oci-layout")).ino;
    await layout.writeIndex([manifest]);
    assert.equal(statSync(index).ino, before, "same content: the file is left alone");
    assert.equal(statSync(path.join(dir, "oci-layout")).ino, layoutFile);
    await layout.writeIndex([manifest, { ...manifest, digest: `sha256:${"b".repeat(64)}` }]);
    assert.notEqual(statSync(index).ino, before, "new content: replaced atomically");
    assert.equal((await layout.readIndex()).manifests.length, 2);
    assert.equal(JSON.parse(readFileSync(path.join(dir, "oci-layout"), "utf8")).imageLayoutVersion, "1.0.0");
  });
});
