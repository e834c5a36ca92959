import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { type AssembleResult, assembleImage } from "../../image/assemble";
import { loadApkoConfig, requireArch } from "../../image/config";
import type { ApkArch } from "../../image/config/arch";
import { writeDockerArchives, writeImageArchive } from "../../image/docker-archive";
import { OciLayout } from "../../image/oci-layout";
import { applyOverrides, fetchInstallPlans, resolveImage } from "../../image/pipeline";
import { probeVcs } from "../../image/vcs";
import { parseReference } from "../../registry";
import { defaultCacheDir } from "../../repository/cache";
import { RepositoryClient } from "../../repository/client";
import { attachSupplyChain, type SupplyChainResult } from "../../sign/supply-chain";
import { DistrolessError } from "../../util/errors";
import {
  boolFlag,
  type CliContext,
  output,
  parseVerbArgs,
  sourceDateEpochFlag,
  stringFlag,
  stringsFlag,
  type Verb,
} from "../command";
import { describePush, pushToRepositories, registryFlagOptions, registryOptionsFromArgs } from "./push";
import { signFlagOptions, signingKeyFromArgs } from "./sign";

/**
 * `build`: apko.yaml -> resolved packages (cached, verified) -> reproducible layers per arch (one,
 * or apko's origin layering) -> an OCI image layout directory, or ONE image archive `FILE.tar`
 * that docker/podman load and skopeo read as docker-archive or oci-archive (a multi-arch image
 * holds every platform and the index, as apko writes it); `--per-arch` writes `FILE-<arch>.tar`
 * single-platform archives instead.
 */
export const verb: Verb = {
  summary: "build an apko config into an OCI layout or a docker-loadable tarball (with SBOMs)",
  usage:
    "pulumi-distroless build APKO_YAML [--output DIR|FILE.tar [--per-arch]] [--push REPO[:TAG]]... [--arch A]... " +
    "[--tag [NAME:]TAG] [--source-date-epoch N] [--sbom-path DIR] [--cache-dir D] [--offline] " +
    "[--allow-untrusted] [--sign-key KEY [--sign-password-env VAR]] [--no-sbom-attach] [--insecure] " +
    "[--ca-file F] [--username U --password-stdin] [--vcs=false] [--json]",
  async run(ctx: CliContext): Promise<number> {
    // apko spells it `--vcs=false`; a boolean flag cannot take a value, so it becomes --no-vcs.
    const argv = ctx.argv.map((a) => (a === "--vcs=false" ? "--no-vcs" : a === "--vcs=true" ? "--vcs" : a));
    const args = parseVerbArgs("build", argv, {
      output: { type: "string" },
      "per-arch": { type: "boolean" },
      arch: { type: "string", multiple: true },
      tag: { type: "string" },
      "source-date-epoch": { type: "string" },
      "sbom-path": { type: "string" },
      "cache-dir": { type: "string" },
      offline: { type: "boolean" },
      "allow-untrusted": { type: "boolean" },
      push: { type: "string", multiple: true },
      "no-sbom-attach": { type: "boolean" },
      vcs: { type: "boolean" },
      "no-vcs": { type: "boolean" },
      ...signFlagOptions,
      ...registryFlagOptions,
      json: { type: "boolean" },
    });
    if (args.positionals.length !== 1) {
      throw new DistrolessError("E_CONFIG", `expected one apko config file (usage: ${verb.usage})`);
    }
    const pushTo = stringsFlag(args, "push");
    const out = stringFlag(args, "output");
    if (!out && pushTo.length === 0) {
      throw new DistrolessError("E_CONFIG", `--output or --push is required (usage: ${verb.usage})`);
    }
    const configFile = path.resolve(ctx.cwd, args.positionals[0]!);
    const config = await loadApkoConfig(configFile);
    // As apko: unless told not to, a config without vcs-url gets its git checkout's origin and commit.
    if (!boolFlag(args, "no-vcs") && !config.vcs) {
      const vcs = await probeVcs(configFile, ctx.cwd);
      if (vcs) config.vcs = vcs;
    }
    const archFlags = stringsFlag(args, "arch").flatMap((a) => a.split(","));
    const archs: ApkArch[] = [...new Set(archFlags.map((a) => requireArch(a, "--arch")))];
    const sourceDateEpoch = sourceDateEpochFlag(args, ctx.env);
    const tagFlag = stringFlag(args, "tag") ?? "latest";
    const repoTag = /[:/]/.test(tagFlag) ? tagFlag : undefined;
    const tag = repoTag ? repoTag.slice(repoTag.lastIndexOf(":") + 1) || "latest" : tagFlag;
    const cacheFlag = stringFlag(args, "cache-dir");
    const cacheDir = cacheFlag ? path.resolve(ctx.cwd, cacheFlag) : defaultCacheDir(ctx.env);

    const client = new RepositoryClient({
      cacheDir,
      offline: boolFlag(args, "offline"),
      allowUntrusted: boolFlag(args, "allow-untrusted"),
      env: ctx.env,
      progress: ctx.progress,
    });
    const resolved = await resolveImage(applyOverrides(config, { archs }), client);
    for (const n of resolved.notices) ctx.progress.warn(n);
    const plans = await fetchInstallPlans(resolved, client, ctx.progress);

    const tarball = out?.endsWith(".tar") ?? false;
    if (boolFlag(args, "per-arch") && !tarball) {
      throw new DistrolessError("E_CONFIG", "--per-arch splits a FILE.tar output: give --output FILE.tar");
    }
    const outPath = out ? path.resolve(ctx.cwd, out) : undefined;
    // A tarball, or a push without an output, builds into a temporary layout.
    const temporary = tarball || !outPath;
    const layoutDir = temporary ? await fsp.mkdtemp(path.join(os.tmpdir(), "pd-build-")) : outPath!;
    const sbomFlag = stringFlag(args, "sbom-path");
    const signKey = await signingKeyFromArgs(ctx, args, "sign-key");
    if (signKey && pushTo.length === 0) {
      throw new DistrolessError("E_CONFIG", "--sign-key signs what --push uploads: give --push REPO[:TAG]");
    }
    try {
      const result = await assembleImage({
        config: resolved.config,
        plans,
        cacheDir,
        outputDir: layoutDir,
        tag,
        keys: resolved.keys,
        progress: ctx.progress,
        ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
        ...(sbomFlag ? { sbomDir: path.resolve(ctx.cwd, sbomFlag) } : {}),
      });
      const written = !outPath
        ? []
        : tarball
          ? boolFlag(args, "per-arch")
            ? await writeDockerArchives(new OciLayout(layoutDir), result, outPath, repoTag)
            : await writeImageArchive(new OciLayout(layoutDir), result, outPath, repoTag)
          : [outPath];
      const registry = pushTo.length ? await registryOptionsFromArgs(args, ctx) : {};
      const pushed = pushTo.length
        ? await pushToRepositories(layoutDir, pushTo, { ...registry, layoutRef: tag })
        : [];
      // What goes beside each pushed image: SBOM referrers, and with a key signatures and attestations.
      const attached: ({ repository: string } & SupplyChainResult)[] = [];
      for (const reference of pushTo) {
        const ref = parseReference(reference);
        attached.push({
          repository: `${ref.registry}/${ref.repository}`,
          ...(await attachSupplyChain({
            layoutDir,
            result,
            repository: `${ref.registry}/${ref.repository}`,
            registry,
            sbom: !boolFlag(args, "no-sbom-attach"),
            ...(signKey ? { key: signKey } : {}),
          })),
        });
      }
      output(ctx, boolFlag(args, "json"), { ...summary(result, written), pushed, attached }, () =>
        [human(result, written), ...pushed.map(describePush), ...attached.map(describeAttached)].join("\n"),
      );
    } finally {
      if (temporary) await fsp.rm(layoutDir, { recursive: true, force: true });
    }
    return 0;
  },
};

