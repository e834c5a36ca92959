import {
  type Descriptor,
  EMPTY_CONFIG,
  EMPTY_JSON,
  EMPTY_JSON_DIGEST,
  type ImageIndex,
  type ImageManifest,
  MEDIA_TYPES,
} from "../image/oci-types";
import { DistrolessError } from "../util/errors";
import { hashFile, ociDigest } from "../util/hash";
import { type BlobSource, bufferBlobSource, ensureBlob, fileBlobSource } from "./blobs";
import {
  type RegistryClient,
  type RegistryOptions,
  type RepositoryHandle,
  repoSubject,
  sendTo,
  withClient,
} from "./client";
import { getManifest, headManifest, putManifest } from "./manifests";
import { isDigest, parseReference, repositoryName } from "./reference";
import { unexpectedResponse } from "./responses";
import { header } from "./wire";

export interface AttachReferrerOptions extends RegistryOptions {
  /** `host/repo` (a tag or digest in it is ignored; `subject` says what is referred to). */
  reference: string;
  /** The manifest the artifact is about: a digest (looked up) or its descriptor. */
  subject: string | Descriptor;
  /** e.g. `application/spdx+json`. */
  artifactType: string;
  /** The artifact's content: in memory, or a file streamed from disk. */
  content: { data: Buffer } | { file: string };
  /** Media type of the content blob (default: `artifactType`). */
  contentMediaType?: string;
  /** Annotations on the artifact manifest (and its descriptor in referrer lists). */
  annotations?: Record<string, string>;
  client?: RegistryClient;
}

export interface AttachReferrerResult {
  /** Digest of the artifact manifest. */
  digest: string;
  descriptor: Descriptor;
  /** `referrers-api` when the registry indexes `subject` itself; else the `sha256-<hex>` tag was updated. */
  via: "referrers-api" | "tag-schema";
  fallbackTag?: string;
}

/**
 * Attaches an artifact (an SBOM, a signature) to an image as an OCI 1.1 artifact manifest whose
 * `subject` is the image. Registries with the referrers API index it when the manifest is pushed
 * (they answer with `OCI-Subject`); for the others (distribution 2.8 among them) the referrers tag
 * schema is kept up to date: the tag `sha256-<subject hex>` holds an index listing the referrers.
 * That read-modify-write is not atomic; concurrent attachers to one subject can lose an entry.
 */
export async function attachReferrer(options: AttachReferrerOptions): Promise<AttachReferrerResult> {
  const ref = parseReference(options.reference);
  return withClient(ref.registry, options, async (client) => {
    const repo = client.repository(ref.repository, ["pull", "push"]);
    const subject = await subjectDescriptor(repo, options.subject);

    const { content } = options;
    const source =
      "data" in content
        ? bufferBlobSource(content.data, ociDigest(content.data))
        : await hashedFileSource(content.file);
    await ensureBlob(repo, bufferBlobSource(EMPTY_JSON, EMPTY_JSON_DIGEST));
    await ensureBlob(repo, source);

    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      artifactType: options.artifactType,
      config: EMPTY_CONFIG,
      layers: [
        {
          mediaType: options.contentMediaType ?? options.artifactType,
          digest: source.digest,
          size: source.size,
        },
      ],
      subject,
      ...(options.annotations ? { annotations: options.annotations } : {}),
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    const { digest, subjectHeader } = await putManifest(repo, ociDigest(bytes), bytes, MEDIA_TYPES.manifest);
    const descriptor: Descriptor = {
      mediaType: MEDIA_TYPES.manifest,
      digest,
      size: bytes.length,
      artifactType: options.artifactType,
      ...(options.annotations ? { annotations: options.annotations } : {}),
    };
    if (subjectHeader) return { digest, descriptor, via: "referrers-api" };

    const tag = fallbackTag(subject.digest);
    const current = await getManifest(repo, tag);
    let index: ImageIndex = { schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [] };
    if (current) {
      const parsed = JSON.parse(current.bytes.toString("utf8")) as ImageIndex;
      if (!Array.isArray(parsed.manifests)) {
        throw new DistrolessError("E_FORMAT", `the referrers tag ${tag} does not hold an image index`, {
          subject: repositoryName(ref),
        });
      }
      index = parsed;
    }
    if (!index.manifests.some((d) => d.digest === digest)) {
      index = { ...index, manifests: [...index.manifests, descriptor] };
      const indexBytes = Buffer.from(JSON.stringify(index));
      await putManifest(repo, tag, indexBytes, MEDIA_TYPES.index);
    }
    return { digest, descriptor, via: "tag-schema", fallbackTag: tag };
  });
}

/** `sha256-<hex>`: the referrers tag schema's tag for a subject digest. */
export function fallbackTag(subjectDigest: string): string {
  return subjectDigest.replace(":", "-");
}

export interface ListReferrersOptions extends RegistryOptions {
  artifactType?: string;
  client?: RegistryClient;
}

/**
 * Lists the referrers of `subjectDigest` in the repository of `reference`: through the referrers
 * API where the registry has it, else from the referrers tag. [] when there are none.
 */
export async function listReferrers(
  reference: string,
  subjectDigest: string,
  options: ListReferrersOptions = {},
): Promise<Descriptor[]> {
  if (!isDigest(subjectDigest))
    throw new DistrolessError("E_CONFIG", `"${subjectDigest}" is not a sha256 digest`);
  const ref = parseReference(reference);
  return withClient(ref.registry, options, async (client) => {
    const repo = client.repository(ref.repository, ["pull"]);
    const filter = options.artifactType;
    const op = `list referrers of ${subjectDigest}`;
    const query = filter ? `?artifactType=${encodeURIComponent(filter)}` : "";
    const res = await sendTo(repo, {
      method: "GET",
      url: `/v2/${ref.repository}/referrers/${subjectDigest}${query}`,
      headers: { accept: MEDIA_TYPES.index },
      operation: op,
      maxBodyBytes: 4 << 20,
    });
    let manifests: Descriptor[];
    if (res.status === 200 && (header(res, "content-type") ?? "").startsWith(MEDIA_TYPES.index)) {
      manifests = (JSON.parse(res.body.toString("utf8")) as ImageIndex).manifests ?? [];
    } else if (res.status === 404 || res.status === 200) {
      // 404: no referrers API here (or an unknown route): the tag schema is the fallback.
      const tagged = await getManifest(repo, fallbackTag(subjectDigest));
      manifests = tagged ? ((JSON.parse(tagged.bytes.toString("utf8")) as ImageIndex).manifests ?? []) : [];
    } else {
      throw unexpectedResponse(repo, op, res);
    }
    return filter ? manifests.filter((d) => d.artifactType === filter) : manifests;
  });
}

async function subjectDescriptor(repo: RepositoryHandle, subject: string | Descriptor): Promise<Descriptor> {
  if (typeof subject !== "string") {
    return { mediaType: subject.mediaType, digest: subject.digest, size: subject.size };
  }
  if (!isDigest(subject))
    throw new DistrolessError("E_CONFIG", `subject "${subject}" is not a sha256 digest`);
  const info = await headManifest(repo, subject);
  if (!info) {
    throw new DistrolessError("E_MISSING", `subject manifest ${subject} is not in the repository`, {
      subject: repoSubject(repo),
    });
  }
  return { mediaType: info.mediaType, digest: subject, size: info.size };
}

/** A file as a blob: its digest and size from one read, so the two always agree. */
async function hashedFileSource(file: string): Promise<BlobSource> {
  const { hex, size } = await hashFile(file, "sha256");
  return fileBlobSource(file, `sha256:${hex}`, size);
}
