import { createReadStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { DistrolessError } from "../util/errors";
import { writeFileAtomic, writeStreamAtomic } from "../util/fs";
import { ociDigest } from "../util/hash";
import type { Descriptor, ImageIndex } from "./oci-types";
import { MEDIA_TYPES } from "./oci-types";

/**
 * An OCI image layout directory (image-spec `image-layout.md`): `oci-layout`, `index.json`,
 * `blobs/sha256/<hex>`. Writing is content-addressed and atomic per blob, so an interrupted build
 * leaves only complete blobs, and `index.json` is written last.
 */
export class OciLayout {
  constructor(readonly dir: string) {}

  blobPath(digest: string): string {
    const [algorithm, hex] = splitDigest(digest);
    return path.join(this.dir, "blobs", algorithm, hex);
  }

  async hasBlob(digest: string): Promise<boolean> {
    try {
      await fsp.access(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  /** Writes a small blob held in memory; returns its descriptor fields. */
  async writeBlob(data: Uint8Array): Promise<{ digest: string; size: number }> {
    const digest = ociDigest(data);
    if (!(await this.hasBlob(digest))) await writeFileAtomic(this.blobPath(digest), data);
    return { digest, size: data.length };
  }

  /** Moves an already-hashed file (a layer streamed to a temp file) into the layout. */
  async adoptBlob(file: string, digest: string): Promise<void> {
    const target = this.blobPath(digest);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await fsp.rename(file, target);
  }

  async writeBlobStream(digest: string, source: NodeJS.ReadableStream): Promise<void> {
    if (await this.hasBlob(digest)) return;
    await writeStreamAtomic(this.blobPath(digest), source);
  }

  async readBlob(digest: string, maxBytes = 64 << 20): Promise<Buffer> {
    const file = this.blobPath(digest);
    let data: Buffer;
    try {
      const st = await fsp.stat(file);
      if (st.size > maxBytes) {
        throw new DistrolessError("E_HOSTILE", `blob ${digest} is ${st.size} bytes, over ${maxBytes}`, {
          subject: this.dir,
        });
      }
      data = await fsp.readFile(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new DistrolessError("E_MISSING", `blob ${digest} is missing`, { subject: this.dir });
      }
      throw err;
    }
    if (ociDigest(data) !== digest) {
      throw new DistrolessError("E_CHECKSUM", `blob ${digest} does not match its digest`, {
        subject: this.dir,
      });
    }
    return data;
  }

  openBlob(digest: string): NodeJS.ReadableStream {
    return createReadStream(this.blobPath(digest));
  }

  async blobSize(digest: string): Promise<number> {
    return (await fsp.stat(this.blobPath(digest))).size;
  }

  async readJsonBlob<T>(digest: string): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString("utf8")) as T;
  }

  /** Writes `oci-layout` and `index.json` (the top-level index pointing at `manifests`). */
  async writeIndex(manifests: Descriptor[]): Promise<void> {
    await writeFileAtomic(
      path.join(this.dir, "oci-layout"),
      `${JSON.stringify({ imageLayoutVersion: "1.0.0" })}`,
    );
    const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests };
    await writeFileAtomic(path.join(this.dir, "index.json"), JSON.stringify(index, null, 2));
  }

  async readIndex(): Promise<ImageIndex> {
    let text: string;
    try {
      text = await fsp.readFile(path.join(this.dir, "index.json"), "utf8");
    } catch {
      throw new DistrolessError("E_MISSING", "not an OCI image layout (no index.json)", {
        subject: this.dir,
      });
    }
    const index = JSON.parse(text) as ImageIndex;
    if (index.schemaVersion !== 2 || !Array.isArray(index.manifests)) {
      throw new DistrolessError("E_FORMAT", "index.json is not an OCI image index", { subject: this.dir });
    }
    return index;
  }
}

export function splitDigest(digest: string): [string, string] {
  const m = /^(sha256|sha512):([a-f0-9]{64,128})$/.exec(digest);
  if (!m) throw new DistrolessError("E_FORMAT", `invalid digest "${digest}"`);
  return [m[1]!, m[2]!];
}
