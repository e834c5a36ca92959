/**
 * The key that seals cache derivatives (parsed indexes) so they can be trusted when read back.
 *
 * A cache shared between CI runs or users is writable by whoever shares it, and a derivative cannot
 * be checked against anything inside the cache: a self-hash or a recorded digest can be recomputed
 * by whoever forges the content. So parsed indexes carry an HMAC-SHA256 under a key that is NOT in
 * the cache: `PULUMI_DISTROLESS_CACHE_KEY` (a CI secret, so runs sharing the cache also share the
 * parses), else a random per-user key file created on first use (default
 * `$XDG_STATE_HOME/pulumi-distroless/cache-seal.key`, else `~/.local/state/...`), mode 0600. A record
 * whose seal does not verify is ignored and derived again from the signed index.
 *
 * Without a usable key (unwritable home, a key file others can write), nothing is sealed or read:
 * every index is parsed from its verified bytes, which is slower but never less safe.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { sha256 } from "../util/hash";

export const CACHE_KEY_ENV = "PULUMI_DISTROLESS_CACHE_KEY";

export interface SealKeySource {
  env: NodeJS.ProcessEnv;
  /** Overrides the default key file. */
  keyFile?: string;
}

/** `$XDG_STATE_HOME/pulumi-distroless/cache-seal.key`, else `~/.local/state/pulumi-distroless/...`. */
export function defaultSealKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), ".local", "state");
  return path.join(base, "pulumi-distroless", "cache-seal.key");
}

export async function loadSealKey(source: SealKeySource): Promise<Buffer | undefined> {
  const secret = source.env[CACHE_KEY_ENV];
  if (secret) return sha256(`pulumi-distroless cache seal\0${secret}`);
  const file = source.keyFile ?? defaultSealKeyFile(source.env);
  try {
    return (await readKeyFile(file)) ?? (await createKeyFile(file));
  } catch {
    return undefined; // no usable key: derivatives are neither written nor trusted
  }
}

/** The key, if the file exists, is ours and only we can write it. */
async function readKeyFile(file: string): Promise<Buffer | undefined> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    const st = await fh.stat();
    const uid = process.getuid?.();
    if (!st.isFile() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0) {
      throw new Error(`${file} is writable by others`);
    }
    const key = await fh.readFile();
    if (key.length < 32) throw new Error(`${file} is too short`);
    return key;
  } finally {
    await fh.close();
  }
}

/** A fresh random key, created whole (temp + link) so two processes agree on the winner's. */
async function createKeyFile(file: string): Promise<Buffer | undefined> {
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  await fsp.writeFile(tmp, randomBytes(32), { mode: 0o600 });
  try {
    await fsp.link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  return readKeyFile(file);
}

/** The seal as raw bytes (what a binary record carries as its trailer). */
export const SEAL_BYTES = 32;

/** The seal of a derivative: bound to the digest of the signed bytes it was derived from. */
export function sealBytes(
  key: Buffer,
  sourceSha256: string,
  body: Uint8Array | readonly Uint8Array[],
): Buffer {
  const mac = createHmac("sha256", key).update(`${sourceSha256}\n`);
  for (const part of body instanceof Uint8Array ? [body] : body) mac.update(part);
  return mac.digest();
}

export function sealBytesMatch(
  key: Buffer,
  sourceSha256: string,
  body: Uint8Array,
  mac: Uint8Array,
): boolean {
  const want = sealBytes(key, sourceSha256, body);
  return mac.length === want.length && timingSafeEqual(mac, want);
}
