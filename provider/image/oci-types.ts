/** OCI image-spec objects as we write and read them (image-spec v1.1). */

export const MEDIA_TYPES = {
  index: "application/vnd.oci.image.index.v1+json",
  manifest: "application/vnd.oci.image.manifest.v1+json",
  config: "application/vnd.oci.image.config.v1+json",
  layerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  layer: "application/vnd.oci.image.layer.v1.tar",
  empty: "application/vnd.oci.empty.v1+json",
  spdx: "application/spdx+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

/** The empty JSON blob (`{}`) artifacts use as their config. */
export const EMPTY_JSON = Buffer.from("{}");
export const EMPTY_JSON_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageConfig {
  architecture: string;
  author?: string;
  created?: string;
  history?: {
    author?: string;
    created?: string;
    created_by?: string;
    comment?: string;
    empty_layer?: boolean;
  }[];
  os: string;
  rootfs: { type: "layers"; diff_ids: string[] };
  config: {
    Entrypoint?: string[];
    Cmd?: string[];
    Env?: string[];
    User?: string;
    WorkingDir?: string;
    Volumes?: Record<string, Record<string, never>>;
    StopSignal?: string;
    Labels?: Record<string, string>;
  };
  variant?: string;
}

export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MEDIA_TYPES.index || mediaType === MEDIA_TYPES.dockerManifestList;
}

/** The descriptor of EMPTY_JSON as an artifact manifest's config. */
export const EMPTY_CONFIG: Descriptor = {
  mediaType: MEDIA_TYPES.empty,
  digest: EMPTY_JSON_DIGEST,
  size: EMPTY_JSON.length,
};
