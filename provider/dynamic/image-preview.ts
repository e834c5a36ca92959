import type { ResolvedImage } from "../image/pipeline";
import { parseReference } from "../registry/reference";
import { RepositoryCache } from "../repository/cache";
import { packageLocation } from "../repository/source";
import { packageRefFor } from "../resolve/resolve";
import { DistrolessError, errorMessage, isDistrolessError } from "../util/errors";
import { pathExists } from "../util/fs";
import { formatBytes } from "../util/log";
import type { CheckFailure, OperationContext, Props } from "./define";
import { cacheDirOf, type ResolvedImageInputs } from "./image-inputs";
import { containsUnknown } from "./unknowns";

/*
 * exactPreview: assembly is deterministic, so once every package is on this machine, `check` can
 * build the image into the cache and hand preview its exact digest (and imageRef, ref, per-arch
 * digests) instead of unknowns: a Deployment's diff then shows the concrete new image. `check` runs
 * again at `up`, finds the same layout in the cache (named by inputDigest) and create reuses it, so
 * the digest shown is the digest pushed; create refuses to push a different one.
 */

/**
 * "auto" turns exactPreview on only up to this many installed bytes (`I:` of every package, summed
 * over archs): what assembly writes and gzips, so what its time follows. 32 MiB of incompressible
 * content assembled in 2.7 s on a loaded 2-core machine (60 MiB took 11 s); preview can afford the
 * former on every run. Above it, or with any package not fetched yet, the digest stays unknown.
 */
export const EXACT_PREVIEW_AUTO_MAX_BYTES = 32 * 1024 * 1024;

/** The outputs exactPreview puts into the checked inputs (so preview shows them as known). */
export const EXACT_PREVIEW_OUTPUTS = [
  "digest",
  "imageRef",
  "ref",
  "platforms",
  "layerDigests",
  "layers",
] as const;

export type ExactPreviewMode = boolean | "auto";

/** A failure for an `exactPreview` that is neither a boolean nor "auto"; none otherwise. */
export function exactPreviewFailures(news: Props): CheckFailure[] {
  const v = news.exactPreview;
  if (v === undefined || v === null || v === true || v === false || v === "auto") return [];
  if (containsUnknown(v)) return [];
  return [{ property: "exactPreview", reason: 'must be true, false or "auto"' }];
}

/** Why "auto" stays off for this lock (a sentence for the log), or undefined when it may go on. */
async function autoBlocker(news: Props, image: ResolvedImage): Promise<string | undefined> {
  let bytes = 0;
  for (const pkgs of Object.values(image.lock.archs)) for (const p of pkgs) bytes += p.installedSize;
  if (bytes > EXACT_PREVIEW_AUTO_MAX_BYTES) {
    return `${formatBytes(bytes)} installed is above exactPreview's "auto" limit (${formatBytes(EXACT_PREVIEW_AUTO_MAX_BYTES)}); set exactPreview: true to build at preview anyway`;
  }
  const cache = new RepositoryCache(cacheDirOf(news));
  const repositories = [...image.config.contents.repositories, ...image.config.contents.buildRepositories];
  for (const [arch, pkgs] of Object.entries(image.lock.archs)) {
    for (const p of pkgs) {
      const ref = packageRefFor(p, arch, repositories);
      const file =
        ref.source.kind === "local"
          ? packageLocation(ref.source, ref.arch, p.name, p.version)
          : cache.packagePath(p.checksum, p.name, p.version);
      if (!(await pathExists(file)))
        return `${p.name}-${p.version} (${arch}) is not in the package cache yet`;
    }
  }
  return undefined;
}

/**
 * The exact outputs for preview, or undefined when exactPreview is off (or "auto" finds the cache
 * cold or the build too big). Writes only under the cache directory: the image layout the create
 * that follows reuses. Nothing is pushed and `outputPath` is not written.
 */
export async function exactPreviewOutputs(
  news: Props,
  resolved: ResolvedImageInputs,
  image: ResolvedImage,
  ctx: OperationContext,
): Promise<Props | undefined> {
  const mode = (news.exactPreview ?? "auto") as ExactPreviewMode | string;
  if (mode === false || containsUnknown(mode)) return undefined;
  if (mode === "auto") {
    const blocker = await autoBlocker(news, image);
    if (blocker) {
      ctx.progress.info(`digest unknown until up: ${blocker}`);
      return undefined;
    }
  }
  // Loaded only here: plain previews never load the assembler.
  const { buildImageLayout, cachedImageLayout } = require("./image-build") as typeof import("./image-build");
  // "auto" promised not to fetch: offline, so a package gone since the look above fails here.
  const inputs = { ...news, resolved, ...(mode === "auto" ? { offline: true } : {}) };
  // Built before (an earlier preview, or the up that pushed it): said nothing, as a no-op up should.
  let result = (await cachedImageLayout(inputs)).result;
  if (!result) {
    try {
      result = (await buildImageLayout(inputs, ctx)).result;
    } catch (err) {
      if (mode !== "auto" || !isDistrolessError(err, "E_MISSING")) throw err;
      ctx.progress.info(`digest unknown until up: ${errorMessage(err)}`);
      return undefined;
    }
    ctx.progress.info(`exactPreview: the image will be ${result.indexDigest}`);
  }
  const outs: Props = {
    digest: result.indexDigest,
    platforms: Object.fromEntries(result.platforms.map((p) => [p.arch, p.manifestDigest])),
    layerDigests: Object.fromEntries(result.platforms.map((p) => [p.arch, p.layerDigest])),
    layers: Object.fromEntries(result.platforms.map((p) => [p.arch, p.layers.map((l) => l.digest)])),
  };
  // imageRef and ref as create will write them, when what they name is known already.
  if (typeof news.repository === "string" && !containsUnknown(news.tags)) {
    const ref = parseReference(news.repository);
    const given = Array.isArray(news.tags) ? news.tags.map(String) : [];
    const tags = [...new Set([...(ref.tag ? [ref.tag] : []), ...given])];
    const where = `${ref.registry}/${ref.repository}`;
    outs.imageRef = `${where}@${result.indexDigest}`;
    outs.ref = tags.length ? `${where}:${tags[0]}@${result.indexDigest}` : outs.imageRef;
  } else if (news.repository === undefined && typeof news.outputPath === "string") {
    outs.imageRef = `oci:${news.outputPath}@${result.indexDigest}`;
  }
  return outs;
}

/**
 * Create and update refuse to deliver an image other than the one preview showed: the same inputs
 * built twice gave two digests, which means assembly is not deterministic here.
 */
export function assertPreviewedDigest(inputs: Props, built: string): void {
  const shown = inputs.digest;
  if (typeof shown !== "string" || !shown.startsWith("sha256:") || shown === built) return;
  throw new DistrolessError(
    "E_INTERNAL",
    `the image built as ${built}, but check computed ${shown} from the same inputs (exactPreview): ` +
      "assembly was not deterministic; nothing was pushed or written. Please report it; exactPreview: false avoids the check",
    { subject: "digest" },
  );
}