function describeAttached(a: { repository: string } & SupplyChainResult): string {
  const count = (r: Record<string, string>) => Object.keys(r).length;
  return `${a.repository}: ${count(a.sbomDigests)} SBOM(s), ${count(a.signatureDigests)} signature(s), ${count(a.attestationDigests)} attestation(s) attached`;
}

function summary(result: AssembleResult, outputs: string[]) {
  return {
    indexDigest: result.indexDigest,
    sourceDateEpoch: result.sourceDateEpoch,
    outputs,
    platforms: result.platforms.map((p) => ({
      arch: p.arch,
      manifestDigest: p.manifestDigest,
      configDigest: p.configDigest,
      layerDigest: p.layerDigest,
      diffId: p.diffId,
      size: p.size,
      layers: p.layers.map((l) => ({
        digest: l.digest,
        diffId: l.diffId,
        size: l.size,
        packages: l.packages,
      })),
    })),
    sboms: result.sboms.map((s) => ({ arch: s.arch ?? "index", digest: s.descriptor.digest, file: s.file })),
    packages: result.lockedPackages,
  };
}

function human(result: AssembleResult, outputs: string[]): string {
  const lines = [`index ${result.indexDigest}`];
  for (const p of result.platforms) {
    if (p.layers.length === 1) {
      lines.push(`${p.arch.padEnd(8)} manifest ${p.manifestDigest} diff_id ${p.diffId}`);
      continue;
    }
    lines.push(`${p.arch.padEnd(8)} manifest ${p.manifestDigest} (${p.layers.length} layers)`);
    for (const l of p.layers)
      lines.push(`  layer ${l.digest} ${l.packages.length ? l.packages.join(" ") : "(top)"}`);
  }
  for (const o of outputs) lines.push(`wrote ${o}`);
  return lines.join("\n");
}
