import { END_OF_ARCHIVE, encodeHeader, newHeader, paddingFor } from "../archive/tar-header";
import { DistrolessError } from "../util/errors";
import { writeStreamAtomic } from "../util/fs";
import type { OciLayout } from "./oci-layout";
import { type Descriptor, MEDIA_TYPES } from "./oci-types";

/**
 * A single-image tarball that both `docker load` / `podman load` (via `manifest.json`, the
 * docker-archive format) and OCI tools (via `oci-layout` + `index.json`, the oci-archive format)
 * read — the same shape `docker save` writes since Docker 25. Blobs are stored once, under
 * `blobs/sha256/`. docker-archive holds one image per platform, so a multi-arch build writes one
 * tarball per architecture (the OCI layout directory keeps the multi-arch index).
 */
export interface DockerArchiveImage {
  manifest: Descriptor;
  configDigest: string;
  layerDigests: string[];
}

const hexOf = (digest: string) => {
  const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
  if (!m) throw new DistrolessError("E_FORMAT", `invalid digest ${digest}`);
  return m[1]!;
};

async function writeDockerArchive(
  layout: OciLayout,
  image: DockerArchiveImage,
  file: string,
  repoTag?: string,
): Promise<void> {
  const blobs = [image.configDigest, ...image.layerDigests, image.manifest.digest];
  const unique = [...new Set(blobs)].sort();
  const manifestJson = JSON.stringify([
    {
      Config: `blobs/sha256/${hexOf(image.configDigest)}`,
      RepoTags: repoTag ? [repoTag] : [],
      Layers: image.layerDigests.map((d) => `blobs/sha256/${hexOf(d)}`),
    },
  ]);
  const annotations: Record<string, string> = {};
  if (repoTag) {
    annotations["io.containerd.image.name"] = repoTag;
    annotations["org.opencontainers.image.ref.name"] = repoTag.slice(repoTag.lastIndexOf(":") + 1);
  }
  const indexJson = JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [
      {
        mediaType: image.manifest.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.size,
        ...(image.manifest.platform ? { platform: image.manifest.platform } : {}),
        ...(repoTag ? { annotations } : {}),
      },
    ],
  });
  const sizes = new Map<string, number>();
  for (const d of unique) sizes.set(d, await layout.blobSize(d));

  async function* entries(): AsyncGenerator<Buffer> {
    const dir = (name: string) => encodeHeader(newHeader({ name, type: "directory", mode: 0o755 }));
    const small = (name: string, text: string) => {
      const body = Buffer.from(text, "utf8");
      return Buffer.concat([
        encodeHeader(newHeader({ name, type: "file", mode: 0o644, size: body.length })),
        body,
        Buffer.alloc(paddingFor(body.length)),
      ]);
    };
    yield dir("blobs");
    yield dir("blobs/sha256");
    for (const d of unique) {
      const size = sizes.get(d)!;
      yield encodeHeader(newHeader({ name: `blobs/sha256/${hexOf(d)}`, type: "file", mode: 0o644, size }));
      let seen = 0;
      for await (const chunk of layout.openBlob(d)) {
        seen += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (seen !== size) throw new DistrolessError("E_FORMAT", `blob ${d} changed size while archived`);
      if (paddingFor(size) > 0) yield Buffer.alloc(paddingFor(size));
    }
    yield small("index.json", indexJson);
    yield small("manifest.json", manifestJson);
    yield small("oci-layout", JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    yield END_OF_ARCHIVE;
  }

  await writeStreamAtomic(file, entries());
}

/**
 * One docker archive per platform of an assembled image: `FILE` for a single arch, else
 * `FILE-<arch>.tar` each (a docker archive holds one platform).
 */
export async function writeDockerArchives(
  layout: OciLayout,
  result: { platforms: { arch: string; manifest: Descriptor; configDigest: string; layerDigest: string }[] },
  file: string,
  repoTag?: string,
): Promise<string[]> {
  const files: string[] = [];
  for (const p of result.platforms) {
    const target = result.platforms.length === 1 ? file : file.replace(/\.tar$/, `-${p.arch}.tar`);
    await writeDockerArchive(
      layout,
      { manifest: p.manifest, configDigest: p.configDigest, layerDigests: [p.layerDigest] },
      target,
      repoTag,
    );
    files.push(target);
  }
  return files;
}
