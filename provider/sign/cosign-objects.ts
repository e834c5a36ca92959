import { type Descriptor, type ImageManifest, MEDIA_TYPES } from "../image/oci-types";
import { ociDigest } from "../util/hash";
import type { ImageSigningKey } from "./keys";
import { signBytes } from "./signer";

/*
 * The objects cosign stores beside an image, byte for byte as `cosign verify` and
 * `cosign verify-attestation` read them: a manifest tagged `sha256-<hex>.sig` (or `.att`) whose
 * layers are the signed payloads, each with its signature in an annotation.
 */

export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
export const DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
export const IN_TOTO_STATEMENT_V01 = "https://in-toto.io/Statement/v0.1";
/** What `cosign verify-attestation --type spdxjson` looks for. */
export const SPDX_PREDICATE_TYPE = "https://spdx.dev/Document";

/** `sha256:<hex>` -> `sha256-<hex>.sig` (cosign's tag scheme; `.att` for attestations). */
export function cosignTag(digest: string, suffix: "sig" | "att"): string {
  return `${digest.replace(":", "-")}.${suffix}`;
}

/** cosign's "simple signing" payload: which image (by digest) under which repository name. */
export function simpleSigningPayload(dockerReference: string, manifestDigest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { "docker-reference": dockerReference },
        image: { "docker-manifest-digest": manifestDigest },
        type: "cosign container image signature",
      },
      optional: null,
    }),
  );
}

/** DSSE's pre-authentication encoding: what a DSSE signature is over. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType);
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** An in-toto statement about `repository@digest`, in a signed DSSE envelope. */
export function attestationEnvelope(
  key: ImageSigningKey,
  repository: string,
  manifestDigest: string,
  predicateType: string,
  predicate: unknown,
): Buffer {
  const statement = Buffer.from(
    JSON.stringify({
      _type: IN_TOTO_STATEMENT_V01,
      predicateType,
      subject: [{ name: repository, digest: { sha256: manifestDigest.replace(/^sha256:/, "") } }],
      predicate,
    }),
  );
  const sig = signBytes(key, pae(IN_TOTO_PAYLOAD_TYPE, statement));
  return Buffer.from(
    JSON.stringify({
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      payload: statement.toString("base64"),
      signatures: [{ keyid: "", sig: sig.toString("base64") }],
    }),
  );
}

/** One signed payload as a layer of a `.sig`/`.att` manifest. */
export interface CosignLayer {
  descriptor: Descriptor;
  /** The bytes, when this run made them (layers kept from the registry have none). */
  data?: Buffer;
}

export function signatureLayer(payload: Buffer, signature: Buffer): CosignLayer {
  return {
    descriptor: {
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      digest: ociDigest(payload),
      size: payload.length,
      annotations: { [SIGNATURE_ANNOTATION]: signature.toString("base64") },
    },
    data: payload,
  };
}

export function attestationLayer(envelope: Buffer, predicateType: string): CosignLayer {
  return {
    descriptor: {
      mediaType: DSSE_MEDIA_TYPE,
      digest: ociDigest(envelope),
      size: envelope.length,
      annotations: { [SIGNATURE_ANNOTATION]: "", predicateType },
    },
    data: envelope,
  };
}

/**
 * The manifest holding `layers`, and its config: an image config whose diff_ids are the layers'
 * digests (the payloads are stored uncompressed), with zero times, as cosign writes it. The same
 * layers always give the same bytes.
 */
export function cosignManifest(layers: readonly Descriptor[]): { manifest: Buffer; config: Buffer } {
  const config = Buffer.from(
    JSON.stringify({
      architecture: "",
      created: "0001-01-01T00:00:00Z",
      history: layers.map(() => ({ created: "0001-01-01T00:00:00Z" })),
      os: "",
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
      config: {},
    }),
  );
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, digest: ociDigest(config), size: config.length },
    layers: [...layers],
  };
  return { manifest: Buffer.from(JSON.stringify(manifest)), config };
}
