import { createCipheriv } from "node:crypto";
import { createWriteStream, readFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import * as tar from "tar-stream";
import { HashingCounter } from "../../provider/archive/gzip-stream";
import { OciLayout } from "../../provider/image/oci-layout";
import {
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  MEDIA_TYPES,
} from "../../provider/image/oci-types";
import { tempPathFor } from "../../provider/util/fs";
import { sha256 } from "../../provider/util/hash";

const BUSYBOX = "/usr/bin/busybox";

export interface TestImage {
  layoutDir: string;
  /** Digest of the image index (what index.json points at). */
  indexDigest: string;
  /** arch -> manifest digest. */
  manifests: Record<"amd64" | "arm64", string>;
  /** All config and layer blobs (unique), with sizes. */
  blobs: { digest: string; size: number; mediaType: string }[];
  /** The busybox layer, shared by both platforms and by every marker. */
  baseLayer: string;
  /** What the image's entrypoint prints. */
  expectedOutput: string;
}

interface TarEntry {
  name: string;
  type: "file" | "directory" | "symlink";
  mode: number;
  data?: Buffer | (() => Readable);
  size?: number;
  linkname?: string;
}

/**
 * Writes a multi-arch (amd64 + arm64) OCI image layout: a busybox layer (Debian busybox-static's
 * `/usr/bin/busybox` as `bin/busybox` plus `bin/sh`) shared by both platforms, and a small layer per
 * platform holding `etc/test-image` (the marker and arch) and, with `extraLayerBytes`, a file of
 * deterministic pseudo-random bytes. Two images with different markers share only the busybox
 * layer. The entrypoint is `busybox echo`, so `runc run` proves the image works.
 */
export async function makeTestImage(
  dir: string,
  options: { marker?: string; extraLayerBytes?: number } = {},
): Promise<TestImage> {
  const marker = options.marker ?? "pulumi-distroless";
  const layout = new OciLayout(dir);
  await fsp.mkdir(dir, { recursive: true });
  const busybox = readFileSync(BUSYBOX);
  const base = await writeLayer(layout, [
    { name: "bin", type: "directory", mode: 0o755 },
    { name: "bin/busybox", type: "file", mode: 0o755, data: busybox },
    { name: "bin/sh", type: "symlink", mode: 0o777, linkname: "busybox" },
  ]);

  const expectedOutput = `hello from ${marker}`;
  const blobs = new Map<string, { digest: string; size: number; mediaType: string }>();
  blobs.set(base.digest, { digest: base.digest, size: base.size, mediaType: MEDIA_TYPES.layerGzip });
  const manifestDescs: Descriptor[] = [];
  const manifests = {} as Record<"amd64" | "arm64", string>;
  for (const arch of ["amd64", "arm64"] as const) {
    const entries: TarEntry[] = [
      { name: "etc", type: "directory", mode: 0o755 },
      { name: "etc/test-image", type: "file", mode: 0o644, data: Buffer.from(`${marker}\n${arch}\n`) },
    ];
    if (options.extraLayerBytes) {
      const size = options.extraLayerBytes;
      entries.push({ name: "var", type: "directory", mode: 0o755 });
      entries.push({
        name: "var/extra.bin",
        type: "file",
        mode: 0o644,
        size,
        data: () => pseudoRandom(`${marker}/${arch}`, size),
      });
    }
    const top = await writeLayer(layout, entries);
    const config: ImageConfig = {
      architecture: arch,
      created: "1970-01-01T00:00:00Z",
      history: [{ created: "1970-01-01T00:00:00Z", created_by: "pulumi-distroless test image" }],
      os: "linux",
      rootfs: { type: "layers", diff_ids: [base.diffId, top.diffId] },
      config: { Entrypoint: ["/bin/busybox", "echo", expectedOutput], Env: ["PATH=/bin"], WorkingDir: "/" },
    };
    const configBlob = await layout.writeBlob(Buffer.from(JSON.stringify(config)));
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: { mediaType: MEDIA_TYPES.config, ...configBlob },
      layers: [
        { mediaType: MEDIA_TYPES.layerGzip, digest: base.digest, size: base.size },
        { mediaType: MEDIA_TYPES.layerGzip, digest: top.digest, size: top.size },
      ],
    };
    const manifestBlob = await layout.writeBlob(Buffer.from(JSON.stringify(manifest)));
    manifestDescs.push({
      mediaType: MEDIA_TYPES.manifest,
      ...manifestBlob,
      platform: { architecture: arch, os: "linux" },
    });
    manifests[arch] = manifestBlob.digest;
    blobs.set(configBlob.digest, { ...configBlob, mediaType: MEDIA_TYPES.config });
    blobs.set(top.digest, { digest: top.digest, size: top.size, mediaType: MEDIA_TYPES.layerGzip });
  }
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: manifestDescs };
  const indexBlob = await layout.writeBlob(Buffer.from(JSON.stringify(index)));
  await layout.writeIndex([{ mediaType: MEDIA_TYPES.index, ...indexBlob }]);
  return {
    layoutDir: dir,
    indexDigest: indexBlob.digest,
    manifests,
    blobs: [...blobs.values()],
    baseLayer: base.digest,
    expectedOutput,
  };
}

