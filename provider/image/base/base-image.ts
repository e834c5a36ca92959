import { createReadStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import * as zlib from "node:zlib";
import { DistrolessError } from "../../util/errors";
import { tempPathFor } from "../../util/fs";
import { newHash } from "../../util/hash";
import { type ApkArch, toOciPlatform } from "../config/arch";
import type { BaseImageRef } from "../config/types";
import type { OciLayout } from "../oci-layout";
import { type Descriptor, MEDIA_TYPES } from "../oci-types";
import { BaseLayoutReader } from "./layout-reader";

/**
 * A base image (apko's `contents.baseimage.image`) for one arch: the manifest chosen from the
 * layout's index as apko chooses it, its config and its layers, all checked. The layers are
 * copied into the output layout byte for byte, their digests and diff_ids verified on the way.
 */

const INDEX_TYPES = [MEDIA_TYPES.index, MEDIA_TYPES.dockerManifestList] as const;
const MANIFEST_TYPES = [MEDIA_TYPES.manifest, MEDIA_TYPES.dockerManifest] as const;
const CONFIG_TYPES = [MEDIA_TYPES.config, "application/vnd.docker.container.image.v1+json"] as const;
const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const LAYER_TYPES = [MEDIA_TYPES.layerGzip, MEDIA_TYPES.layer, DOCKER_LAYER_GZIP] as const;

/** A layer that expands past this is refused (a gzip bomb would otherwise run for hours). */
export const MAX_LAYER_UNCOMPRESSED = 64 * 2 ** 30;

export interface BaseLayer {
  /** The base manifest's descriptor, kept as it is (media type, annotations...). */
  descriptor: Descriptor;
  diffId: string;
}

export interface BaseImage {
  ref: BaseImageRef;
  arch: ApkArch;
  manifestDigest: string;
  manifest: Record<string, unknown>;
  config: Record<string, unknown>;
  layers: BaseLayer[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function manifestsOf(reader: BaseLayoutReader, index: unknown, where: string): Descriptor[] {
  if (!isObject(index) || index.schemaVersion !== 2 || !Array.isArray(index.manifests))
    throw reader.fail("E_FORMAT", `${where} is not an OCI image index`);
  return index.manifests.map((m, i) =>
    reader.descriptor(m, `${where} manifests[${i}]`, [...INDEX_TYPES, ...MANIFEST_TYPES]),
  );
}

/**
 * The image for `arch`: like apko, index.json's first nested index (if it has one) is the image
 * index, and the first manifest whose config names the arch is the image. Where apko compares the
 * architecture only, a config that gives a variant must give ours (arm v6 and v7 differ).
 */
export async function openBaseImage(ref: BaseImageRef, arch: ApkArch): Promise<BaseImage> {
  const reader = new BaseLayoutReader(ref.image, "contents.baseimage.image");
  let entries = manifestsOf(reader, await reader.readTopIndex(), "index.json");
  const nested = entries.find((d) => (INDEX_TYPES as readonly string[]).includes(d.mediaType));
  if (nested) {
    const where = `index ${nested.digest}`;
    entries = manifestsOf(reader, await reader.readJsonBlob(nested, where), where);
  }
  const want = toOciPlatform(arch);
  const seen: string[] = [];
  for (const desc of entries) {
    if (!(MANIFEST_TYPES as readonly string[]).includes(desc.mediaType)) continue;
    const where = `manifest ${desc.digest}`;
    const manifest = await reader.readJsonBlob(desc, where);
    if (!isObject(manifest) || manifest.schemaVersion !== 2 || !Array.isArray(manifest.layers))
      throw reader.fail("E_FORMAT", `${where} is not an image manifest`);
    const configDesc = manifest.config as Descriptor | undefined;
    // Artifacts (signatures, SBOMs) in the index are not images: passed over, as runtimes do.
    if (!isObject(configDesc) || !(CONFIG_TYPES as readonly string[]).includes(String(configDesc.mediaType)))
      continue;
    const config = await reader.readJsonBlob(
      reader.descriptor(configDesc, `${where} config`, CONFIG_TYPES),
      `${where} config`,
    );
    if (!isObject(config)) throw reader.fail("E_FORMAT", `${where}: its config is not a JSON object`);
    const variant = typeof config.variant === "string" ? config.variant : undefined;
    seen.push(`${String(config.architecture)}${variant ? `/${variant}` : ""}`);
    if (config.architecture !== want.architecture) continue;
    if (variant !== undefined && want.variant !== undefined && variant !== want.variant) continue;
    return {
      ref,
      arch,
      manifestDigest: desc.digest,
      manifest,
      config,
      layers: checkLayers(reader, manifest, config, where),
    };
  }
  throw reader.fail(
    "E_MISSING",
    `the base image has no ${want.architecture}${want.variant ? `/${want.variant}` : ""} image (${arch}); it has ${seen.length ? seen.join(", ") : "no images"}`,
  );
}

function checkLayers(
  reader: BaseLayoutReader,
  manifest: Record<string, unknown>,
  config: Record<string, unknown>,
  where: string,
): BaseLayer[] {
  const rootfs = config.rootfs;
  if (!isObject(rootfs) || rootfs.type !== "layers" || !Array.isArray(rootfs.diff_ids))
    throw reader.fail("E_FORMAT", `${where}: its config has no rootfs.diff_ids`);
  const layers = manifest.layers as unknown[];
  const diffIds = rootfs.diff_ids as unknown[];
  if (diffIds.length !== layers.length)
    throw reader.fail(
      "E_FORMAT",
      `${where} lists ${layers.length} layers, its config ${diffIds.length} diff_ids`,
    );
  return layers.map((l, i) => {
    const diffId = diffIds[i];
    if (typeof diffId !== "string" || !/^sha256:[a-f0-9]{64}$/.test(diffId))
      throw reader.fail(
        "E_FORMAT",
        `${where}: diff_ids[${i}] ${JSON.stringify(diffId)} is not a sha256 digest`,
      );
    return { descriptor: reader.descriptor(l, `${where} layers[${i}]`, LAYER_TYPES), diffId };
  });
}

/** Hashes a layer file as stored and as unpacked; refuses any mismatch with the base's records. */
async function verifyLayer(
  file: string,
  layer: BaseLayer,
  reader: BaseLayoutReader,
  where: string,
): Promise<number> {
  const stored = newHash("sha256");
  const unpacked = newHash("sha256");
  let size = 0;
  const tap = new Writable({
    write(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > MAX_LAYER_UNCOMPRESSED) {
        done(reader.fail("E_HOSTILE", `${where} unpacks to over ${MAX_LAYER_UNCOMPRESSED} bytes`));
        return;
      }
      unpacked.update(chunk);
      done();
    },
  });
  const source = createReadStream(file);
  source.on("data", (chunk) => stored.update(chunk));
  const gzip = layer.descriptor.mediaType !== MEDIA_TYPES.layer;
  try {
    if (gzip) await pipeline(source, zlib.createGunzip(), tap);
    else await pipeline(source, tap);
  } catch (err) {
    if (err instanceof DistrolessError) throw err;
    throw reader.fail(
      "E_FORMAT",
      `${where} (${layer.descriptor.digest}) is not a valid gzip stream: ${(err as Error).message}`,
    );
  }
  if (`sha256:${stored.digest("hex")}` !== layer.descriptor.digest)
    throw reader.fail("E_CHECKSUM", `${where}: blob ${layer.descriptor.digest} does not match its digest`);
  if (`sha256:${unpacked.digest("hex")}` !== layer.diffId)
    throw reader.fail(
      "E_CHECKSUM",
      `${where} unpacks to a different content than its diff_id ${layer.diffId}`,
    );
  return size;
}

/**
 * Copies the base's layers into `out` unchanged (a layer already there is verified where it is),
 * each verified after the copy, so what the output holds is what was checked. Returns each
 * layer's unpacked size, bottom first.
 */
export async function copyBaseLayers(base: BaseImage, out: OciLayout): Promise<number[]> {
  const reader = new BaseLayoutReader(base.ref.image, "contents.baseimage.image");
  const sizes: number[] = [];
  for (const [i, layer] of base.layers.entries()) {
    const where = `manifest ${base.manifestDigest} layers[${i}]`;
    const source = await reader.checkBlobFile(layer.descriptor, where);
    const target = out.blobPath(layer.descriptor.digest);
    if (await out.hasBlob(layer.descriptor.digest)) {
      sizes.push(await verifyLayer(target, layer, reader, where));
      continue;
    }
    await fsp.mkdir(path.dirname(target), { recursive: true });
    const tmp = tempPathFor(target);
    try {
      await fsp.copyFile(source, tmp);
      sizes.push(await verifyLayer(tmp, layer, reader, where));
      await fsp.rename(tmp, target);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  }
  return sizes;
}
