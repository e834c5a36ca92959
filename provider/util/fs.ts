import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { DistrolessError } from "./errors";

/** A temp path beside `target`, so the final rename stays on one filesystem (and is atomic). */
export function tempPathFor(target: string): string {
  return path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
}

/**
 * Runs `write(tmp)` against a temp file beside `target`, fsyncs it and renames it over the target:
 * readers see the old content or the complete new one, never a prefix; a failure leaves no temp.
 */
async function replaceAtomically(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    await write(tmp);
    const fh = await fsp.open(tmp, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** Writes a file atomically (see replaceAtomically). */
export function writeFileAtomic(target: string, data: Uint8Array | string, mode = 0o644): Promise<void> {
  return replaceAtomically(target, (tmp) => fsp.writeFile(tmp, data, { mode }));
}

/** Streams into a file atomically: the target changes only when the stream completed. */
export function writeStreamAtomic(
  target: string,
  source: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  mode = 0o644,
): Promise<void> {
  return replaceAtomically(target, (tmp) => pipeline(source, createWriteStream(tmp, { mode })));
}

export async function pathExists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Reads a file with a size cap, so a hostile or mistaken input cannot exhaust memory. */
export async function readFileCapped(file: string, maxBytes: number): Promise<Buffer> {
  const fh = await fsp.open(file, "r").catch((err: NodeJS.ErrnoException) => {
    throw new DistrolessError("E_MISSING", err.code === "ENOENT" ? "file not found" : err.message, {
      subject: file,
      cause: err,
    });
  });
  try {
    const { size } = await fh.stat();
    if (size > maxBytes) {
      throw new DistrolessError("E_HOSTILE", `file is ${size} bytes, over the ${maxBytes}-byte limit`, {
        subject: file,
      });
    }
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

// The lock lives in its own module (takeover of stale locks is subtle); re-exported for callers.
export { acquireLock, type FileLock, type LockOptions, withLock } from "./file-lock";
