import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { DistrolessError } from "../../util/errors";
import { readFileCapped } from "../../util/fs";
import { ociDigest } from "../../util/hash";
import type { Descriptor } from "../oci-types";

/**
 * Reads an OCI image layout someone else wrote (a base image) without trusting it: every
 * descriptor is checked before it is used (a sha256 digest, so a blob path cannot leave
 * `blobs/sha256/`; a size that is a safe integer and equals the file's), JSON blobs are read with a
 * cap, and every blob's sha256 is checked as it is read. Errors name the layout and the blob.
 */

/** index.json, manifests, configs: metadata, never large (ggcr and containerd cap them lower). */
export const MAX_JSON_BLOB = 4 << 20;

const SHA256 = /^sha256:[a-f0-9]{64}$/;

export class BaseLayoutReader {
  constructor(
    readonly dir: string,
    /** The config field the layout came from, for messages (`contents.baseimage.image`). */
    readonly field: string,
  ) {}

  fail(code: "E_MISSING" | "E_FORMAT" | "E_HOSTILE" | "E_CHECKSUM", message: string): DistrolessError {
    return new DistrolessError(code, `${this.field}: ${message}`, { subject: this.dir });
  }

  /** The layout must be a directory with an `oci-layout` marker and an `index.json`. */
  async readTopIndex(): Promise<unknown> {
    const st = await fsp.stat(this.dir).catch(() => undefined);
    if (!st) throw this.fail("E_MISSING", `${this.dir} does not exist`);
    if (!st.isDirectory())
      throw this.fail("E_FORMAT", `${this.dir} is not a directory (an OCI image layout)`);
    const marker = await this.readSmallFile("oci-layout");
    let version: unknown;
    try {
      version = (JSON.parse(marker.toString("utf8")) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch {
      version = undefined;
    }
    if (typeof version !== "string")
      throw this.fail("E_FORMAT", "oci-layout has no imageLayoutVersion: not an OCI image layout");
    return this.parseJson(await this.readSmallFile("index.json"), "index.json");
  }

  private async readSmallFile(name: string): Promise<Buffer> {
    const file = path.join(this.dir, name);
    const st = await fsp.stat(file).catch(() => undefined);
    if (!st) throw this.fail("E_MISSING", `no ${name}: not an OCI image layout`);
    if (!st.isFile()) throw this.fail("E_FORMAT", `${name} is not a regular file`);
    if (st.size > MAX_JSON_BLOB)
      throw this.fail("E_HOSTILE", `${name} is ${st.size} bytes, over ${MAX_JSON_BLOB}`);
    return readFileCapped(file, MAX_JSON_BLOB);
  }

  parseJson(data: Buffer, what: string): unknown {
    try {
      return JSON.parse(data.toString("utf8"));
    } catch (err) {
      throw this.fail("E_FORMAT", `${what} is not JSON: ${(err as Error).message}`);
    }
  }

  /** A descriptor checked field by field; `where` names it in messages (`index.json manifests[0]`). */
  descriptor(value: unknown, where: string, mediaTypes: readonly string[]): Descriptor {
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw this.fail("E_FORMAT", `${where} is not a descriptor`);
    const d = value as Record<string, unknown>;
    if (typeof d.mediaType !== "string" || !mediaTypes.includes(d.mediaType))
      throw this.fail(
        "E_FORMAT",
        `${where} has media type ${JSON.stringify(d.mediaType)}; expected ${mediaTypes.join(" or ")}`,
      );
    if (typeof d.digest !== "string" || !SHA256.test(d.digest))
      throw this.fail(
        "E_HOSTILE",
        `${where} has digest ${JSON.stringify(d.digest)}; only sha256:<64 hex> digests are read`,
      );
    if (typeof d.size !== "number" || !Number.isSafeInteger(d.size) || d.size < 0)
      throw this.fail("E_HOSTILE", `${where} has size ${JSON.stringify(d.size)}, not a byte count`);
    return value as Descriptor;
  }

  /** Where a checked descriptor's blob is: always inside `blobs/sha256/` (the digest is 64 hex). */
  blobPath(desc: Descriptor): string {
    return path.join(this.dir, "blobs", "sha256", desc.digest.slice("sha256:".length));
  }

  /** The blob file, which must be a regular file of exactly the descriptor's size. */
  async checkBlobFile(desc: Descriptor, where: string): Promise<string> {
    const file = this.blobPath(desc);
    const st = await fsp.stat(file).catch(() => undefined);
    if (!st) throw this.fail("E_MISSING", `${where}: blob ${desc.digest} is missing`);
    if (!st.isFile()) throw this.fail("E_HOSTILE", `${where}: blob ${desc.digest} is not a regular file`);
    if (st.size !== desc.size)
      throw this.fail(
        "E_CHECKSUM",
        `${where}: blob ${desc.digest} is ${st.size} bytes, the descriptor says ${desc.size}`,
      );
    return file;
  }

  /** A JSON blob (manifest, index, config): size-capped, digest-checked, parsed. */
  async readJsonBlob(desc: Descriptor, where: string): Promise<unknown> {
    if (desc.size > MAX_JSON_BLOB)
      throw this.fail(
        "E_HOSTILE",
        `${where}: blob ${desc.digest} is ${desc.size} bytes, over ${MAX_JSON_BLOB}`,
      );
    const file = await this.checkBlobFile(desc, where);
    const data = await readFileCapped(file, MAX_JSON_BLOB);
    if (ociDigest(data) !== desc.digest)
      throw this.fail("E_CHECKSUM", `${where}: blob ${desc.digest} does not match its digest`);
    return this.parseJson(data, `${where} (${desc.digest})`);
  }
}
