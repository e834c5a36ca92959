import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { type ApkHead, readApkHead } from "../apk/apk-reader";
import { DamagedPackError, UnpackedCache } from "../repository/unpacked-cache";
import { DistrolessError } from "../util/errors";
import { writeFileAtomic } from "../util/fs";
import { formatBytes, type Progress, silentProgress } from "../util/log";
import { ownerNames } from "./accounts";
import { checkConfigOnBase, type LoadedBase, loadBase } from "./base";
import { imageOnBase } from "./base/image-on-base";
import type { ApkArch } from "./config/arch";
import type { ApkoConfig } from "./config/types";
import { ContentStore } from "./content-store";
import { PackageEntries } from "./install-entries";
import type { InstallPlan, KeyContent } from "./install-plan";
import type { CompressorFactory } from "./layer";
import { writeImageLayers } from "./layering";
import { OciLayout } from "./oci-layout";
import {
  buildImageConfig,
  buildIndex,
  buildManifest,
  imageAnnotations,
  indexAnnotations,
  jsonBytes,
  platformFor,
} from "./oci-objects";
import { type Descriptor, type ImageManifest, MEDIA_TYPES, type Platform } from "./oci-types";
import type { OsRelease } from "./os-release";
import { buildRootfs } from "./rootfs";
import { imageSbom, indexSbom, type SbomPackage, sbomBytes } from "./sbom";

export interface AssembleOptions {
  config: ApkoConfig;
  /** One plan per architecture to build. */
  plans: InstallPlan[];
  /** The shared cache directory (file bodies go to `<cacheDir>/files`). */
  cacheDir: string;
  /** The OCI image layout directory to write into. */
  outputDir: string;
  /** `org.opencontainers.image.ref.name` of the image in index.json (default "latest"). */
  tag?: string;
  /** Default: the newest `builddate` of all packages. */
  sourceDateEpoch?: number;
  /** Signing keys for etc/apk/keys; default: read the config's local keyring files. */
  keys?: KeyContent[];
  /** Also write the SPDX files here. */
  sbomDir?: string;
  progress?: Progress;
  /** Gzip for the layer (default: level-6 parallel gzip). */
  compressor?: CompressorFactory;
  /** The key file that seals the unpacked-package cache (default: cache-seal.ts's). */
  cacheSealKeyFile?: string;
}

export interface LockedPackage {
  name: string;
  version: string;
  checksum: string;
  repository: string;
}

export interface LayerResult {
  digest: string;
  diffId: string;
  /** Compressed size. */
  size: number;
  uncompressedSize: number;
  /** The packages whose files it holds ([] for the top layer of a layered image, or the only layer). */
  packages: string[];
}

export interface PlatformResult {
  arch: ApkArch;
  platform: Platform;
  manifest: Descriptor;
  manifestDigest: string;
  configDigest: string;
  /** The image's layers, bottom first (one unless the config asks for `layering`). */
  layers: LayerResult[];
  /** The last (top) layer: the only one of a single-layer image. */
  layerDigest: string;
  diffId: string;
  /** Compressed size of all layers. */
  size: number;
  uncompressedSize: number;
}

export interface SbomResult {
  /** Unset for the index's SBOM. */
  arch?: ApkArch;
  /** The image (manifest) or index the document describes. */
  describes: string;
  descriptor: Descriptor;
  /** Where it was written when `sbomDir` was given. */
  file?: string;
}

export interface AssembleResult {
  indexDigest: string;
  index: Descriptor;
  platforms: PlatformResult[];
  sboms: SbomResult[];
  lockedPackages: Record<string, LockedPackage[]>;
  sourceDateEpoch: number;
}

