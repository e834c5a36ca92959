/**
 * Hostile base images (`contents.baseimage`): a layout someone else wrote is read without trusting
 * it. Each case starts from a real base built by our assembler, changes one thing (re-digesting
 * what must be re-digested so only that one thing is wrong), and must be refused with the field,
 * the layout and the blob named, leaving nothing half-written in the output layout.
 */
import * as assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { copyBaseLayers, loadBase, openBaseImage, readBaseInstalled } from "../../provider/image/base";
import type { BaseImageRef } from "../../provider/image/config";
import { OciLayout } from "../../provider/image/oci-layout";
import { jsonBytes } from "../../provider/image/oci-objects";
import type { Descriptor, ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { isDistrolessError } from "../../provider/util/errors";
import { refusal } from "../helpers/hostile-apk";
import { tempDir } from "../helpers/tmp";
import { type BaseFixture, makeBase } from "../image/base-image-helpers";

const INDEX = "application/vnd.oci.image.index.v1+json";

/** Rewrites the base's (nested) index, manifest or config, re-digesting each level above the change. */
async function rewrite(
  dir: string,
  change: {
    top?: (manifests: Descriptor[]) => void;
    manifest?: (m: ImageManifest) => void;
    config?: (c: Record<string, unknown>) => void;
  },
): Promise<void> {
  const layout = new OciLayout(dir);
  const top = await layout.readIndex();
  const indexDesc = top.manifests.find((m) => m.mediaType === INDEX)!;
  const index = await layout.readJsonBlob<ImageIndex>(indexDesc.digest);
  const manifestDesc = index.manifests[0]!;
  const manifest = await layout.readJsonBlob<ImageManifest>(manifestDesc.digest);
  if (change.config) {
    const config = await layout.readJsonBlob<Record<string, unknown>>(manifest.config.digest);
    change.config(config);
    manifest.config = { ...manifest.config, ...(await layout.writeBlob(jsonBytes(config))) };
  }
  change.manifest?.(manifest);
  index.manifests[0] = { ...manifestDesc, ...(await layout.writeBlob(jsonBytes(manifest))) };
  const manifests = [{ ...indexDesc, ...(await layout.writeBlob(jsonBytes(index))) }];
  change.top?.(manifests);
  await layout.writeIndex(manifests);
}

describe("hostile base image layouts", () => {
  const dir = tempDir();
  let fx: BaseFixture;
  let n = 0;
  before(async () => {
    fx = await makeBase(dir);
  });

  /** A fresh copy of the base layout (and its installed list) to spoil. */
  function copy(): BaseImageRef {
    const at = path.join(dir, `case-${++n}`);
    cpSync(fx.image, path.join(at, "oci"), { recursive: true });
    return { image: path.join(at, "oci"), apkindex: fx.apkindex, written: { image: "oci", apkindex: "idx" } };
  }

  const layerDigest = () => fx.base.platforms[0]!.layers[0]!.digest;

  test("a missing directory names the field and the path", async () => {
    const ref = { ...copy(), image: path.join(dir, "nowhere") };
    await assert.rejects(
      openBaseImage(ref, "x86_64"),
      refusal("E_MISSING", /contents\.baseimage\.image: .*nowhere does not exist/),
    );
  });

  test("a directory that is not an OCI layout (no oci-layout marker)", async () => {
    const ref = copy();
    rmSync(path.join(ref.image, "oci-layout"));
    await assert.rejects(openBaseImage(ref, "x86_64"), refusal("E_MISSING", /no oci-layout/));
  });

  test("a blob reference that climbs out of blobs/ is refused before any file is opened", async () => {
    const ref = copy();
    await rewrite(ref.image, {
      top: (m) => {
        m[0]!.digest = "sha256:../../../../etc/passwd";
      },
    });
    await assert.rejects(openBaseImage(ref, "x86_64"), refusal("E_HOSTILE", /only sha256:<64 hex> digests/));
  });

  test("a descriptor claiming a huge size is refused without reading the blob", async () => {
    const ref = copy();
    await rewrite(ref.image, {
      top: (m) => {
        m[0]!.size = 2 ** 60;
      },
    });
    await assert.rejects(openBaseImage(ref, "x86_64"), refusal("E_HOSTILE", /not a byte count/));
    const big = copy();
    await rewrite(big.image, {
      top: (m) => {
        m[0]!.size = 1 << 30;
      },
    });
    await assert.rejects(openBaseImage(big, "x86_64"), refusal("E_HOSTILE", /over 4194304/));
  });

  test("a layer of a media type we cannot unpack is refused, naming the type", async () => {
    const ref = copy();
    await rewrite(ref.image, {
      manifest: (m) => {
        m.layers[0]!.mediaType = "application/vnd.oci.image.layer.v1.tar+zstd";
      },
    });
    await assert.rejects(
      openBaseImage(ref, "x86_64"),
      refusal("E_FORMAT", /layers\[0\] has media type .*zstd/),
    );
  });

  test("a tampered layer blob (same size) is refused, and the output keeps no part of it", async () => {
    for (const [at, expected] of [
      // The gzip header's mtime: still a valid stream with the same content, but not the same blob.
      [4, refusal("E_CHECKSUM", /blob sha256:[0-9a-f]{64} does not match its digest/)],
      // Inside the compressed data: the stream itself breaks.
      [-12, refusal("E_FORMAT", /not a valid gzip stream/)],
    ] as const) {
      const ref = copy();
      const blob = path.join(ref.image, "blobs", "sha256", layerDigest().slice(7));
      const data = await fsp.readFile(blob);
      const i = at < 0 ? data.length + at : at;
      data[i]! ^= 0xff;
      await fsp.writeFile(blob, data);
      const base = await openBaseImage(ref, "x86_64");
      const out = path.join(dir, `out-tampered${at}`);
      await assert.rejects(copyBaseLayers(base, new OciLayout(out)), expected);
      assert.deepEqual(readdirSync(path.join(out, "blobs", "sha256")), [], "no blob and no temp file left");
    }
  });

  test("a config whose diff_id does not match the layer's content is refused", async () => {
    const ref = copy();
    await rewrite(ref.image, {
      config: (c) => {
        (c.rootfs as { diff_ids: string[] }).diff_ids[0] = `sha256:${"0".repeat(64)}`;
      },
    });
    const base = await openBaseImage(ref, "x86_64");
    await assert.rejects(
      copyBaseLayers(base, new OciLayout(path.join(dir, "out-diffid"))),
      refusal("E_CHECKSUM", /different content than its diff_id/),
    );
  });

  test("a blob that is a link to a device is refused, not read", async () => {
    const ref = copy();
    const blob = path.join(ref.image, "blobs", "sha256", layerDigest().slice(7));
    rmSync(blob);
    symlinkSync("/dev/zero", blob);
    const base = await openBaseImage(ref, "x86_64");
    await assert.rejects(
      copyBaseLayers(base, new OciLayout(path.join(dir, "out-dev"))),
      refusal("E_HOSTILE", /not a regular file/),
    );
  });

  test("a base without the arch names the arch and the ones it has", async () => {
    await assert.rejects(
      openBaseImage(copy(), "aarch64"),
      refusal("E_MISSING", /no arm64 image \(aarch64\); it has amd64/),
    );
  });

  test("an installed list that is missing or not a database names its file", async () => {
    const ref = copy();
    await assert.rejects(
      loadBase({ ...ref, apkindex: path.join(dir, "no-index") }, "x86_64"),
      refusal("E_MISSING", /no-index\/x86_64\/APKINDEX does not exist/),
    );
    const bad = path.join(dir, "bad-index");
    mkdirSync(path.join(bad, "x86_64"), { recursive: true });
    writeFileSync(path.join(bad, "x86_64", "APKINDEX"), "P:foo\nthis is not a field\n");
    await assert.rejects(readBaseInstalled({ ...ref, apkindex: bad }, "x86_64"), (err: unknown) => {
      assert.ok(isDistrolessError(err));
      assert.equal(err.code, "E_FORMAT");
      assert.match(`${err.message} ${err.subject ?? ""}`, /bad-index/);
      return true;
    });
    // Records the resolver and the SBOM would take names from: each is refused, naming its field.
    const hostile: [string, string, RegExp][] = [
      ["C:Q1abc=\nP:../../etc/passwd\nV:1-r0\n", "E_HOSTILE", /P:/],
      ["C:Q1abc=\nP:ok\nV:1-r0; rm -rf /\n", "E_HOSTILE", /V:/],
      ["P:ok\nV:1-r0\n", "E_FORMAT", /lacks C/],
      ["C:Q1abc=\nP:ok\nV:1-r0\nI:-5\n", "E_FORMAT", /I is not a number/],
      ["C:Q1abc=\nP:ok\nV:1-r0\n\nC:Q1abd=\nP:ok\nV:2-r0\n", "E_FORMAT", /ok is listed twice/],
    ];
    for (const [text, code, message] of hostile) {
      writeFileSync(path.join(bad, "x86_64", "APKINDEX"), text);
      await assert.rejects(readBaseInstalled({ ...ref, apkindex: bad }, "x86_64"), refusal(code, message));
    }
  });
});
