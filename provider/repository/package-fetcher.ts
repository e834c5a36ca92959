import { createReadStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { type ApkDataSummary, type ApkHead, readApkHead, scanApkData } from "../apk/apk-reader";
import { DistrolessError, errorMessage } from "../util/errors";
import { pathExists, writeStreamAtomic } from "../util/fs";
import { newHash } from "../util/hash";
import { formatBytes, type Progress } from "../util/log";
import { DEFAULT_MAX_PACKAGE_BYTES, type RepositoryContext, shared } from "./context";
import { displayLocation, packageLocation, type RepositorySource, redactUrl } from "./source";

/** A package to fetch: what the index (or a lock) says about it. */
export interface PackageRef {
  name: string;
  version: string;
  /** The repository arch directory it lives in. */
  arch: string;
  /** `C:` from the signed index: `Q1` + base64 SHA-1 of the control segment. */
  checksum: string;
  /** `S:` apk file size, when known (caps the download). */
  size?: number;
  source: RepositorySource;
}

export interface FetchedPackage {
  ref: PackageRef;
  /** A verified file: in the cache, or in place for local repositories. */
  path: string;
  head: ApkHead;
  /** Present when the data segment was verified (the default). */
  data?: ApkDataSummary;
  origin: "local" | "cache" | "downloaded";
}

export interface FetchPackageOptions {
  /**
   * Verify the data segment too (`datahash`, then every file's SHA-1). Default true. An installer
   * that scans the data itself (and so verifies while it reads) may pass false.
   */
  verifyData?: boolean;
}

/**
 * Returns a verified copy of a package: the control checksum against the index's `C:`, then the
 * data segment against `.PKGINFO`'s `datahash`, then each file against its recorded SHA-1. Local
 * repositories are read in place; remote packages are downloaded once into the cache (staged, then
 * renamed only when verified). A cached file that no longer verifies is discarded and fetched again.
 */
export function fetchPackage(
  ctx: RepositoryContext,
  ref: PackageRef,
  options: FetchPackageOptions = {},
): Promise<FetchedPackage> {
  return shared(ctx, `pkg:${ref.checksum}:${options.verifyData !== false}`, () =>
    fetchUncached(ctx, ref, options),
  );
}

async function fetchUncached(
  ctx: RepositoryContext,
  ref: PackageRef,
  options: FetchPackageOptions,
): Promise<FetchedPackage> {
  const verifyData = options.verifyData !== false;
  const location = packageLocation(ref.source, ref.arch, ref.name, ref.version);
  const label = `${ref.name}-${ref.version} (${ref.arch}) from ${displayLocation(ref.source)}`;
  if (ref.source.kind === "local") {
    if (!(await pathExists(location))) {
      throw new DistrolessError(
        "E_MISSING",
        `package ${label} is listed in the index but its file is missing`,
        {
          subject: location,
        },
      );
    }
    return { ref, path: location, ...(await verify(location, ref, verifyData)), origin: "local" };
  }

  const cached = ctx.cache.packagePath(ref.checksum, ref.name, ref.version);
  if (await pathExists(cached)) {
    try {
      // Checked against the signed `C:` on every use, and its data segment against `datahash`: the
      // cache may be shared and written by others, so a cached file is only as good as this check.
      return { ref, path: cached, ...(await verify(cached, ref, verifyData, true)), origin: "cache" };
    } catch (err) {
      // Whatever is wrong with a cached copy (cut short, bit-flipped, swapped, unreadable as an
      // apk), the cure is the same: discard it and fetch the package again.
      ctx.progress.warn(
        `cached ${ref.name}-${ref.version} failed verification (${errorMessage(err)}); fetching it again`,
      );
      await fsp.rm(cached, { force: true });
    }
  }
  if (ctx.options.offline) {
    throw new DistrolessError(
      "E_MISSING",
      `offline, and the cache (${ctx.cache.dir}) does not hold package ${label}`,
      { subject: redactUrl(location) },
    );
  }

  const staging = await ctx.cache.stagingPath(path.basename(cached));
  try {
    const maxBytes =
      ref.size && ref.size > 0 ? ref.size : (ctx.options.maxPackageBytes ?? DEFAULT_MAX_PACKAGE_BYTES);
    await ctx.http.get(location, { maxBytes, what: `package ${label}` }, (body) =>
      writeStreamAtomic(
        staging,
        reportingBytes(body, ctx.progress, `downloading ${ref.name}-${ref.version}`, ref.size),
      ),
    );
    let verified: Awaited<ReturnType<typeof verify>>;
    try {
      verified = await verify(staging, ref, verifyData, true);
    } catch (err) {
      if (err instanceof DistrolessError) {
        throw new DistrolessError(
          err.code,
          `downloaded package ${label} does not verify: ${errorMessage(err)}`,
          {
            subject: redactUrl(location),
          },
        );
      }
      throw err;
    }
    await fsp.mkdir(path.dirname(cached), { recursive: true });
    await fsp.rename(staging, cached);
    ctx.progress.info(
      `fetched ${ref.name}-${ref.version} (${ref.arch}, ${formatBytes(verified.head.fileSize)})`,
    );
    return { ref, path: cached, ...verified, head: { ...verified.head, file: cached }, origin: "downloaded" };
  } finally {
    await fsp.rm(staging, { force: true });
  }
}

/**
 * `checkDatahash`: even when the caller scans the data itself, the compressed data segment of a file
 * entering (or served from) the cache is hashed against `.PKGINFO`'s `datahash`, so the cache never
 * keeps a damaged package that every later install would trip over. Hashing without inflating costs
 * a fraction of the install's own read.
 */
async function verify(
  file: string,
  ref: PackageRef,
  verifyData: boolean,
  checkDatahash = false,
): Promise<{ head: ApkHead; data?: ApkDataSummary }> {
  const head = await readApkHead(file);
  if (head.controlChecksum !== ref.checksum) {
    throw new DistrolessError(
      "E_CHECKSUM",
      `control checksum ${head.controlChecksum} does not match the index's ${ref.checksum}`,
      { subject: file },
    );
  }
  if (head.pkginfo.pkgname !== ref.name || head.pkginfo.pkgver !== ref.version) {
    throw new DistrolessError(
      "E_CHECKSUM",
      `the file is ${head.pkginfo.pkgname}-${head.pkginfo.pkgver}, not ${ref.name}-${ref.version}`,
      { subject: file },
    );
  }
  if (!verifyData) {
    if (checkDatahash) {
      // Without a datahash there is nothing cheaper to check than the whole data scan.
      if (!head.pkginfo.datahash) return { head, data: await scanApkData(head) };
      const got = await dataSegmentSha256(head);
      if (got !== head.pkginfo.datahash) {
        throw new DistrolessError(
          "E_CHECKSUM",
          `data segment SHA-256 ${got} does not match .PKGINFO datahash ${head.pkginfo.datahash}`,
          { subject: file },
        );
      }
    }
    return { head };
  }
  return { head, data: await scanApkData(head) };
}

async function dataSegmentSha256(head: ApkHead): Promise<string> {
  const h = newHash("sha256");
  for await (const chunk of createReadStream(head.file, { start: head.dataOffset, highWaterMark: 1 << 20 })) {
    h.update(chunk as Buffer);
  }
  return h.digest("hex");
}

/**
 * The body as it arrives, telling the progress's byte callback (when it has one, and the index gave
 * the size) how much has come; the body itself unchanged.
 */
function reportingBytes(
  body: AsyncIterable<Buffer>,
  progress: Progress,
  label: string,
  size: number | undefined,
): AsyncIterable<Buffer> {
  if (!progress.bytes || !size) return body;
  const bytes = progress.bytes.bind(progress);
  return (async function* () {
    let done = 0;
    for await (const chunk of body) {
      done += chunk.length;
      bytes(label, done, size);
      yield chunk;
    }
  })();
}