async function readHeads(plan: InstallPlan): Promise<ApkHead[]> {
  return Promise.all(
    plan.packages.map(async (p) => {
      // The fetcher's head is the same file's, already read: read again only without one.
      const head = p.head?.file === p.apkPath ? p.head : await readApkHead(p.apkPath);
      const subject = `${p.name}-${p.version} (${plan.arch})`;
      if (head.controlChecksum !== p.checksum) {
        throw new DistrolessError(
          "E_CHECKSUM",
          `${p.apkPath} has control checksum ${head.controlChecksum}, the lock says ${p.checksum}`,
          { subject },
        );
      }
      const info = head.pkginfo;
      if (info.pkgname !== p.name || info.pkgver !== p.version) {
        throw new DistrolessError("E_FORMAT", `${p.apkPath} is ${info.pkgname}-${info.pkgver}`, { subject });
      }
      if (info.arch !== plan.arch && info.arch !== "noarch") {
        throw new DistrolessError("E_FORMAT", `${p.apkPath} is built for ${info.arch}`, { subject });
      }
      return head;
    }),
  );
}

/**
 * Each plan's base image, when the config builds on one (apko refuses layering there, and the
 * image's own annotations, which would be labels replacing the base's: a DistrolessImage's
 * `annotations` input is refused the same way).
 */
async function loadBases(config: ApkoConfig, plans: InstallPlan[]): Promise<LoadedBase[] | undefined> {
  const ref = config.contents.baseImage;
  if (!ref) return undefined;
  checkConfigOnBase(config);
  return Promise.all(plans.map((p) => loadBase(ref, p.arch)));
}

async function keysFromConfig(config: ApkoConfig): Promise<KeyContent[]> {
  const keys: KeyContent[] = [];
  for (const k of config.contents.keyring) {
    if (k.kind !== "local") {
      throw new DistrolessError("E_MISSING", `key ${k.raw} is a URL; pass its fetched content in \`keys\``, {
        subject: config.source,
      });
    }
    keys.push({ name: k.name, content: await fsp.readFile(k.location, "utf8") });
  }
  return [...keys, ...config.contents.runtimeKeyring];
}

/**
 * Assembles a reproducible single-layer image per plan, the multi-arch index over them and SPDX
 * SBOMs, into an OCI image layout. Same config + same packages + same epoch => identical bytes.
 */
export async function assembleImage(options: AssembleOptions): Promise<AssembleResult> {
  const { config } = options;
  const progress = options.progress ?? silentProgress;
  if (options.plans.length === 0) throw new DistrolessError("E_CONFIG", "nothing to build: no architectures");
  const archs = options.plans.map((p) => p.arch);
  if (new Set(archs).size !== archs.length)
    throw new DistrolessError("E_CONFIG", `an arch is planned twice: ${archs.join(", ")}`);
  const heads = await Promise.all(options.plans.map(readHeads));
  const bases = await loadBases(config, options.plans);
  // apko's epoch is the newest build date of everything installed: a base's packages count too.
  const baseDates = (bases ?? []).flatMap((b) => b.installed.packages.map((p) => p.pkginfo.builddate));
  const epoch =
    options.sourceDateEpoch ?? Math.max(0, ...heads.flat().map((h) => h.pkginfo.builddate), ...baseDates);
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new DistrolessError("E_CONFIG", `SOURCE_DATE_EPOCH must be a non-negative integer, got ${epoch}`);
  }
  const keys = options.keys ?? (await keysFromConfig(config));
  const store = ContentStore.inCache(options.cacheDir);
  const unpacked = await UnpackedCache.inCache(options.cacheDir, {
    env: process.env,
    ...(options.cacheSealKeyFile ? { keyFile: options.cacheSealKeyFile } : {}),
  });
  try {
    return await assembleWith(options, { heads, bases, epoch, keys, store, unpacked, progress });
  } finally {
    unpacked.close();
  }
}

interface AssembleContext {
  heads: ApkHead[][];
  bases: LoadedBase[] | undefined;
  epoch: number;
  keys: KeyContent[];
  store: ContentStore;
  unpacked: UnpackedCache;
  progress: Progress;
}

/**
 * Runs `build` again after a damaged unpacked-cache entry turned up while the layer was written
 * (its block hashes are checked as it is read): the entry is removed, so the package is installed
 * from its verified .apk, and the half-written layer was already dropped. Once per package at most.
 */