/** Filler for `compressible` content: text that gzip shrinks the way it shrinks binaries' strings. */
const TEXT = Buffer.from("usr/lib/libexample.so.1 ELF section .text .rodata .data symbol table ".repeat(600));

/**
 * Deterministic bytes (AES-CTR keystream keyed by `seed`), streamed: incompressible, or with
 * `compressible`, each 64 KiB block half keystream and half repeated text, compressing roughly
 * like real binaries.
 */
export function pseudoRandom(seed: string, size: number, options: { compressible?: boolean } = {}): Readable {
  const cipher = createCipheriv("aes-128-ctr", sha256(seed).subarray(0, 16), Buffer.alloc(16));
  const zeros = Buffer.alloc(options.compressible ? 64 << 10 : 1 << 20);
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, zeros.length);
      left -= n;
      const block = cipher.update(zeros.subarray(0, n));
      if (options.compressible) TEXT.copy(block, n >> 1, 0, n - (n >> 1));
      this.push(block);
    },
  });
}

/**
 * A deterministic tar (mtime 0, root-owned) gzip-compressed through node:zlib, streamed to a temp
 * file while hashing both the tar (diff_id) and the gzip (digest), then adopted into the layout.
 */
export async function writeLayer(
  layout: OciLayout,
  entries: TarEntry[],
  gzipLevel = 6,
): Promise<{ digest: string; size: number; diffId: string }> {
  await fsp.mkdir(layout.dir, { recursive: true });
  const pack = tar.pack();
  const feed = (async () => {
    for (const e of entries) {
      const header = { name: e.name, mode: e.mode, uid: 0, gid: 0, mtime: new Date(0), type: e.type };
      if (e.type === "directory") {
        pack.entry(header);
      } else if (e.type === "symlink") {
        pack.entry({ ...header, linkname: e.linkname ?? "" });
      } else if (Buffer.isBuffer(e.data)) {
        pack.entry({ ...header, size: e.data.length }, e.data);
      } else if (e.data) {
        const entry = pack.entry({ ...header, size: e.size ?? 0 });
        await pipeline(e.data(), entry);
      }
    }
    pack.finalize();
  })();
  const tarHash = new HashingCounter();
  const gzHash = new HashingCounter();
  const tmp = tempPathFor(path.join(layout.dir, "layer"));
  const written = pipeline(
    pack,
    tarHash,
    zlib.createGzip({ level: gzipLevel }),
    gzHash,
    createWriteStream(tmp),
  );
  await Promise.all([written, feed]);
  const digest = `sha256:${gzHash.digestHex()}`;
  if (await layout.hasBlob(digest)) await fsp.rm(tmp, { force: true });
  else await layout.adoptBlob(tmp, digest);
  return { digest, size: gzHash.bytes, diffId: `sha256:${tarHash.digestHex()}` };
}

export type { TarEntry };
