import { randomBytes } from "node:crypto";
import {
  EMPTY_CONFIG,
  EMPTY_JSON,
  EMPTY_JSON_DIGEST,
  type ImageManifest,
  MEDIA_TYPES,
} from "../image/oci-types";
import { DistrolessError } from "../util/errors";
import { bufferBlobSource, ensureBlob } from "./blobs";
import { type RegistryClient, type RegistryOptions, withClient } from "./client";
import {
  deleteManifest,
  headManifest,
  listTags as listRepoTags,
  type ManifestInfo,
  putManifest,
} from "./manifests";
import { isDigest, isValidTag, parseReference, repositoryName } from "./reference";
import { statusOf } from "./responses";

export interface QueryOptions extends RegistryOptions {
  client?: RegistryClient;
}

/**
 * True when the repository of `reference` holds the manifest `digest` (default: the reference's
 * own `@digest`). Used by `read` to notice an image deleted behind Pulumi's back.
 */
export async function imageExists(
  reference: string,
  digest?: string,
  options: QueryOptions = {},
): Promise<boolean> {
  const ref = parseReference(reference);
  const wanted = digest ?? ref.digest;
  if (!wanted || !isDigest(wanted)) {
    throw new DistrolessError("E_CONFIG", "imageExists needs a sha256 digest", { subject: reference });
  }
  return withClient(ref.registry, options, async (client) => {
    return (await headManifest(client.repository(ref.repository, ["pull"]), wanted)) !== undefined;
  });
}

/** Where `tag` (default: the reference's tag) points now; undefined when the tag does not exist. */
export async function resolveTag(
  reference: string,
  tag?: string,
  options: QueryOptions = {},
): Promise<ManifestInfo | undefined> {
  const ref = parseReference(reference);
  const wanted = tag ?? ref.tag;
  if (!wanted || !isValidTag(wanted))
    throw new DistrolessError("E_CONFIG", "resolveTag needs a tag", { subject: reference });
  return withClient(ref.registry, options, async (client) => {
    return headManifest(client.repository(ref.repository, ["pull"]), wanted);
  });
}

/** The repository's tags; [] when the repository does not exist. */
export async function listTags(reference: string, options: QueryOptions = {}): Promise<string[]> {
  const ref = parseReference(reference);
  return withClient(ref.registry, options, (client) =>
    listRepoTags(client.repository(ref.repository, ["pull"])),
  );
}

export interface DeleteTagOptions extends QueryOptions {
  /** Delete only if the tag still points at this digest (leave a tag someone moved alone). */
  ifDigest?: string;
}

export interface DeleteTagResult {
  /** `deleted`; `absent` (no such tag); `moved` (it points elsewhere than `ifDigest`; untouched). */
  outcome: "deleted" | "absent" | "moved";
  /** Where the tag pointed before. */
  digest?: string;
  /** `tag-delete` (the registry deletes tags) or `placeholder` (see below). */
  method?: "tag-delete" | "placeholder";
}

/** Marks the throwaway manifest used to remove a tag on registries that cannot delete tags. */
export const DELETED_TAG_ARTIFACT_TYPE = "application/vnd.pulumi-distroless.deleted-tag";

/**
 * Removes a tag without deleting the image it points at (other tags and running workloads may still
 * use it). Registries that implement tag DELETE do it directly. Distribution 2.x cannot delete a tag
 * (it answers DIGEST_INVALID / UNSUPPORTED), so the tag is first pointed at a unique, empty
 * placeholder manifest, which is then deleted by digest: the registry drops the tag with it and
 * the image stays. That needs deletes enabled on the registry.
 */
export async function deleteTag(
  reference: string,
  tag: string,
  options: DeleteTagOptions = {},
): Promise<DeleteTagResult> {
  if (!isValidTag(tag)) throw new DistrolessError("E_CONFIG", `invalid tag "${tag}"`, { subject: reference });
  const ref = parseReference(reference);
  return withClient(ref.registry, options, async (client) => {
    const repo = client.repository(ref.repository, ["pull", "push", "delete"]);
    const current = await headManifest(repo, tag);
    if (!current) return { outcome: "absent" };
    if (options.ifDigest && current.digest !== options.ifDigest)
      return { outcome: "moved", digest: current.digest };

    try {
      if (await deleteManifest(repo, tag))
        return { outcome: "deleted", digest: current.digest, method: "tag-delete" };
      return { outcome: "absent" };
    } catch (err) {
      const status = statusOf(err);
      if (status !== 400 && status !== 405 && status !== 501) throw err;
    }

    await ensureBlob(repo, bufferBlobSource(EMPTY_JSON, EMPTY_JSON_DIGEST));
    const placeholder: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      artifactType: DELETED_TAG_ARTIFACT_TYPE,
      config: EMPTY_CONFIG,
      layers: [EMPTY_CONFIG],
      // A nonce makes the placeholder unique, so deleting it cannot take anyone else's tag along.
      annotations: {
        "vnd.pulumi-distroless.nonce": randomBytes(16).toString("hex"),
        "vnd.pulumi-distroless.tag": tag,
      },
    };
    const bytes = Buffer.from(JSON.stringify(placeholder));
    const { digest } = await putManifest(repo, tag, bytes, MEDIA_TYPES.manifest);
    try {
      await deleteManifest(repo, digest);
    } catch (err) {
      throw new DistrolessError(
        "E_REGISTRY",
        `cannot delete tag "${tag}": the registry refused to delete manifests (${(err as Error).message}); ` +
          `the tag now points at an empty placeholder ${digest}, the image ${current.digest} is untouched`,
        { subject: repositoryName(ref), cause: err },
      );
    }
    return { outcome: "deleted", digest: current.digest, method: "placeholder" };
  });
}