async function withRepairs<T>(
  build: () => Promise<T>,
  unpacked: UnpackedCache,
  progress: Progress,
  arch: string,
  packages: number,
): Promise<T> {
  for (let repairs = 0; ; repairs++) {
    try {
      return await build();
    } catch (err) {
      if (!(err instanceof DamagedPackError) || repairs >= packages) throw err;
      progress.warn(`${arch}: ${err.message}; building again from the verified .apk`);
      unpacked.discard(err.checksum);
    }
  }
}

async function assembleWith(options: AssembleOptions, ctx: AssembleContext): Promise<AssembleResult> {
  const { config } = options;
  const { heads, bases, epoch, keys, store, unpacked, progress } = ctx;
  const layout = new OciLayout(options.outputDir);
  const blobDir = path.join(options.outputDir, "blobs", "sha256");
  const annotations = imageAnnotations(config, epoch);

  const platforms: PlatformResult[] = [];
  const perArch: {
    arch: ApkArch;
    os: OsRelease;
    sbomPackages: SbomPackage[];
  }[] = [];
  const lockedPackages: Record<string, LockedPackage[]> = {};
  for (let i = 0; i < options.plans.length; i++) {
    const plan = options.plans[i]!;
    const packages = plan.packages.map((planned, j) => ({ planned, head: heads[i]![j]! }));
    const base = bases?.[i];
    const build = async () => {
      const rootfs = await buildRootfs({
        config,
        arch: plan.arch,
        packages,
        keys,
        store,
        epoch,
        progress,
        unpacked,
        ...(base ? { base: { records: base.installed.records, packages: base.installed.packages } } : {}),
      });
      const names = await ownerNames(rootfs.tree, store);
      // The per-file entries are in the installed database now; neither the layers nor the SBOM
      // read them, so an image of many files does not hold them while its layer is written.
      for (const p of rootfs.installed) p.entries = new PackageEntries();
      const written = await writeImageLayers(config.layering, {
        tree: rootfs.tree,
        installed: rootfs.installed.map((p) => p.pkginfo),
        records: rootfs.records,
        store,
        names,
        dir: blobDir,
        ...(options.compressor ? { compressor: options.compressor } : {}),
        ...layerProgress(progress, plan.arch),
      });
      return { rootfs, written };
    };
    const { rootfs, written } = await withRepairs(build, unpacked, progress, plan.arch, packages.length);
    let layers: LayerResult[] = [];
    for (const layer of written) {
      await layout.adoptBlob(layer.file, layer.digest);
      const { file: _file, ...result } = layer;
      layers.push(result);
      progress.info(
        `${plan.arch}: layer ${layer.digest} (${formatBytes(layer.size)}, ${formatBytes(layer.uncompressedSize)} uncompressed${layer.packages.length ? `; ${layer.packages.join(", ")}` : ""})`,
      );
    }
    let configBlob: { digest: string; size: number };
    let manifest: ImageManifest;
    if (base) {
      ({
        layers,
        config: configBlob,
        manifest,
      } = await imageOnBase(base, layout, config, plan.arch, layers, epoch, annotations));
    } else {
      const imageConfig = buildImageConfig(
        config,
        plan.arch,
        layers.map((l) => l.diffId),
        epoch,
        rootfs.user,
      );
      configBlob = await layout.writeBlob(jsonBytes(imageConfig));
      manifest = buildManifest(
        { mediaType: MEDIA_TYPES.config, ...configBlob },
        layers.map((l) => ({ mediaType: MEDIA_TYPES.layerGzip, digest: l.digest, size: l.size })),
        annotations,
      );
    }
    const top = layers[layers.length - 1]!;
    const manifestBlob = await layout.writeBlob(jsonBytes(manifest));
    const platform = platformFor(plan.arch);
    platforms.push({
      arch: plan.arch,
      platform,
      manifest: { mediaType: MEDIA_TYPES.manifest, ...manifestBlob, platform },
      manifestDigest: manifestBlob.digest,
      configDigest: configBlob.digest,
      layers,
      layerDigest: top.digest,
      diffId: top.diffId,
      size: layers.reduce((n, l) => n + l.size, 0),
      uncompressedSize: layers.reduce((n, l) => n + l.uncompressedSize, 0),
    });
    perArch.push({
      arch: plan.arch,
      os: rootfs.os,
      sbomPackages: [...(base?.installed.packages ?? []), ...rootfs.installed],
    });
    lockedPackages[plan.arch] = rootfs.installed.map((p) => ({
      name: p.pkginfo.pkgname,
      version: p.pkginfo.pkgver,
      checksum: p.checksum,
      repository: p.planned.repository,
    }));
  }

  const index = buildIndex(
    platforms.map((p) => p.manifest),
    indexAnnotations(config, epoch),
  );
  const indexBlob = await layout.writeBlob(jsonBytes(index));
  const indexDesc: Descriptor = { mediaType: MEDIA_TYPES.index, ...indexBlob };

  const sboms: SbomResult[] = [];
  const writeSbom = async (doc: Buffer, fileName: string, describes: string, arch?: ApkArch) => {
    const blob = await layout.writeBlob(doc);
    const descriptor: Descriptor = {
      mediaType: MEDIA_TYPES.spdx,
      ...blob,
      annotations: { "org.opencontainers.image.title": fileName },
    };
    const result: SbomResult = { describes, descriptor, ...(arch ? { arch } : {}) };
    if (options.sbomDir) {
      result.file = path.join(options.sbomDir, fileName);
      await writeFileAtomic(result.file, doc);
    }
    sboms.push(result);
  };
  for (let i = 0; i < platforms.length; i++) {
    const p = platforms[i]!;
    const a = perArch[i]!;
    const doc = imageSbom({
      arch: p.arch,
      manifestDigest: p.manifestDigest,
      layers: p.layers.map((l) => ({ digest: l.digest, packages: l.packages })),
      os: a.os,
      packages: a.sbomPackages,
      epoch,
    });
    await writeSbom(sbomBytes(doc), `sbom-${p.arch}.spdx.json`, p.manifestDigest, p.arch);
  }
  const indexDoc = indexSbom(
    indexBlob.digest,
    platforms.map((p) => ({ arch: p.arch, manifestDigest: p.manifestDigest })),
    perArch[0]!.os,
    epoch,
  );
  await writeSbom(sbomBytes(indexDoc), "sbom-index.spdx.json", indexBlob.digest);

  await writeLayoutIndex(layout, indexDesc, platforms, options.tag ?? "latest");
  progress.info(`index ${indexBlob.digest}`);
  return {
    indexDigest: indexBlob.digest,
    index: indexDesc,
    platforms,
    sboms,
    lockedPackages,
    sourceDateEpoch: epoch,
  };
}

