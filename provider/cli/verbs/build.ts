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
  type FlagTable,
  output,
  parseVerbArgs,
  sourceDateEpochFlag,
  stringFlag,
  stringsFlag,
  type Verb,
} from "../command";
import { imageOverrideFlagOptions, imageOverridesFromArgs, lockPinsFromArgs } from "../image-flags";
import { lockRepositoryNotices } from "../portable-lock";
import { describePush, pushToRepositories, registryFlagOptions, registryOptionsFromArgs } from "./push";
import { signFlagOptions, signingKeyFromArgs } from "./sign";

/**
 * `build`: apko.yaml -> resolved packages (cached, verified) -> reproducible layers per arch (one,
 * or apko's origin layering) -> an OCI image layout directory, or ONE image archive `FILE.tar`
 * that docker/podman load and skopeo read as docker-archive or oci-archive (a multi-arch image
 * holds every platform and the index, as apko writes it); `--per-arch` writes `FILE-<arch>.tar`
 * single-platform archives instead.
 */
const FLAGS = {
  output: {
    type: "string",
    value: "DIR|FILE.tar",
    help: "an OCI layout directory, or one image archive FILE.tar (docker/podman load; skopeo docker-archive: or oci-archive:)",
  },
  "per-arch": {
    type: "boolean",
    help: "with --output FILE.tar: one single-platform FILE-<arch>.tar per arch instead",
  },
  arch: {
    type: "string",
    multiple: true,
    value: "ARCH",
    help: "architecture to build (apk or OCI name; comma lists too); default: the config's",
  },
  tag: {
    type: "string",
    value: "[NAME:]TAG",
    help: "the layout's ref name and the tarball's repo tag (default latest)",
  },
  "source-date-epoch": {
    type: "string",
    value: "SECONDS",
    help: "file times in the image (default: SOURCE_DATE_EPOCH, else the newest package)",
  },
  "sbom-path": { type: "string", value: "DIR", help: "also write the SPDX SBOMs into DIR" },
  "cache-dir": {
    type: "string",
    value: "DIR",
    help: "cache for indexes and apks (default $XDG_CACHE_HOME/pulumi-distroless)",
  },
  offline: { type: "boolean", help: "use only the cache; fail naming what is missing" },
  "allow-untrusted": { type: "boolean", help: "accept indexes that are unsigned or signed by unknown keys" },
  push: {
    type: "string",
    multiple: true,
    value: "REPO[:TAG]",
    help: "push the image (and attach its SBOMs) to a registry repository",
  },
  "no-sbom-attach": { type: "boolean", help: "with --push: do not attach the SBOMs as referrers" },
  vcs: {
    type: "boolean",
    help: "annotate the image with the config's git origin and commit (the default, as apko)",
  },
  "no-vcs": { type: "boolean", help: "don't probe the config's git checkout (apko's --vcs=false)" },
  lock: {
    type: "string",
    value: "APKO_LOCK_JSON",
    help: "pin every package to an apko lock file (like the resource's lockFile)",
  },
  ...imageOverrideFlagOptions,
  ...signFlagOptions,
  ...registryFlagOptions,
  json: { type: "boolean", help: "print the result as JSON (see README: JSON output)" },
} satisfies FlagTable;

export const verb: Verb = {
  summary: "build an apko config into an OCI layout or a docker-loadable tarball (with SBOMs)",
  usage:
    "pulumi-distroless build APKO_YAML [--output DIR|FILE.tar [--per-arch]] [--push REPO[:TAG]]... [--arch A]... " +
    "[--tag [NAME:]TAG] [--lock APKO_LOCK_JSON] [--repository R]... [--build-repository R]... [--keyring KEY]... " +
    "[--package P]... [--annotation K=V]... [--source-date-epoch N] [--sbom-path DIR] [--cache-dir D] [--offline] " +
    "[--allow-untrusted] [--sign-key KEY [--sign-password-env VAR]] [--no-sbom-attach] [--insecure] " +
    "[--ca-file F] [--username U --password-stdin] [--vcs=false] [--json]",
  flags: FLAGS,
  example: "pulumi-distroless build apko.yaml --output image.tar --arch x86_64",
  async run(ctx: CliContext): Promise<number> {
    // apko spells it `--vcs=false`; a boolean flag cannot take a value, so it becomes --no-vcs.
    const argv = ctx.argv.map((a) => (a === "--vcs=false" ? "--no-vcs" : a === "--vcs=true" ? "--vcs" : a));
    const args = parseVerbArgs("build", argv, FLAGS);
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
    const pins = await lockPinsFromArgs(args, ctx);
    const resolved = await resolveImage(
      applyOverrides(config, { ...imageOverridesFromArgs(args, ctx), archs }),
      client,
      pins ? { pins } : {},
    );
    for (const n of resolved.notices) ctx.progress.warn(n);
    const lockFlag = stringFlag(args, "lock");
    if (lockFlag !== undefined) {
      const notices = await lockRepositoryNotices(
        path.resolve(ctx.cwd, lockFlag),
        resolved.config,
        configFile,
      );
      for (const n of notices) ctx.progress.warn(n);
    }
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
