/**
 * apko's `contents.baseimage`: building on top of an existing image (an OCI layout) whose
 * installed packages are listed beside it. The resolver treats those packages as installed, the
 * assembler keeps the base's layers as they are and adds one layer on top.
 */
import type { PkgInfo } from "../../apk/pkginfo";
import { sha256Hex } from "../../util/hash";
import type { ApkArch } from "../config/arch";
import type { BaseImageRef } from "../config/types";
import type { FsTree } from "../tree";
import { type BaseImage, openBaseImage } from "./base-image";
import { type BaseInstalled, readBaseInstalled } from "./base-installed";

export { type BaseImage, type BaseLayer, copyBaseLayers, openBaseImage } from "./base-image";
export { type BaseInstalled, type BasePackage, readBaseInstalled } from "./base-installed";
export { configOnBase, manifestOnBase } from "./config-on-base";

export interface LoadedBase {
  image: BaseImage;
  installed: BaseInstalled;
}

export async function loadBase(ref: BaseImageRef, arch: ApkArch): Promise<LoadedBase> {
  const [image, installed] = await Promise.all([openBaseImage(ref, arch), readBaseInstalled(ref, arch)]);
  return { image, installed };
}

/**
 * What identifies the base for each arch: the chosen manifest's digest (which covers its config
 * and layers) and the installed list's sha256. A changed base changes it, so the image rebuilds.
 */
export async function baseImageIdentity(
  ref: BaseImageRef,
  archs: readonly ApkArch[],
): Promise<Record<string, { manifest: string; apkindex: string }>> {
  const out: Record<string, { manifest: string; apkindex: string }> = {};
  for (const arch of archs) {
    const { image, installed } = await loadBase(ref, arch);
    out[arch] = {
      manifest: image.manifestDigest,
      apkindex: `sha256:${sha256Hex(Buffer.from(installedText(installed), "utf8"))}`,
    };
  }
  return out;
}

function installedText(installed: BaseInstalled): string {
  return installed.records.map((r) => r.lines.map(([k, v]) => `${k}:${v}`).join("\n")).join("\n\n");
}

/**
 * apko's usr-merge probe on a base image: when an installed package (the base's or ours) provides
 * exactly `merged-lib`, the base has `lib -> usr/lib`, so the new layer gets that link rather than
 * a `lib` directory that would hide it.
 */
export function linkLibOfMergedBase(tree: FsTree, packages: readonly { pkginfo: PkgInfo }[]): void {
  if (tree.lookup("lib")) return;
  if (!packages.some((p) => p.pkginfo.provides.includes("merged-lib"))) return;
  tree.setLeaf(
    "lib",
    { kind: "symlink", meta: { mode: 0o777, uid: 0, gid: 0, mtime: 0 }, target: "usr/lib" },
    "lib",
  );
}
