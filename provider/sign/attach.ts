import type { Descriptor, ImageManifest } from "../image/oci-types";
import { bufferBlobSource, ensureBlob } from "../registry/blobs";
import {
  type RegistryClient,
  type RegistryOptions,
  type RepositoryHandle,
  withClient,
} from "../registry/client";
import { getManifest, putManifest } from "../registry/manifests";
import { parseReference, repositoryName } from "../registry/reference";
import { DistrolessError } from "../util/errors";
import { ociDigest } from "../util/hash";
import {
  attestationEnvelope,
  attestationLayer,
  type CosignLayer,
  cosignManifest,
  cosignTag,
  SIGNATURE_ANNOTATION,
  signatureLayer,
  simpleSigningPayload,
} from "./cosign-objects";
import type { ImageSigningKey } from "./keys";
import { signBytes } from "./signer";

export interface SignImageOptions extends RegistryOptions {
  /** `host/repo` (a tag or digest in it is ignored). */
  reference: string;
  key: ImageSigningKey;
  /** What to sign: the image index and each platform manifest (cosign's `--recursive`). */
  digests: readonly string[];
  /** In-toto attestations to attach, each about one of the digests. */
  attestations?: readonly { subject: string; predicateType: string; predicate: unknown }[];
  client?: RegistryClient;
}

export interface SignedObject {
  /** The image digest signed or attested. */
  subject: string;
  kind: "signature" | "attestation";
  /** `sha256-<hex>.sig` / `.att`. */
  tag: string;
  /** Digest of the manifest the tag points at. */
  digest: string;
  /** False when the registry already held exactly this signature (nothing was uploaded). */
  written: boolean;
}

/**
 * Signs images and attaches attestations where cosign looks for them (`sha256-<hex>.sig` and
 * `.att` tags in the image's repository). Signatures by other keys already there are kept; one
 * already there from this key over the same payload is reused, so a re-run writes nothing.
 * Keyed and offline: no Fulcio certificate, no Rekor entry (verify with `--insecure-ignore-tlog`).
 */
export async function signImage(options: SignImageOptions): Promise<SignedObject[]> {
  const ref = parseReference(options.reference);
  const repository = repositoryName(ref);
  return withClient(ref.registry, options, async (client) => {
    const repo = client.repository(ref.repository, ["pull", "push"]);
    const out: SignedObject[] = [];
    for (const digest of options.digests) {
      const payload = simpleSigningPayload(repository, digest);
      const layer = signatureLayer(payload, signBytes(options.key, payload));
      out.push(await addLayer(repo, digest, "sig", layer));
    }
    for (const a of options.attestations ?? []) {
      const envelope = attestationEnvelope(options.key, repository, a.subject, a.predicateType, a.predicate);
      out.push(await addLayer(repo, a.subject, "att", attestationLayer(envelope, a.predicateType)));
    }
    return out;
  });
}

function sameLayer(a: Descriptor, b: Descriptor): boolean {
  return (
    a.digest === b.digest && a.annotations?.[SIGNATURE_ANNOTATION] === b.annotations?.[SIGNATURE_ANNOTATION]
  );
}

async function addLayer(
  repo: RepositoryHandle,
  subject: string,
  suffix: "sig" | "att",
  layer: CosignLayer,
): Promise<SignedObject> {
  const tag = cosignTag(subject, suffix);
  const kind = suffix === "sig" ? "signature" : "attestation";
  const current = await getManifest(repo, tag);
  let layers: Descriptor[] = [];
  if (current) {
    const parsed = JSON.parse(current.bytes.toString("utf8")) as Partial<ImageManifest>;
    if (!Array.isArray(parsed.layers)) {
      throw new DistrolessError("E_FORMAT", `the ${kind} tag ${tag} does not hold an image manifest`, {
        subject: repo.repository,
      });
    }
    layers = parsed.layers;
    if (layers.some((l) => sameLayer(l, layer.descriptor))) {
      return { subject, kind, tag, digest: current.digest, written: false };
    }
  }
  const { manifest, config } = cosignManifest([...layers, layer.descriptor]);
  await ensureBlob(repo, bufferBlobSource(config, ociDigest(config)));
  if (layer.data) await ensureBlob(repo, bufferBlobSource(layer.data, layer.descriptor.digest));
  const { digest } = await putManifest(repo, tag, manifest, "application/vnd.oci.image.manifest.v1+json");
  return { subject, kind, tag, digest, written: true };
}

/**
 * The digests `cosign sign --recursive` signs for a reference (`repo:tag` or `repo@digest`): the
 * manifest it names, and for an image index each manifest the index lists.
 */
export async function signingTargets(
  reference: string,
  options: RegistryOptions & { client?: RegistryClient },
): Promise<string[]> {
  const ref = parseReference(reference);
  const wanted = ref.digest ?? ref.tag;
  if (!wanted) {
    throw new DistrolessError("E_CONFIG", "name the image to sign with a tag or a digest", {
      subject: reference,
    });
  }
  return withClient(ref.registry, options, async (client) => {
    const repo = client.repository(ref.repository, ["pull"]);
    const top = await getManifest(repo, wanted);
    if (!top)
      throw new DistrolessError("E_MISSING", `no image ${wanted} in the registry`, { subject: reference });
    const parsed = JSON.parse(top.bytes.toString("utf8")) as { manifests?: Descriptor[] };
    return [top.digest, ...(parsed.manifests ?? []).map((d) => d.digest)];
  });
}
