import { baseImageIdentity } from "../image/base";
import { type ResolvedImage, resolveImage } from "../image/pipeline";
import { deleteTag, imageExists, resolveTag } from "../registry";
import { versionChanges } from "../resolve/why";
import { securityNotes } from "../security/drift";
import { digestOf } from "../util/canonical";
import { isDistrolessError } from "../util/errors";
import { pathExists } from "../util/fs";
import { sha256Hex } from "../util/hash";
import {
  configSourceFailures,
  defineProvider,
  type OperationContext,
  type Props,
  type ResourceImplementation,
} from "./define";
import {
  imageConfig,
  imageSigningKey,
  lockFilePins,
  provenanceRecords,
  type ResolvedImageInputs,
  registryOptions,
  repositoryClient,
  securityDbOf,
  signerFingerprint,
} from "./image-inputs";
import {
  assertPreviewedDigest,
  EXACT_PREVIEW_OUTPUTS,
  exactPreviewFailures,
  exactPreviewOutputs,
} from "./image-preview";
import { containsUnknown, UNKNOWN } from "./unknowns";

/** Inputs that decide what the image is. Unknown ones (preview) make `resolved` unknown. */
const RESOLUTION_INPUTS = [
  "configFile",
  "config",
  "repositories",
  "keyring",
  "packages",
  "archs",
  "annotations",
  "baseImage",
  "vcs",
  "sourceDateEpoch",
  "lockFile",
  "cacheDir",
  "offline",
  "securityDb",
] as const;

/**
 * Settings read and delete need later. They receive only the outputs, so these are kept there;
 * `registryAuth` is not (it is secret): refresh and tag removal use the docker config's credentials.
 */
const KEPT_SETTINGS = ["insecureRegistry", "caFile", "deleteTagsOnDestroy", "sbom"] as const;

/** Inputs that change where the image goes, not what it is: a change pushes or tags, never rebuilds. */
const TARGET_INPUTS = ["repository", "tags", "outputPath"] as const;

async function resolveInputs(
  news: Props,
  olds?: Props,
): Promise<{ resolved: ResolvedImageInputs; image: ResolvedImage; notices: string[] }> {
  const { config, inlineKeys } = await imageConfig(news);
  const client = repositoryClient(news);
  const pins = await lockFilePins(news);
  const r = await resolveImage(config, client, { inlineKeys, ...(pins ? { pins } : {}) });
  const lock: ResolvedImageInputs["lock"] = {};
  const checksums: ResolvedImageInputs["checksums"] = {};
  for (const [arch, pkgs] of Object.entries(r.lock.archs)) {
    lock[arch] = Object.fromEntries(pkgs.map((p) => [p.name, p.version]));
    checksums[arch] = Object.fromEntries(pkgs.map((p) => [p.name, p.checksum]));
  }
  const { source: _source, ...configIdentity } = config;
  const inputDigest = digestOf({
    config: configIdentity,
    lock: r.lock.lockDigest,
    keys: r.keys.map((k) => [k.name, sha256Hex(k.content)]),
    sourceDateEpoch: news.sourceDateEpoch ?? null,
    // The base's manifest and installed list by digest: a rebuilt base rebuilds the image (left
    // out without a base, so existing images keep their digest).
    ...(config.contents.baseImage
      ? { baseImage: await baseImageIdentity(config.contents.baseImage, config.archs) }
      : {}),
  });
  const previous = (olds?.resolved as Partial<ResolvedImageInputs> | undefined)?.lock;
  const before = previous && typeof previous === "object" ? previous : undefined;
  const changes = before ? versionChanges(before, r.solutions) : [];
  const resolved: ResolvedImageInputs = { inputDigest, lock, checksums, archs: config.archs };
  // A key not known yet (preview, from another resource) may be a new signer: say so, load nothing.
  if (containsUnknown([news.signKey, news.signKeyPassword])) resolved.signer = UNKNOWN;
  else {
    const key = imageSigningKey(news);
    if (key) resolved.signer = signerFingerprint(key);
  }
  if (containsUnknown(news.provenance)) resolved.provenance = UNKNOWN;
  else {
    const records = provenanceRecords(news);
    if (records.length > 0)
      resolved.provenance = digestOf(records.map((r) => [r.arch, r.name, r.checksum, r.digest]));
  }
  const security = await securityDbOf(news, client);
  const notes = security ? securityNotes(security, lock, before) : undefined;
  if (notes && Object.keys(notes.fixes).length > 0) resolved.fixes = notes.fixes;
  return { resolved, image: r, notices: [...changes, ...(notes?.notices ?? []), ...r.notices] };
}

