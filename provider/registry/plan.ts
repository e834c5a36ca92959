import * as fsp from "node:fs/promises";
import { OciLayout } from "../image/oci-layout";
import {
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  isIndexMediaType,
  MEDIA_TYPES,
  type Platform,
} from "../image/oci-types";
import { DistrolessError } from "../util/errors";

export interface PlannedManifest {
  digest: string;
  mediaType: string;
  /** The exact bytes from the layout: pushing them keeps the digest. */
  bytes: Buffer;
  platform?: Platform;
}

export interface PlannedBlob {
  digest: string;
  size: number;
  mediaType: string;
  file: string;
}

/** What a push of one layout entry sends, in the order that keeps the registry consistent. */
export interface PushPlan {
  /** The top manifest or index: pushed last, then tagged. */
  root: PlannedManifest;
  /** Manifests below the root, children before parents. */
  manifests: PlannedManifest[];
  /** Unique config and layer blobs. */
  blobs: PlannedBlob[];
  /** Platform (`amd64`, `arm/v7`, `windows/amd64`) -> manifest digest. */
  platforms: Record<string, string>;
}

const REF_NAME = "org.opencontainers.image.ref.name";
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.manifest, MEDIA_TYPES.dockerManifest]);

/**
 * Reads an OCI layout and lists what pushing one of its entries needs. `index.json` normally holds
 * one entry (the image index, or a single manifest); with several, `layoutRef` picks the one whose
 * `org.opencontainers.image.ref.name` matches. Blob files are checked to exist with the recorded size.
 */
export async function planLayoutPush(layoutDir: string, layoutRef?: string): Promise<PushPlan> {
  const layout = new OciLayout(layoutDir);
  const top = await layout.readIndex();
  let candidates = top.manifests;
  if (layoutRef !== undefined) candidates = candidates.filter((d) => d.annotations?.[REF_NAME] === layoutRef);
  else if (candidates.length > 1) candidates = await roots(layout, candidates);
  if (candidates.length !== 1) {
    const names = top.manifests.map((d) => d.annotations?.[REF_NAME] ?? d.digest).join(", ");
    throw new DistrolessError(
      "E_CONFIG",
      layoutRef !== undefined
        ? `no single entry named "${layoutRef}" in index.json (entries: ${names || "none"})`
        : `index.json has ${candidates.length} separate images (${names || "none"}); name the one to push (push DIR:NAME, or --ref NAME)`,
      { subject: layoutDir },
    );
  }

  const manifests: PlannedManifest[] = [];
  const blobs = new Map<string, PlannedBlob>();
  const seen = new Set<string>();

  const visit = async (desc: Descriptor): Promise<PlannedManifest> => {
    const bytes = await layout.readBlob(desc.digest, 4 << 20);
    if (bytes.length !== desc.size) {
      throw new DistrolessError(
        "E_CHECKSUM",
        `manifest ${desc.digest} is ${bytes.length} bytes, descriptor says ${desc.size}`,
        {
          subject: layoutDir,
        },
      );
    }
    let parsed: Partial<ImageIndex & ImageManifest>;
    try {
      parsed = JSON.parse(bytes.toString("utf8")) as Partial<ImageIndex & ImageManifest>;
    } catch {
      throw new DistrolessError("E_FORMAT", `manifest ${desc.digest} is not JSON`, { subject: layoutDir });
    }
    const mediaType = parsed.mediaType ?? desc.mediaType;
    if (parsed.mediaType && parsed.mediaType !== desc.mediaType) {
      throw new DistrolessError(
        "E_FORMAT",
        `manifest ${desc.digest} is ${parsed.mediaType}, its descriptor says ${desc.mediaType}`,
        {
          subject: layoutDir,
        },
      );
    }
    const planned: PlannedManifest = { digest: desc.digest, mediaType, bytes };
    if (desc.platform) planned.platform = desc.platform;
    if (isIndexMediaType(mediaType)) {
      for (const child of parsed.manifests ?? []) {
        if (seen.has(child.digest)) continue;
        seen.add(child.digest);
        manifests.push(await visit(child));
      }
    } else if (MANIFEST_TYPES.has(mediaType)) {
      if (!parsed.config || !Array.isArray(parsed.layers)) {
        throw new DistrolessError("E_FORMAT", `manifest ${desc.digest} has no config or layers`, {
          subject: layoutDir,
        });
      }
      for (const blob of [parsed.config, ...parsed.layers]) {
        // Foreign layers (with `urls`) are fetched from elsewhere by design; registries do not hold them.
        if ((blob as Descriptor & { urls?: string[] }).urls?.length) continue;
        if (blobs.has(blob.digest)) continue;
        const file = layout.blobPath(blob.digest);
        const size = await fsp.stat(file).then(
          (st) => st.size,
          () => {
            throw new DistrolessError("E_MISSING", `blob ${blob.digest} (${blob.mediaType}) is missing`, {
              subject: layoutDir,
            });
          },
        );
        if (size !== blob.size) {
          throw new DistrolessError(
            "E_CHECKSUM",
            `blob ${blob.digest} is ${size} bytes, its descriptor says ${blob.size}`,
            {
              subject: layoutDir,
            },
          );
        }
        blobs.set(blob.digest, { digest: blob.digest, size, mediaType: blob.mediaType, file });
      }
    } else {
      throw new DistrolessError(
        "E_FORMAT",
        `${desc.digest} has media type "${mediaType}", not a manifest or index`,
        {
          subject: layoutDir,
        },
      );
    }
    return planned;
  };

  const rootDesc = candidates[0]!;
  seen.add(rootDesc.digest);
  const root = await visit(rootDesc);
  return { root, manifests, blobs: [...blobs.values()], platforms: await platformsOf(layout, root) };
}

