import { randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { packageFileName } from "../apk/names";
import { DistrolessError } from "../util/errors";
import { tempPathFor } from "../util/fs";
import { q1Decode, sha256Hex } from "../util/hash";
import { loadSealKey, SEAL_BYTES, type SealKeySource, sealBytes, sealBytesMatch } from "./cache-seal";

/**
 * The on-disk cache shared by every process on the machine (and, mounted or restored, by CI runs):
 *
 *   blobs/sha256/<hex>                 raw index archives, named by their SHA-256
 *   parsed/<hex>.pdix                  the parsed form of such an archive (compact, sealed: see cache-seal.ts)
 *   index-meta/<sha256(url)>.json      URL -> ETag, Last-Modified, blob digest
 *   packages/<sha1 hex>-<name>-<version>.apk   packages, named by their `C:` checksum
 *   unpacked/<sha1 hex>.pdpk           packages unpacked for image assembly (sealed: unpacked-cache.ts)
 *   keys/<sha256(url)>.pub             keys fetched from URLs
 *   tmp/                               staging for downloads (renamed into place when verified)
 *
 * Every entry is written to a temp name and renamed, so readers see whole files or nothing, and a
 * killed process leaves at most a stray temp file. Entries are content-addressed, so two processes
 * writing the same entry write the same bytes; a file that no longer matches its name is deleted
 * and fetched again.
 *
 * Nothing here is trusted for what it claims, because whoever shares the cache can write it:
 * archives are re-verified against their signature on every load, packages against the signed
 * index's `C:` and their `datahash` on every use, and parsed indexes and unpacked packages are read
 * only when their seal (an HMAC under a key kept outside the cache) verifies. index-meta and keys fetched from URLs only
 * steer what is fetched; what is fetched is verified.
 */
export class RepositoryCache {
  private sealKey: Promise<Buffer | undefined> | undefined;

  constructor(
    readonly dir: string,
    private readonly sealSource: SealKeySource = { env: process.env },
  ) {}

  private key(): Promise<Buffer | undefined> {
    this.sealKey ??= loadSealKey(this.sealSource);
    return this.sealKey;
  }

  blobPath(sha256: string): string {
    return path.join(this.dir, "blobs", "sha256", sha256);
  }

  /** The blob's bytes if present and intact; a corrupt blob is removed and reported as absent. */
  async readBlob(sha256: string): Promise<Buffer | undefined> {
    const file = this.blobPath(sha256);
    const data = await readIfExists(file);
    if (!data) return undefined;
    if (sha256Hex(data) !== sha256) {
      await fsp.rm(file, { force: true });
      return undefined;
    }
    return data;
  }

  async writeBlob(data: Buffer, sha256 = sha256Hex(data)): Promise<string> {
    await writeVerifiable(this.blobPath(sha256), data);
    return sha256;
  }

  metaPath(key: string): string {
    return path.join(this.dir, "index-meta", `${sha256Hex(key)}.json`);
  }

  async readJson<T>(file: string): Promise<T | undefined> {
    const data = await readIfExists(file);
    if (!data) return undefined;
    try {
      return JSON.parse(data.toString("utf8")) as T;
    } catch {
      await fsp.rm(file, { force: true });
      return undefined;
    }
  }

  async writeJson(file: string, value: unknown): Promise<void> {
    await writeVerifiable(file, `${JSON.stringify(value)}\n`);
  }

  parsedPath(sha256: string): string {
    return path.join(this.dir, "parsed", `${sha256}.pdix`);
  }

  /**
   * A parsed-index record's bytes: the file is the body followed by its 32-byte seal (an HMAC of
   * the archive digest and the whole body, header and format version included). A record whose
   * seal does not verify (truncated, damaged, forged, or sealed under another machine's key) is not
   * used; the caller derives it again from the verified archive and writes it over.
   */
  async readParsed(sha256: string): Promise<Buffer | undefined> {
    const key = await this.key();
    if (!key) return undefined;
    const data = await readIfExists(this.parsedPath(sha256));
    if (!data || data.length < SEAL_BYTES) return undefined;
    const body = data.subarray(0, data.length - SEAL_BYTES);
    if (!sealBytesMatch(key, sha256, body, data.subarray(data.length - SEAL_BYTES))) return undefined;
    return body;
  }

  /**
   * Written in the background, so it must not resurrect a cache directory removed meanwhile (a
   * test's temp dir, a `rm -rf` of the cache): the root is created by the foreground, not here.
   * The body's parts are written as they are, then its seal: no copy of a large index is made.
   */
  async writeParsed(sha256: string, body: readonly Buffer[]): Promise<void> {
    const key = await this.key();
    if (!key) return;
    const dir = path.join(this.dir, "parsed");
    try {
      await fsp.mkdir(dir); // not recursive: a removed root stays removed
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EEXIST") throw err;
    }
    await writeVerifiable(this.parsedPath(sha256), [...body, sealBytes(key, sha256, body)], false);
  }

  async ensureRoot(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true });
  }

  /** Where a package with index checksum `checksum` lives in the cache. */
  packagePath(checksum: string, name: string, version: string): string {
    const raw = q1Decode(checksum);
    if (!raw) throw new DistrolessError("E_FORMAT", `"${checksum}" is not a Q1 checksum`, { subject: name });
    return path.join(this.dir, "packages", `${raw.toString("hex")}-${packageFileName(name, version)}`);
  }

  keyPath(url: string): string {
    return path.join(this.dir, "keys", `${sha256Hex(url)}.pub`);
  }

  /** A unique staging file name; the caller renames it into place once the content is verified. */
  async stagingPath(hint: string): Promise<string> {
    const dir = path.join(this.dir, "tmp");
    await fsp.mkdir(dir, { recursive: true });
    return path.join(dir, `${process.pid}-${randomBytes(6).toString("hex")}-${safeName(hint)}`);
  }

  /** Removes staging files older than `maxAgeMs` (left by killed processes). Best effort. */
  async sweepStaging(maxAgeMs = 60 * 60_000): Promise<void> {
    const dir = path.join(this.dir, "tmp");
    const names = await fsp.readdir(dir).catch(() => [] as string[]);
    const limit = Date.now() - maxAgeMs;
    for (const name of names) {
      const file = path.join(dir, name);
      const st = await fsp.stat(file).catch(() => undefined);
      if (st && st.mtimeMs < limit) await fsp.rm(file, { force: true }).catch(() => {});
    }
  }
}

/**
 * Temp file + rename, without the fsync of `writeFileAtomic`: for entries that are checked when
 * read (by digest, integrity header or JSON parse) and rebuilt when damaged, a crash can at worst
 * cost a refetch, so paying a disk flush on every index load is not worth it.
 */
async function writeVerifiable(
  target: string,
  data: Uint8Array | string | readonly Uint8Array[],
  makeDirs = true,
): Promise<void> {
  if (makeDirs) await fsp.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    await fsp.writeFile(tmp, data);
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** `$XDG_CACHE_HOME/pulumi-distroless`, else `~/.cache/pulumi-distroless`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, "pulumi-distroless");
  return path.join(env.HOME || os.homedir(), ".cache", "pulumi-distroless");
}

async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fsp.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new DistrolessError("E_INTERNAL", `cannot read the cache entry: ${(err as Error).message}`, {
      subject: file,
      cause: err,
    });
  }
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._+-]/g, "_").slice(0, 120);
}