function sameList(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

async function deliver(inputs: Props, ctx: OperationContext): Promise<Props> {
  // The builder (assembly, gzip, signing, push) loads only here: the engine starts this provider
  // for every preview, whose check and diff never build.
  const { buildImageLayout, pushImage, writeOutputPath } =
    require("./image-build") as typeof import("./image-build");
  const resolved = inputs.resolved as ResolvedImageInputs;
  const { layoutDir, result } = await buildImageLayout(inputs, ctx);
  assertPreviewedDigest(inputs, result.indexDigest);
  const platforms: Record<string, string> = {};
  const layerDigests: Record<string, string> = {};
  const layers: Record<string, string[]> = {};
  for (const p of result.platforms) {
    platforms[p.arch] = p.manifestDigest;
    layerDigests[p.arch] = p.layerDigest;
    layers[p.arch] = p.layers.map((l) => l.digest);
  }
  const lock: Record<string, { name: string; version: string; checksum: string }[]> = {};
  for (const [arch, pkgs] of Object.entries(result.lockedPackages)) {
    lock[arch] = pkgs.map((p) => ({ name: p.name, version: p.version, checksum: p.checksum }));
  }
  const outs: Props = {
    resourceName: inputs.resourceName,
    digest: result.indexDigest,
    platforms,
    layerDigests,
    layers,
    lock,
    inputDigest: resolved.inputDigest,
    tags: [],
    sbomDigests: {},
  };
  for (const k of KEPT_SETTINGS) if (inputs[k] !== undefined) outs[k] = inputs[k];
  if (typeof inputs.outputPath === "string") {
    outs.outputPath = inputs.outputPath;
    outs.outputFiles = await writeOutputPath(layoutDir, result, inputs.outputPath);
    outs.imageRef = `oci:${inputs.outputPath}@${result.indexDigest}`;
  }
  if (typeof inputs.repository === "string") {
    const { push, sbomDigests, signatureDigests, attestationDigests } = await pushImage(
      inputs,
      layoutDir,
      result,
      ctx,
    );
    outs.signatureDigests = signatureDigests;
    outs.attestationDigests = attestationDigests;
    if (resolved.signer) outs.signer = resolved.signer;
    if (resolved.provenance) outs.provenanceDigest = resolved.provenance;
    outs.repository = inputs.repository;
    outs.imageRef = push.imageRef;
    outs.tags = push.tags;
    outs.ref = taggedRef(push.imageRef, push.tags);
    outs.sbomDigests = sbomDigests;
    outs.pushed = {
      uploadedBlobs: push.uploaded.blobs,
      uploadedBytes: push.uploaded.bytes,
      skippedBlobs: push.skipped.blobs,
    };
  }
  return outs;
}

/**
 * `repository:tag@sha256:…` (the first tag), as @pulumi/docker-build's `ref`: readable and still
 * pinned by digest. Without a tag it is the digest reference itself.
 */
export function taggedRef(imageRef: string, tags: readonly string[]): string {
  const at = imageRef.lastIndexOf("@");
  if (at < 0 || tags.length === 0) return imageRef;
  return `${imageRef.slice(0, at)}:${tags[0]}${imageRef.slice(at)}`;
}

/** The attested provenance's digest in the previous outputs (`provenance` before it was renamed). */
function previousProvenance(olds: Props): string | null {
  if (typeof olds.provenanceDigest === "string") return olds.provenanceDigest;
  return typeof olds.provenance === "string" ? olds.provenance : null;
}

const implementation: ResourceImplementation = {
  type: "DistrolessImage",
  secretInputs: ["registryAuth", "signKey", "signKeyPassword"],

  async check(olds, news, ctx) {
    const failures = configSourceFailures(news);
    if (news.repository === undefined && news.outputPath === undefined) {
      failures.push({
        property: "repository",
        reason: "give a registry repository to push to, or an outputPath",
      });
    }
    failures.push(...exactPreviewFailures(news));
    if (failures.length) return { inputs: news, failures };
    // Outputs are never inputs: only exactPreview below puts them here (computed, not given).
    const given: Props = { ...news };
    for (const k of EXACT_PREVIEW_OUTPUTS) delete given[k];
    const resolvable = RESOLUTION_INPUTS.map((k) => given[k]);
    if (containsUnknown(resolvable)) return { inputs: { ...given, resolved: UNKNOWN } };
    const { resolved, image, notices } = await resolveInputs(given, olds);
    for (const n of notices) ctx.progress.warn(n);
    const exact = await exactPreviewOutputs(given, resolved, image, ctx);
    return { inputs: { ...given, resolved, ...exact } };
  },

  async diff(_id, olds, news) {
    const resolved = news.resolved as ResolvedImageInputs | string | undefined;
    if (typeof resolved !== "object" || !resolved) return { changes: true };
    if (olds.inputDigest !== resolved.inputDigest || !olds.digest) return { changes: true };
    if ((olds.signer ?? null) !== (resolved.signer ?? null)) return { changes: true };
    if (previousProvenance(olds) !== (resolved.provenance ?? null)) return { changes: true };
    // Settings kept in outputs for refresh and destroy: a change must reach the outputs.
    for (const k of KEPT_SETTINGS) if ((olds[k] ?? null) !== (news[k] ?? null)) return { changes: true };
    for (const k of TARGET_INPUTS) {
      if (k === "tags" ? !sameList(olds.tags, news.tags) : (olds[k] ?? null) !== (news[k] ?? null)) {
        return { changes: true };
      }
    }
    return { changes: false };
  },

  async create(inputs, ctx) {
    const outs = await deliver(inputs, ctx);
    return { id: String(outs.digest), outs };
  },

  async update(_id, _olds, news, ctx) {
    return { outs: await deliver(news, ctx) };
  },

  async read(id, props, ctx) {
    const digest = String(props.digest ?? "");
    if (typeof props.repository === "string" && digest) {
      const repository = props.repository;
      const options = await registryOptions(props, ctx.progress);
      let exists: boolean;
      try {
        exists = await imageExists(repository, digest, options);
      } catch (err) {
        if (!isDistrolessError(err, "E_AUTH")) throw err;
        ctx.progress.warn(
          `cannot check ${repository}: the registry wants credentials for reading (refresh uses the docker config's; run docker login)`,
        );
        return { id, props };
      }
      if (!exists) {
        ctx.progress.warn(`${repository}@${digest} is gone from the registry`);
        return { id, props: { ...props, digest: "", imageRef: "", ref: "", tags: [] } };
      }
      const tags: string[] = [];
      for (const tag of (props.tags ?? []) as string[]) {
        const at = await resolveTag(repository, tag, options);
        if (at?.digest === digest) tags.push(tag);
        else ctx.progress.warn(`tag ${tag} moved (now ${at?.digest ?? "absent"})`);
      }
      return { id, props: { ...props, tags, ref: taggedRef(String(props.imageRef ?? ""), tags) } };
    }
    if (typeof props.outputPath === "string" && !(await pathExists(props.outputPath))) {
      return { id, props: { ...props, digest: "" } };
    }
    return { id, props };
  },

  async delete(_id, props, ctx) {
    if (props.deleteTagsOnDestroy !== true || typeof props.repository !== "string") return;
    const options = await registryOptions(props, ctx.progress);
    for (const tag of (props.tags ?? []) as string[]) {
      const r = await deleteTag(props.repository, tag, { ...options, ifDigest: String(props.digest) });
      ctx.progress.info(`tag ${tag}: ${r.outcome}`);
    }
  },
};

export const provider = defineProvider(implementation);
