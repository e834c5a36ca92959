import { Transform, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";
import { newHash } from "../util/hash";

/**
 * The gzip compressor for large outputs (apk data segments, image layers). Level 6 is gzip's default
 * and what `gzip -6` / `tar | gzip` produce; it is the speed/size point the benches compare against.
 */
export function createGzip(level = 6): zlib.Gzip {
  return zlib.createGzip({ level, memLevel: 9, chunkSize: 128 << 10 });
}

/** A pass-through that hashes and counts what flows through it. */
export class HashingCounter extends Transform {
  private readonly hash;
  bytes = 0;

  constructor(algorithm: "sha1" | "sha256" = "sha256") {
    super();
    this.hash = newHash(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  digestHex(): string {
    return this.hash.digest("hex");
  }
}