async function platformsOf(layout: OciLayout, root: PlannedManifest): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (isIndexMediaType(root.mediaType)) {
    const index = JSON.parse(root.bytes.toString("utf8")) as ImageIndex;
    for (const d of index.manifests) {
      if (!d.platform || d.platform.architecture === "unknown") continue;
      out[platformKey(d.platform)] = d.digest;
    }
    return out;
  }
  const manifest = JSON.parse(root.bytes.toString("utf8")) as ImageManifest;
  const config = await layout.readJsonBlob<ImageConfig>(manifest.config.digest).catch(() => undefined);
  if (config?.architecture) {
    const platform: Platform = { architecture: config.architecture, os: config.os ?? "linux" };
    if (config.variant) platform.variant = config.variant;
    out[platformKey(platform)] = root.digest;
  }
  return out;
}

/** `amd64`, `arm/v7`; the OS is named only when it is not linux (`windows/amd64`). */
function platformKey(p: Platform): string {
  const arch = p.variant ? `${p.architecture}/${p.variant}` : p.architecture;
  return p.os && p.os !== "linux" ? `${p.os}/${arch}` : arch;
}

/**
 * The entries no other entry's image index contains. A layout we build lists the image index and,
 * for tools that look for them, each platform's manifest: the index is the one image to push.
 */
async function roots(layout: OciLayout, entries: Descriptor[]): Promise<Descriptor[]> {
  const contained = new Set<string>();
  for (const d of entries) {
    if (!isIndexMediaType(d.mediaType)) continue;
    let index: Partial<ImageIndex>;
    try {
      index = JSON.parse((await layout.readBlob(d.digest, 4 << 20)).toString("utf8")) as Partial<ImageIndex>;
    } catch {
      continue; // an unreadable entry is reported when it is the one pushed
    }
    for (const child of index.manifests ?? []) contained.add(child.digest);
  }
  const out = entries.filter((d) => !contained.has(d.digest));
  return out.length > 0 ? out : entries;
}
