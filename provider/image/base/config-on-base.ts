import { type ApkArch, toOciPlatform } from "../config/arch";
import type { ApkoConfig } from "../config/types";
import { envList, imageAnnotations, layerHistory, rfc3339, TOOL_NAME, volumesObject } from "../oci-objects";
import type { Descriptor, ImageManifest } from "../oci-types";
import { MEDIA_TYPES } from "../oci-types";
import type { BaseImage } from "./base-image";

/**
 * The image config and manifest of an image built on a base, as apko v1.2.37 makes them (it appends
 * its layer to the base with go-containerregistry's mutate, then sets its own fields):
 * - rootfs.diff_ids and history continue the base's (one history entry per new layer);
 * - architecture, variant, os, created and author are set, Labels replaced by the image's
 *   annotations, Env replaced by the image's environment (apko's PATH/SSL_CERT_FILE defaults: a
 *   base image's own Env does not survive, exactly as in apko), Volumes replaced when given;
 * - Entrypoint, Cmd, User, WorkingDir, StopSignal and everything else stay the base's (apko
 *   refuses to set them on a base image);
 * - the manifest keeps the base's layer descriptors as they are, gains ours, and merges the
 *   image's annotations into the base manifest's.
 */

const sorted = (record: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function configOnBase(
  base: BaseImage,
  config: ApkoConfig,
  arch: ApkArch,
  diffIds: string[],
  epoch: number,
): Record<string, unknown> {
  const created = rfc3339(epoch);
  const out: Record<string, unknown> = structuredClone(base.config);
  const platform = toOciPlatform(arch);
  out.architecture = platform.architecture;
  out.author = TOOL_NAME;
  out.created = created;
  out.os = "linux";
  if (platform.variant) out.variant = platform.variant;
  else delete out.variant;
  const baseHistory = Array.isArray(base.config.history) ? base.config.history : [];
  out.history = [...baseHistory, ...layerHistory(config, diffIds.length, created)];
  const rootfs = base.config.rootfs as { diff_ids: string[] };
  out.rootfs = { type: "layers", diff_ids: [...rootfs.diff_ids, ...diffIds] };
  const inner: Record<string, unknown> =
    typeof base.config.config === "object" && base.config.config !== null
      ? { ...(base.config.config as Record<string, unknown>) }
      : {};
  inner.Env = envList(config);
  const volumes = volumesObject(config);
  if (volumes) {
    inner.Volumes = volumes;
  }
  inner.Labels = imageAnnotations(config, epoch);
  out.config = inner;
  return out;
}

/** The base's manifest with our config and layers (an OCI manifest, as apko's mutate makes it). */
export function manifestOnBase(
  base: BaseImage,
  configDesc: Descriptor,
  ours: Descriptor[],
  annotations: Record<string, string>,
): ImageManifest {
  const baseAnnotations =
    typeof base.manifest.annotations === "object" && base.manifest.annotations !== null
      ? (base.manifest.annotations as Record<string, string>)
      : {};
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: configDesc,
    layers: [...base.layers.map((l) => l.descriptor), ...ours],
    annotations: sorted({ ...baseAnnotations, ...annotations }),
  };
}
