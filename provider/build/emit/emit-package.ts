/**
 * Turns one (sub)package's output directory into a signed .apk the way melange does: dependency
 * detection merged with the declared relations, the SPDX SBOM added at var/lib/db/sbom/, `.PKGINFO`
 * in melange's field order, `.melange.yaml` and the scriptlets as control files, the build user's
 * files owned by root, every mtime (and builddate) from SOURCE_DATE_EPOCH.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { ControlFile } from "../../apk/apk-reader";
import { writeApk } from "../../apk/apk-writer";
import type { DataEntry } from "../../apk/data-entry";
import type { SigningKey } from "../../apk/keys";
import { emptyPkgInfo, type PkgInfo } from "../../apk/pkginfo";
import type { Progress } from "../../util/log";
import { detectDependencies, mergeDependencies } from "../detect/detect";
import type { PackageFs } from "../detect/package-fs";
import { cpeString, licenseExpression } from "../recipe/metadata";
import type { MainPackageMetadata, PackageMetadata } from "../recipe/plan";
import type { OwnerNames } from "./owner-names";
import { packageSbom, sbomPath } from "./sbom";
import { applySetcap } from "./setcap";
import { sbomLicenseExpression } from "./spdx-license";

export interface EmitInput {
  /** The (sub)package being emitted. */
  meta: PackageMetadata;
  /** The recipe's main package (origin, version, license). */
  origin: MainPackageMetadata;
  arch: string;
  /** Host directory holding the package's files (melange-out/<name>). */
  dir: string;
  fs: PackageFs;
  /** Every package of this build, for `.so` symlinks that point into a sibling. */
  relatives: { name: string; fs: PackageFs }[];
  /** `<out>/<arch>/<name>-<ver>-r<epoch>.apk` */
  output: string;
  melangeYaml: string;
  signingKey?: SigningKey;
  sourceDateEpoch: number;
  /** Owners that become root in the package: the build user and group, and the caller's ids. */
  rootIds: { uids: number[]; gids: number[] };
  namespace: string;
  recipeFile?: string;
  /** Owner names from the build guest's account files (melange's); root:root when absent. */
  ownerNames?: OwnerNames;
  /** License id -> text from the recipe's `license-path`s (licenseTexts), for the SBOM. */
  licenseTexts?: Record<string, string>;
  progress: Progress;
}

export interface EmittedPackage {
  name: string;
  version: string;
  arch: string;
  file: string;
  size: number;
  controlChecksum: string;
  datahash: string;
  depends: string[];
  provides: string[];
}

function scriptletFiles(meta: PackageMetadata): ControlFile[] {
  const s = meta.scriptlets;
  const files: [string, string | undefined][] = [
    [".pre-install", s.preInstall],
    [".post-install", s.postInstall],
    [".pre-deinstall", s.preDeinstall],
    [".post-deinstall", s.postDeinstall],
    [".pre-upgrade", s.preUpgrade],
    [".post-upgrade", s.postUpgrade],
    [".trigger", s.trigger?.script],
  ];
  return files
    .filter((f): f is [string, string] => typeof f[1] === "string" && f[1] !== "")
    .map(([name, text]) => ({ name, mode: 0o755, data: Buffer.from(text) }));
}

/** The SBOM file and the directories above it, for those the package does not have already. */
function sbomEntries(existing: DataEntry[], file: string, content: Buffer): DataEntry[] {
  const have = new Set(existing.map((e) => e.path));
  const out: DataEntry[] = [];
  const parts = file.split("/");
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    if (!have.has(dir)) out.push({ path: dir, type: "directory", mode: 0o755, uid: 0, gid: 0 });
  }
  out.push({ path: file, type: "file", mode: 0o644, uid: 0, gid: 0, content });
  return out;
}

export async function emitPackage(input: EmitInput): Promise<EmittedPackage> {
  const { meta, origin } = input;
  await fsp.mkdir(input.dir, { recursive: true });
  const detected = await detectDependencies({
    name: meta.name,
    fullVersion: origin.fullVersion,
    fs: input.fs,
    relatives: input.relatives,
    options: meta.options,
    declaredRuntime: meta.dependencies.runtime,
    warn: (m) => input.progress.warn(`${meta.name}: ${m}`),
  });
  const deps = mergeDependencies(meta.name, meta.dependencies, detected);

  const uids = new Set(input.rootIds.uids);
  const gids = new Set(input.rootIds.gids);
  const tree = await input.fs.dataEntries({
    mapOwner: (uid, gid) => ({ uid: uids.has(uid) ? 0 : uid, gid: gids.has(gid) ? 0 : gid }),
  });
  applySetcap(meta.name, meta.setcap, tree);
  const sbomFile = sbomPath(meta.name, origin.fullVersion);
  const cpe = cpeString(origin.cpe, origin.version);
  const sbom = packageSbom({
    name: meta.name,
    fullVersion: origin.fullVersion,
    arch: input.arch,
    license: sbomLicenseExpression(origin.copyright),
    namespace: input.namespace,
    sourceDateEpoch: input.sourceDateEpoch,
    ...(input.recipeFile ? { recipeFile: input.recipeFile } : {}),
    ...(cpe ? { cpe } : {}),
    copyrightText: origin.copyright.map((c) => (c.attestation ? `${c.attestation}\n` : "")).join(""),
    ...(input.licenseTexts ? { licenseTexts: input.licenseTexts } : {}),
  });
  const entries = [...tree.filter((e) => e.path !== sbomFile), ...sbomEntries(tree, sbomFile, sbom)];
  const names = input.ownerNames;
  if (names) {
    for (const e of entries) {
      e.uname = names.users.get(e.uid) ?? "";
      e.gname = names.groups.get(e.gid) ?? "";
    }
  }

  const pkginfo: PkgInfo = {
    ...emptyPkgInfo(),
    pkgname: meta.name,
    pkgver: origin.fullVersion,
    arch: input.arch,
    origin: origin.name,
    pkgdesc: meta.description ?? "",
    url: meta.url ?? "",
    // melange falls back to the recipe file's git HEAD, and to "unknown" when it finds none.
    commit: meta.commit ?? origin.commit ?? "unknown",
    maintainer: input.namespace,
    builddate: input.sourceDateEpoch,
    licenses: origin.copyright.map((c) => c.license ?? licenseExpression([c])).filter((l) => l !== ""),
    depends: deps.runtime,
    provides: deps.provides,
    replaces: [...meta.dependencies.replaces],
    triggers: [...(meta.scriptlets.trigger?.paths ?? [])],
  };
  if (meta.dependencies.providerPriority !== undefined)
    pkginfo.providerPriority = meta.dependencies.providerPriority;
  if (meta.dependencies.replacesPriority !== undefined)
    pkginfo.replacesPriority = meta.dependencies.replacesPriority;

  const written = await writeApk({
    pkginfo,
    entries,
    control: [
      { name: ".melange.yaml", mode: 0o644, data: Buffer.from(input.melangeYaml) },
      ...scriptletFiles(meta),
    ],
    ...(input.signingKey ? { signingKey: input.signingKey } : {}),
    sourceDateEpoch: input.sourceDateEpoch,
    output: input.output,
  });
  input.progress.info(
    `wrote ${path.basename(written.file)} (${written.size} bytes, ${written.controlChecksum})`,
  );
  return {
    name: meta.name,
    version: origin.fullVersion,
    arch: input.arch,
    file: written.file,
    size: written.size,
    controlChecksum: written.controlChecksum,
    datahash: written.datahash,
    depends: deps.runtime,
    provides: deps.provides,
  };
}
