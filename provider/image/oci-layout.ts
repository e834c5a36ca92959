import { createReadStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { DistrolessError } from "../util/errors";
import { writeFileAtomic, writeStreamAtomic } from "../util/fs";
import { hashFile, ociDigest } from "../util/hash";
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

  /**
   * Moves an already-hashed file (a layer streamed to a temp file) into the layout. A blob already
   * there (a rebuild into the same layout) is kept and the temp file dropped, as `writeBlob` keeps
   * one: renaming over it would cost more than the build's whole idle tail, since ext4 writes the
   * new file's data out at once when a rename replaces a file (its auto_da_alloc safeguard), and
   * that is tens of milliseconds per 20 MB. The kept file must hash to the digest (the same size
   * proves nothing; reading it back from the page cache costs less than the flush).
   */
  async adoptBlob(file: string, digest: string): Promise<void> {
    const target = this.blobPath(digest);
    const existing = await fsp.lstat(target).catch(() => undefined);
    if (
      existing?.isFile() &&
      existing.size === (await fsp.stat(file)).size &&
      `sha256:${(await hashFile(target, "sha256")).hex}` === digest
    ) {
      await fsp.rm(file, { force: true });
      return;
    }
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

  /**
   * Writes `oci-layout` and `index.json` (the top-level index pointing at `manifests`). A file that
   * already holds exactly these bytes is left alone: an atomic write syncs it to disk, and on ext4
   * that sync waits for every file written before it (the whole layer) to reach the disk too.
   */
  async writeIndex(manifests: Descriptor[]): Promise<void> {
    const index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests };
    await writeUnlessSame(path.join(this.dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await writeUnlessSame(path.join(this.dir, "index.json"), JSON.stringify(index, null, 2));
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

/** Writes `text` to `file` atomically unless the file (a regular one) already holds exactly it. */
async function writeUnlessSame(file: string, text: string): Promise<void> {
  const data = Buffer.from(text);
  const existing = await fsp.lstat(file).catch(() => undefined);
  if (existing?.isFile() && existing.size === data.length) {
    const current = await fsp.readFile(file).catch(() => undefined);
    if (current?.equals(data)) return;
  }
  await writeFileAtomic(file, data);
}

export function splitDigest(digest: string): [string, string] {
  const m = /^(sha256|sha512):([a-f0-9]{64,128})$/.exec(digest);
  if (!m) throw new DistrolessError("E_FORMAT", `invalid digest "${digest}"`);
  return [m[1]!, m[2]!];
}
