/**
 * One image config built twice: by the real `apko build` (offline, docker tarball output) and by
 * our library, both at the same SOURCE_DATE_EPOCH; each result read back into the same shape (per
 * platform: image config JSON, uncompressed layer, diff_id), plus both locks and both SBOMs.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import { assembleImage } from "../../provider/image/assemble";
import { loadApkoConfig } from "../../provider/image/config";
import { OciLayout } from "../../provider/image/oci-layout";
import type { ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { fetchInstallPlans, resolveImage } from "../../provider/image/pipeline";
import { RepositoryClient } from "../../provider/repository/client";

const sha256Hex = (b: Buffer) => createHash("sha256").update(b).digest("hex");

export interface PlatformImage {
  /** `amd64`, `arm/v7`... */
  platform: string;
  config: Record<string, unknown>;
  layer: Buffer;
  diffId: string;
}

export interface LockedName {
  name: string;
  version: string;
  checksum: string;
}

export interface BuildOutput {
  images: Map<string, PlatformImage>;
  /** apk arch -> packages in install order. */
  lock: Map<string, LockedName[]>;
  /** apk arch -> `name=version` of the apk packages the SBOM lists. */
  sbom: Map<string, Set<string>>;
}

export function platformKey(config: Record<string, unknown>): string {
  const variant = typeof config.variant === "string" ? `/${config.variant}` : "";
  return `${String(config.architecture)}${variant}`;
}

function runTool(bin: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): string {
  const res = spawnSync(bin, args, { encoding: "utf8", env, cwd, maxBuffer: 64 << 20 });
  if (res.status !== 0) {
    throw new Error(`${path.basename(bin)} ${args.join(" ")} failed (${res.status}):\n${res.stderr}`);
  }
  return res.stdout;
}

/** The apk packages an SPDX document lists (apko: `SPDXRef-Package-apk-*`; ours: purl `pkg:apk/`). */
async function sbomPackages(file: string): Promise<Set<string>> {
  const doc = JSON.parse(await fsp.readFile(file, "utf8")) as {
    packages: {
      SPDXID: string;
      name: string;
      versionInfo?: string;
      externalRefs?: { referenceLocator: string }[];
    }[];
  };
  const out = new Set<string>();
  for (const p of doc.packages) {
    const apk =
      p.SPDXID.startsWith("SPDXRef-Package-apk-") ||
      (p.externalRefs ?? []).some((r) => r.referenceLocator.startsWith("pkg:apk/"));
    if (apk) out.add(`${p.name}=${p.versionInfo ?? ""}`);
  }
  return out;
}

export interface ApkoRun {
  apko: string;
  configFile: string;
  archs: string[];
  /** apko resolves relative repository and keyring paths against its working directory. */
  cwd: string;
  workDir: string;
  cacheDir: string;
  epoch: number;
}

/** `apko build` into a docker tarball, read back; `apko lock` beside it. */
export async function buildWithApko(run: ApkoRun): Promise<BuildOutput> {
  const env = { ...process.env, SOURCE_DATE_EPOCH: String(run.epoch) };
  const tarball = path.join(run.workDir, "apko.tar");
  const sbomDir = path.join(run.workDir, "apko-sbom");
  await fsp.mkdir(sbomDir, { recursive: true });
  const common = ["--cache-dir", run.cacheDir, "--arch", run.archs.join(",")];
  runTool(
    run.apko,
    [
      "build",
      "--offline",
      "--vcs=false",
      "--sbom-path",
      sbomDir,
      ...common,
      run.configFile,
      "conformance:latest",
      tarball,
    ],
    env,
    run.cwd,
  );
  const entries = await readTarBuffer(readFileSync(tarball), { maxEntryBytes: 1 << 30 });
  const byName = new Map(entries.map((e) => [e.header.name, e.data]));
  const manifest = JSON.parse(byName.get("manifest.json")!.toString("utf8")) as {
    Config: string;
    Layers: string[];
  }[];
  const images = new Map<string, PlatformImage>();
  for (const m of manifest) {
    const config = JSON.parse(byName.get(m.Config)!.toString("utf8")) as Record<string, unknown>;
    if (m.Layers.length !== 1) throw new Error(`apko wrote ${m.Layers.length} layers; the harness reads one`);
    const layer = zlib.gunzipSync(byName.get(m.Layers[0]!)!);
    images.set(platformKey(config), {
      platform: platformKey(config),
      config,
      layer,
      diffId: `sha256:${sha256Hex(layer)}`,
    });
  }

  const lockFile = path.join(run.workDir, "apko.lock.json");
  runTool(run.apko, ["lock", ...common, run.configFile, "--output", lockFile], env, run.cwd);
  const lockDoc = JSON.parse(await fsp.readFile(lockFile, "utf8")) as {
    contents: { packages: { name: string; version: string; architecture: string; checksum: string }[] };
  };
  const lock = new Map<string, LockedName[]>();
  for (const p of lockDoc.contents.packages) {
    const list = lock.get(p.architecture) ?? [];
    list.push({ name: p.name, version: p.version, checksum: p.checksum });
    lock.set(p.architecture, list);
  }
  const sbom = new Map<string, Set<string>>();
  for (const arch of run.archs)
    sbom.set(arch, await sbomPackages(path.join(sbomDir, `sbom-${arch}.spdx.json`)));
  return { images, lock, sbom };
}

/** Ours, through the library: resolve (offline), fetch, assemble into an OCI layout, read back. */
export async function buildWithUs(run: Omit<ApkoRun, "apko" | "archs" | "cwd">): Promise<BuildOutput> {
  const config = await loadApkoConfig(run.configFile);
  const client = new RepositoryClient({ cacheDir: run.cacheDir, offline: true });
  const resolved = await resolveImage(config, client);
  const plans = await fetchInstallPlans(resolved, client);
  const outputDir = path.join(run.workDir, "ours-oci");
  const sbomDir = path.join(run.workDir, "ours-sbom");
  await assembleImage({
    config: resolved.config,
    plans,
    keys: resolved.keys,
    cacheDir: run.cacheDir,
    outputDir,
    sbomDir,
    sourceDateEpoch: run.epoch,
  });
  const layout = new OciLayout(outputDir);
  const top = await layout.readIndex();
  const index = await layout.readJsonBlob<ImageIndex>(top.manifests[0]!.digest);
  const images = new Map<string, PlatformImage>();
  for (const desc of index.manifests) {
    const manifest = await layout.readJsonBlob<ImageManifest>(desc.digest);
    const config = await layout.readJsonBlob<Record<string, unknown>>(manifest.config.digest);
    const layer = zlib.gunzipSync(await layout.readBlob(manifest.layers[0]!.digest, 1 << 30));
    images.set(platformKey(config), {
      platform: platformKey(config),
      config,
      layer,
      diffId: `sha256:${sha256Hex(layer)}`,
    });
  }
  const lock = new Map<string, LockedName[]>();
  for (const [arch, list] of Object.entries(resolved.lock.archs)) {
    lock.set(
      arch,
      list.map((p) => ({ name: p.name, version: p.version, checksum: p.checksum })),
    );
  }
  const sbom = new Map<string, Set<string>>();
  for (const arch of config.archs)
    sbom.set(arch, await sbomPackages(path.join(sbomDir, `sbom-${arch}.spdx.json`)));
  return { images, lock, sbom };
}
