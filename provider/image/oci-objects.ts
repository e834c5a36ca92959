import { type ApkArch, toOciPlatform } from "./config/arch";
import type { ApkoConfig } from "./config/types";
import {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  MEDIA_TYPES,
  type Platform,
} from "./oci-types";

export const TOOL_NAME = "pulumi-distroless";

/** SOURCE_DATE_EPOCH as Go's RFC 3339 (`1970-01-01T00:00:00Z`, no fraction). */
export function rfc3339(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function platformFor(arch: ApkArch): Platform {
  const p = toOciPlatform(arch);
  return p.variant
    ? { architecture: p.architecture, os: "linux", variant: p.variant }
    : { architecture: p.architecture, os: "linux" };
}

function sortedRecord(entries: [string, string][]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = v;
  return out;
}

/**
 * The annotations apko puts on each manifest and (as Labels) its config: the configured ones and
 * the creation time. Sorted (Go marshals maps sorted).
 */
export function imageAnnotations(config: ApkoConfig, epoch: number): Record<string, string> {
  const a = new Map(Object.entries(config.annotations));
  a.set("org.opencontainers.image.created", rfc3339(epoch));
  return sortedRecord([...a.entries()]);
}

/**
 * The index's annotations: the image's plus `vcs-url` (configured or probed) as source/revision.
 * apko v1.2.37 puts those on the index only: its per-arch configs are copies that drop vcs-url.
 */
export function indexAnnotations(config: ApkoConfig, epoch: number): Record<string, string> {
  const a = new Map(Object.entries(imageAnnotations(config, epoch)));
  if (config.vcs?.commit) {
    a.set("org.opencontainers.image.source", config.vcs.url);
    a.set("org.opencontainers.image.revision", config.vcs.commit);
  }
  return sortedRecord([...a.entries()]);
}

/** One history entry per layer we add, as apko writes them. */
export function layerHistory(config: ApkoConfig, layers: number, created: string): Record<string, string>[] {
  const title = config.annotations["org.opencontainers.image.title"];
  const vendor = config.annotations["org.opencontainers.image.vendor"];
  // apko leaves the comment out of a layered image's history (it only describes single layers).
  const comment =
    title && vendor
      ? `${title} by ${vendor}`
      : layers > 1
        ? undefined
        : `This is a ${TOOL_NAME} single-layer image`;
  return Array.from({ length: layers }, () => ({
    author: TOOL_NAME,
    created,
    created_by: TOOL_NAME,
    ...(comment === undefined ? {} : { comment }),
  }));
}

/** The config's environment as the image's sorted `Env`. */
export function envList(config: ApkoConfig): string[] {
  return Object.entries(config.environment)
    .map(([k, v]) => `${k}=${v}`)
    .sort();
}

/** The image's `Volumes`, sorted; undefined when there are none. */
export function volumesObject(config: ApkoConfig): Record<string, Record<string, never>> | undefined {
  if (config.volumes.length === 0) return undefined;
  const volumes: Record<string, Record<string, never>> = {};
  for (const v of [...config.volumes].sort()) volumes[v] = {};
  return volumes;
}

/** The image config, keys in image-layout.md's order; empty settings are left out. */
export function buildImageConfig(
  config: ApkoConfig,
  arch: ApkArch,
  diffIds: string[],
  epoch: number,
  user: string | undefined,
): ImageConfig {
  const created = rfc3339(epoch);
  const annotations = imageAnnotations(config, epoch);
  const platform = toOciPlatform(arch);
  const inner: ImageConfig["config"] = {};
  if (config.entrypoint.command.length > 0) inner.Entrypoint = [...config.entrypoint.command];
  if (config.cmd.length > 0) inner.Cmd = [...config.cmd];
  inner.Env = envList(config);
  if (user) inner.User = user;
  if (config.workDir) inner.WorkingDir = config.workDir;
  const volumes = volumesObject(config);
  if (volumes) inner.Volumes = volumes;
  if (config.stopSignal) inner.StopSignal = config.stopSignal;
  inner.Labels = annotations;
  const out: ImageConfig = {
    architecture: platform.architecture,
    author: TOOL_NAME,
    created,
    history: layerHistory(config, diffIds.length, created),
    os: "linux",
    rootfs: { type: "layers", diff_ids: [...diffIds] },
    config: inner,
  };
  if (platform.variant) out.variant = platform.variant;
  return out;
}

export function buildManifest(
  configDesc: Descriptor,
  layerDescs: Descriptor[],
  annotations: Record<string, string>,
): ImageManifest {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: configDesc,
    layers: [...layerDescs],
    annotations,
  };
}

/** The image index: one manifest per arch, sorted by architecture as apko sorts them. */
export function buildIndex(manifests: Descriptor[], annotations: Record<string, string>): ImageIndex {
  const key = (d: Descriptor) => `${d.platform?.architecture ?? ""}/${d.platform?.variant ?? ""}`;
  const sorted = [...manifests].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: sorted, annotations };
}

/** Canonical JSON bytes for a blob (compact, as Go's json.Marshal writes manifests). */
export function jsonBytes(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), "utf8");
}
