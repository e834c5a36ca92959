import { Transform, type TransformCallback } from "node:stream";
import { newHash } from "../util/hash";
import { ParallelGzip } from "./parallel-gzip";

/**
 * The gzip compressor for large outputs (apk data segments, image layers): the parallel one, at
 * level 6 (gzip's default, the speed/size point the benches compare against).
 */
export function createGzip(level = 6): Transform {
  return new ParallelGzip({ level });
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
