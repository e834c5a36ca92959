import * as fsp from "node:fs/promises";
import type { AssembleResult } from "../image/assemble";
import { OciLayout } from "../image/oci-layout";
import { MEDIA_TYPES } from "../image/oci-types";
import { attachReferrer, type RegistryClient, type RegistryOptions } from "../registry";
import { signImage } from "./attach";
import { SPDX_PREDICATE_TYPE } from "./cosign-objects";
import type { ImageSigningKey } from "./keys";

export interface SupplyChainOptions {
  layoutDir: string;
  result: AssembleResult;
  /** `host/repo` the image was pushed to. */
  repository: string;
  registry: RegistryOptions & { client?: RegistryClient };
  /** Attach the SPDX SBOMs as OCI referrers. */
  sbom: boolean;
  /** Sign the index and each platform manifest, and attest each SBOM (cosign's .sig/.att). */
  key?: ImageSigningKey;
  /**
   * Build provenance of packages (ApkPackage's), attested on each platform manifest whose image
   * installed exactly that package (same arch, name and `C:`); others are not about this image.
   */
  provenance?: readonly PackageProvenance[];
}

export interface PackageProvenance {
  arch: string;
  name: string;
  /** The package's `C:`. */
  checksum: string;
  predicateType: string;
  predicate: unknown;
}

/** Per subject (`index` or an arch): the digest of what was attached. */
export interface SupplyChainResult {
  sbomDigests: Record<string, string>;
  signatureDigests: Record<string, string>;
  attestationDigests: Record<string, string>;
}

/**
 * What goes beside a pushed image: its SBOMs as referrers, and with a key, cosign signatures of the
 * index and every platform manifest plus an SPDX attestation of each SBOM. Everything is
 * deterministic, so pushing the same image again attaches nothing new.
 */
export async function attachSupplyChain(options: SupplyChainOptions): Promise<SupplyChainResult> {
  const { result, repository } = options;
  const layout = new OciLayout(options.layoutDir);
  const out: SupplyChainResult = { sbomDigests: {}, signatureDigests: {}, attestationDigests: {} };
  if (options.sbom) {
    for (const s of result.sboms) {
      const attached = await attachReferrer({
        ...options.registry,
        reference: repository,
        subject: s.describes,
        artifactType: MEDIA_TYPES.spdx,
        content: { file: layout.blobPath(s.descriptor.digest) },
      });
      out.sbomDigests[s.arch ?? "index"] = attached.digest;
    }
  }
  if (!options.key) return out;
  const subjects = new Map<string, string>([[result.indexDigest, "index"]]);
  for (const p of result.platforms) subjects.set(p.manifestDigest, p.arch);
  const attestations = [];
  for (const s of result.sboms) {
    const doc = JSON.parse(await fsp.readFile(layout.blobPath(s.descriptor.digest), "utf8")) as unknown;
    attestations.push({ subject: s.describes, predicateType: SPDX_PREDICATE_TYPE, predicate: doc });
  }
  for (const p of result.platforms) {
    const installed = new Set((result.lockedPackages[p.arch] ?? []).map((l) => `${l.name}\0${l.checksum}`));
    for (const prov of options.provenance ?? []) {
      if (prov.arch !== p.arch || !installed.has(`${prov.name}\0${prov.checksum}`)) continue;
      attestations.push({
        subject: p.manifestDigest,
        predicateType: prov.predicateType,
        predicate: prov.predicate,
      });
    }
  }
  const signed = await signImage({
    ...options.registry,
    reference: repository,
    key: options.key,
    digests: [...subjects.keys()],
    attestations,
  });
  for (const s of signed) {
    const name = subjects.get(s.subject) ?? s.subject;
    (s.kind === "signature" ? out.signatureDigests : out.attestationDigests)[name] = s.digest;
  }
  return out;
}