const REF_NAME = "org.opencontainers.image.ref.name";

/**
 * Points `tag` at the index in index.json, and `<tag>-<apk arch>` at each arch's manifest: tools
 * that do not choose a platform from an index (umoci) unpack one arch by that name. Other tags an
 * existing layout already has are kept.
 */
async function writeLayoutIndex(
  layout: OciLayout,
  index: Descriptor,
  platforms: PlatformResult[],
  tag: string,
): Promise<void> {
  const entries: Descriptor[] = [
    { ...index, annotations: { [REF_NAME]: tag } },
    ...platforms.map((p) => ({ ...p.manifest, annotations: { [REF_NAME]: `${tag}-${p.arch}` } })),
  ];
  const ours = new Set(entries.map((e) => e.annotations![REF_NAME]));
  let others: Descriptor[] = [];
  try {
    others = (await layout.readIndex()).manifests.filter((d) => !ours.has(d.annotations?.[REF_NAME] ?? ""));
  } catch {
    // a fresh directory
  }
  await layout.writeIndex([...others, ...entries]);
}

/** Layer writing's bytes to the progress's byte callback, one label per layer; nothing without one. */
function layerProgress(
  progress: Progress,
  arch: string,
): { layerBytes?: (index: number, count: number) => (done: number, total: number) => void } {
  const bytes = progress.bytes?.bind(progress);
  if (!bytes) return {};
  return {
    layerBytes: (index, count) => {
      const label = `${arch}: writing layer${count > 1 ? ` ${index + 1} of ${count}` : ""}`;
      return (done, total) => bytes(label, done, total);
    },
  };
}
