import type { LayerResult } from "../assemble";
import type { ApkArch } from "../config/arch";
import type { ApkoConfig } from "../config/types";
import type { OciLayout } from "../oci-layout";
import { jsonBytes } from "../oci-objects";
import { type ImageManifest, MEDIA_TYPES } from "../oci-types";
import { copyBaseLayers } from "./base-image";
import { configOnBase, manifestOnBase } from "./config-on-base";
import type { LoadedBase } from "./index";

/**
 * One arch's image on its base: the base's layers copied into the output layout (verified), ours on
 * top, the config and manifest continuing the base's. The base's packages are attributed to its
 * top layer (where its installed database is) for the SBOM.
 */
export async function imageOnBase(
  base: LoadedBase,
  layout: OciLayout,
  config: ApkoConfig,
  arch: ApkArch,
  ours: LayerResult[],
  epoch: number,
  annotations: Record<string, string>,
): Promise<{ layers: LayerResult[]; config: { digest: string; size: number }; manifest: ImageManifest }> {
  const sizes = await copyBaseLayers(base.image, layout);
  const last = base.image.layers.length - 1;
  const baseLayers: LayerResult[] = base.image.layers.map((l, i) => ({
    digest: l.descriptor.digest,
    diffId: l.diffId,
    size: l.descriptor.size,
    uncompressedSize: sizes[i]!,
    packages: i === last ? base.installed.packages.map((p) => p.pkginfo.pkgname) : [],
  }));
  const imageConfig = configOnBase(
    base.image,
    config,
    arch,
    ours.map((l) => l.diffId),
    epoch,
  );
  const configBlob = await layout.writeBlob(jsonBytes(imageConfig));
  const manifest = manifestOnBase(
    base.image,
    { mediaType: MEDIA_TYPES.config, ...configBlob },
    ours.map((l) => ({ mediaType: MEDIA_TYPES.layerGzip, digest: l.digest, size: l.size })),
    annotations,
  );
  return { layers: [...baseLayers, ...ours], config: configBlob, manifest };
}
