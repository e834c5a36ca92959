import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import { type AssembleResult, assembleImage } from "../../provider/image/assemble";
import { loadApkoConfig } from "../../provider/image/config";
import type { ApkArch } from "../../provider/image/config/arch";
import { OciLayout } from "../../provider/image/oci-layout";
import type { Descriptor, ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { fixture } from "../helpers/fixtures";
import {
  file,
  type LayerFile,
  pkgInfo,
  resolvedPlans,
  run,
  type TestPackage,
  withParents,
} from "./image-helpers";

/** Every layer (bottom first) of `ociArch`'s image in a layout: ours (tagged) or apko's (the index itself). */
export async function readLayers(layoutDir: string, ociArch: string): Promise<LayerFile[][]> {
  const layout = new OciLayout(layoutDir);
  const find = async (manifests: Descriptor[]): Promise<Descriptor> => {
    const direct = manifests.find((m) => m.platform?.architecture === ociArch);
    if (direct) return direct;
    const nested = manifests.find((m) => m.mediaType.includes("index"));
    if (!nested) throw new Error(`${layoutDir}: no ${ociArch} image`);
    return find((await layout.readJsonBlob<ImageIndex>(nested.digest)).manifests);
  };
  const desc = await find((await layout.readIndex()).manifests);
  const manifest = await layout.readJsonBlob<ImageManifest>(desc.digest);
  const layers: LayerFile[][] = [];
  for (const l of manifest.layers) {
    const gz = await layout.readBlob(l.digest, 1 << 30);
    layers.push(await readTarBuffer(zlib.gunzipSync(gz), { maxEntryBytes: 1 << 30 }));
  }
  return layers;
}

/** What a layer's tar lists: name and type of each entry, in order. */
export const entryList = (layer: LayerFile[]): string[] =>
  layer.map((e) => `${e.header.type} ${e.header.name}`);

/** Builds `configFile` with our assembler (SOURCE_DATE_EPOCH 0) into `outDir`. */
export async function buildOurs(
  configFile: string,
  outDir: string,
  cacheDir: string,
  archs?: ApkArch[],
): Promise<AssembleResult> {
  const config = await loadApkoConfig(configFile);
  const { plans, keys } = await resolvedPlans(config, cacheDir, archs ?? config.archs);
  return assembleImage({ config, plans, keys, cacheDir, outputDir: outDir, sourceDateEpoch: 0 });
}

/**
 * Builds `configFile` with the real apko (offline, SOURCE_DATE_EPOCH 0, no VCS probing unless
 * asked) into `outDir`.
 */
export function buildWithApko(
  apko: string,
  configFile: string,
  outDir: string,
  arch: string,
  options: { cwd?: string; vcs?: boolean } = {},
): void {
  mkdirSync(outDir, { recursive: true });
  run(
    "env",
    [
      "SOURCE_DATE_EPOCH=0",
      apko,
      "build",
      configFile,
      "test.local/layered:latest",
      outDir,
      "--offline",
      `--vcs=${options.vcs === true}`,
      "--sbom=false",
      "--cache-dir",
      path.join(path.dirname(outDir), "apko-cache"),
      "--arch",
      arch,
    ],
    options.cwd ? { cwd: options.cwd } : {},
  );
}

/**
 * A copy of a fixture apko config in `dir` whose paths point into the shared fixtures, with its
 * `./packages` build repository standing for the fixtures' local repository.
 */
export function fixtureConfigCopy(name: string, dir: string): string {
  const text = readFileSync(fixture("configs", "apko", name), "utf8").replaceAll("../../", `${fixture()}/`);
  const file = path.join(dir, name);
  writeFileSync(file, text);
  symlinkSync(fixture("local-repo"), path.join(dir, "packages"));
  return file;
}

/** Deterministic incompressible bytes (a "heavy" runtime library). */
function noise(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update(seed).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

const pkg = (
  name: string,
  origin: string,
  size: number,
  files: [string, string | Buffer][],
): TestPackage => ({
  info: pkgInfo(name, "1.0-r0", "x86_64", { origin, size }),
  entries: withParents(files.map(([p, body]) => file(p, body))),
});

/** A heavy runtime (two packages of one origin), a base and two apps: images that share the runtime. */
export const LAYERING_PACKAGES: TestPackage[] = [
  pkg("base", "base", 2_000, [
    ["etc/os-release", "ID=layered\nVERSION_ID=1\n"],
    ["etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"],
    ["etc/group", "root:x:0:\n"],
  ]),
  pkg("runtime", "runtime", 300_000, [
    ["usr/lib/runtime/libruntime.so", noise(256 << 10, "runtime")],
    ["usr/bin/runtime", "#!/bin/sh\n"],
  ]),
  pkg("runtime-doc", "runtime", 1_000, [["usr/share/doc/runtime/README", "docs\n"]]),
  pkg("app-a", "app-a", 5_000, [
    ["usr/bin/app-a", "#!/bin/sh\necho a\n"],
    ["etc/app-a.conf", "a=1\n"],
  ]),
  pkg("app-b", "app-b", 6_000, [["usr/bin/app-b", "#!/bin/sh\necho b\n"]]),
];

/** An apko config over the generated repository. */
export function layeredConfig(dir: string, name: string, packages: string[], layering?: string): string {
  const file = path.join(dir, `${name}.apko.yaml`);
  writeFileSync(
    file,
    [
      "contents:",
      `  keyring: [${path.join(dir, "repo", "test.rsa.pub")}]`,
      `  repositories: [${path.join(dir, "repo")}]`,
      `  packages: [${packages.join(", ")}]`,
      "archs: [x86_64]",
      ...(layering ? [`layering: ${layering}`] : []),
      "",
    ].join("\n"),
  );
  return file;
}
