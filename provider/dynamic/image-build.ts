import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { readProvenanceFile } from "../build/provenance";
import { type AssembleResult, assembleImage } from "../image/assemble";
import { writeImageArchive } from "../image/docker-archive";
import { OciLayout } from "../image/oci-layout";
import { fetchInstallPlans, resolveImage } from "../image/pipeline";
import { type PushResult, pushLayout } from "../registry";
import { attachSupplyChain, type PackageProvenance, type SupplyChainResult } from "../sign/supply-chain";
import { pathExists, writeFileAtomic } from "../util/fs";
import { formatBytes } from "../util/log";
import type { OperationContext, Props } from "./define";
import {
  cacheDirOf,
  imageConfig,
  imageSigningKey,
  pinsOf,
  provenanceRecords,
  type ResolvedImageInputs,
  registryOptions,
  repositoryClient,
} from "./image-inputs";

const RESULT_FILE = "pulumi-distroless-result.json";

/**
 * Builds the image an input set describes into an OCI layout under the cache, named by its
 * inputDigest. Assembly is deterministic, so a layout already there for the same digest (a tag-only
 * update, a retried push) is reused instead of rebuilt.
 */
export async function buildImageLayout(
  inputs: Props,
  ctx: OperationContext,
): Promise<{ layoutDir: string; result: AssembleResult }> {
  const { layoutDir, result: reused } = await cachedImageLayout(inputs);
  if (reused) {
    ctx.progress.info(`image ${reused.indexDigest} already built (cache); not rebuilding`);
    return { layoutDir, result: reused };
  }
  const cacheDir = cacheDirOf(inputs);
  const cached = path.join(layoutDir, RESULT_FILE);
  const { config, inlineKeys } = await imageConfig(inputs);
  const client = repositoryClient(inputs, ctx.progress);
  ctx.progress.info("resolving packages (pinned to what preview resolved)");
  const pins = await pinsOf(inputs);
  const resolved = await resolveImage(config, client, { inlineKeys, ...(pins ? { pins } : {}) });
  for (const n of resolved.notices) ctx.progress.warn(n);
  const plans = await fetchInstallPlans(resolved, client, ctx.progress);
  ctx.progress.info(`assembling ${plans.length} platform(s)`);
  await fsp.rm(layoutDir, { recursive: true, force: true });
  const result = await assembleImage({
    config: resolved.config,
    plans,
    cacheDir,
    outputDir: layoutDir,
    keys: resolved.keys,
    progress: ctx.progress,
    ...(typeof inputs.sourceDateEpoch === "number" ? { sourceDateEpoch: inputs.sourceDateEpoch } : {}),
  });
  await writeFileAtomic(cached, JSON.stringify(result));
  return { layoutDir, result };
}

/** The layout an input set's inputDigest names in the cache, and its result when it is built and whole. */
export async function cachedImageLayout(
  inputs: Props,
): Promise<{ layoutDir: string; result: AssembleResult | undefined }> {
  const resolvedInputs = inputs.resolved as ResolvedImageInputs;
  const layoutDir = path.join(
    cacheDirOf(inputs),
    "images",
    resolvedInputs.inputDigest.replace(/^sha256:/, ""),
  );
  const cached = path.join(layoutDir, RESULT_FILE);
  if (!(await pathExists(cached))) return { layoutDir, result: undefined };
  const result = JSON.parse(await fsp.readFile(cached, "utf8")) as AssembleResult;
  // A result from before layered images lacks `layers`: build again rather than misread it.
  const current = result.platforms.every((p) => Array.isArray(p.layers));
  if (current && (await new OciLayout(layoutDir).hasBlob(result.indexDigest))) return { layoutDir, result };
  return { layoutDir, result: undefined };
}

/** Writes the image where `outputPath` says: an OCI layout directory, or one image archive for `.tar`. */
export async function writeOutputPath(
  layoutDir: string,
  result: AssembleResult,
  outputPath: string,
): Promise<string[]> {
  const target = path.resolve(outputPath);
  if (!target.endsWith(".tar")) {
    await fsp.rm(target, { recursive: true, force: true });
    await fsp.cp(layoutDir, target, { recursive: true });
    await fsp.rm(path.join(target, RESULT_FILE), { force: true });
    return [target];
  }
  return writeImageArchive(new OciLayout(layoutDir), result, target);
}

/** Pushes the layout (only what the registry lacks), then attaches the SBOMs as referrers. */
export async function pushImage(
  inputs: Props,
  layoutDir: string,
  result: AssembleResult,
  ctx: OperationContext,
): Promise<{ push: PushResult } & SupplyChainResult> {
  const options = await registryOptions(inputs, ctx.progress);
  const repository = String(inputs.repository);
  const tags = Array.isArray(inputs.tags) ? inputs.tags.map(String) : [];
  ctx.progress.info(`pushing to ${repository}`);
  // The assembler names the index "latest" in index.json (per-arch manifests get their own names).
  const push = await pushLayout({ ...options, layoutDir, reference: repository, tags, layoutRef: "latest" });
  ctx.progress.info(
    `pushed ${push.uploaded.blobs} blob(s) (${formatBytes(push.uploaded.bytes)}), ` +
      `${push.skipped.blobs} already there (${formatBytes(push.skipped.bytes)}), ${push.mounted.blobs} mounted`,
  );
  const key = imageSigningKey(inputs);
  if (key) ctx.progress.info(`signing ${repository}@${result.indexDigest} and its platform manifests`);
  const provenance: PackageProvenance[] = [];
  if (key) {
    for (const r of provenanceRecords(inputs)) {
      const statement = await readProvenanceFile(r.file, r.digest);
      provenance.push({
        arch: r.arch,
        name: r.name,
        checksum: r.checksum,
        predicateType: String(statement.predicateType),
        predicate: statement.predicate,
      });
    }
  }
  const attached = await attachSupplyChain({
    layoutDir,
    result,
    repository,
    registry: options,
    sbom: inputs.sbom !== false,
    ...(key ? { key } : {}),
    provenance,
  });
  return { push, ...attached };
}
