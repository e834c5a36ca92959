import { END_OF_ARCHIVE, encodeHeader, newHeader, paddingFor } from "../archive/tar-header";
import { DistrolessError } from "../util/errors";
import { writeStreamAtomic } from "../util/fs";
import type { OciLayout } from "./oci-layout";
import { type Descriptor, MEDIA_TYPES } from "./oci-types";

/**
 * An image tarball that both `docker load` / `podman load` (via `manifest.json`, the
 * docker-archive format) and OCI tools (via `oci-layout` + `index.json`, the oci-archive format)
 * read — the same shape `docker save` writes since Docker 25. Blobs are stored once, under
 * `blobs/sha256/`. A multi-arch image is ONE archive, as apko writes it: `manifest.json` lists
 * each platform's image, tagged `<repo:tag>-<oci arch>` like apko, and `index.json` points at the
 * multi-arch image index (so `oci-archive:` readers pick a platform from it).
 */
export interface DockerArchiveImage {
  /** OCI architecture, for the per-platform tag of a multi-arch archive. */
  architecture: string;
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
  images: DockerArchiveImage[],
  index: Descriptor | undefined,
  file: string,
  repoTag?: string,
): Promise<void> {
  const blobs = images.flatMap((i) => [i.configDigest, ...i.layerDigests, i.manifest.digest]);
  if (index) blobs.push(index.digest);
  const unique = [...new Set(blobs)].sort();
  const tagOf = (image: DockerArchiveImage) =>
    !repoTag
      ? []
      : images.length === 1
        ? [repoTag]
        : [`${repoTag}-${image.architecture.replace(/\//g, "_")}`];
  const manifestJson = JSON.stringify(
    images.map((image) => ({
      Config: `blobs/sha256/${hexOf(image.configDigest)}`,
      RepoTags: tagOf(image),
      Layers: image.layerDigests.map((d) => `blobs/sha256/${hexOf(d)}`),
    })),
  );
  const top = index ?? images[0]!.manifest;
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
        mediaType: top.mediaType,
        digest: top.digest,
        size: top.size,
        ...(top.platform ? { platform: top.platform } : {}),
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

type ArchivePlatform = {
  arch: string;
  platform: { architecture: string };
  manifest: Descriptor;
  configDigest: string;
  layers: { digest: string }[];
};

const archiveImage = (p: ArchivePlatform): DockerArchiveImage => ({
  architecture: p.platform.architecture,
  manifest: p.manifest,
  configDigest: p.configDigest,
  layerDigests: p.layers.map((l) => l.digest),
});

/**
 * The assembled image as ONE archive at `file`: a single-platform image as itself, a multi-arch
 * one with all its platforms and the index (apko's `build ... img.tar` shape).
 */
export async function writeImageArchive(
  layout: OciLayout,
  result: { index: Descriptor; platforms: ArchivePlatform[] },
  file: string,
  repoTag?: string,
): Promise<string[]> {
  const images = result.platforms.map(archiveImage);
  await writeDockerArchive(layout, images, images.length > 1 ? result.index : undefined, file, repoTag);
  return [file];
}

/** One single-platform archive per arch (`FILE-<arch>.tar`; just `FILE` for one arch). */
export async function writeDockerArchives(
  layout: OciLayout,
  result: { platforms: ArchivePlatform[] },
  file: string,
  repoTag?: string,
): Promise<string[]> {
  const files: string[] = [];
  for (const p of result.platforms) {
    const target = result.platforms.length === 1 ? file : file.replace(/\.tar$/, `-${p.arch}.tar`);
    await writeDockerArchive(layout, [archiveImage(p)], undefined, target, repoTag);
    files.push(target);
  }
  return files;
}
