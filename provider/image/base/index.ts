/**
 * apko's `contents.baseimage`: building on top of an existing image (an OCI layout) whose
 * installed packages are listed beside it. The resolver treats those packages as installed, the
 * assembler keeps the base's layers as they are and adds one layer on top.
 */
import type { PkgInfo } from "../../apk/pkginfo";
import { DistrolessError } from "../../util/errors";
import { sha256Hex } from "../../util/hash";
import type { ApkArch } from "../config/arch";
import { withDefaultEnvironment } from "../config/normalize";
import type { ApkoConfig, BaseImageRef } from "../config/types";
import type { FsTree } from "../tree";
import { type BaseImage, openBaseImage } from "./base-image";
import { type BaseInstalled, readBaseInstalled } from "./base-installed";

export { type BaseImage, type BaseLayer, copyBaseLayers, openBaseImage } from "./base-image";
export { type BaseInstalled, type BasePackage, readBaseInstalled } from "./base-installed";
export { configOnBase, manifestOnBase } from "./config-on-base";

/**
 * The settings apko refuses next to a base image (it takes them from the base), checked on the
 * final config: the config file's are refused with their line when it is read; this also covers a
 * base given by a DistrolessImage input, and annotations added by one.
 */
export function checkConfigOnBase(config: ApkoConfig): void {
  const defaults = withDefaultEnvironment(undefined);
  const env = Object.entries(config.environment);
  const given: [string, boolean][] = [
    ["entrypoint", config.entrypoint.command.length > 0 || config.entrypoint.type !== undefined],
    ["cmd", config.cmd.length > 0],
    ["stop-signal", config.stopSignal !== undefined],
    ["work-dir", config.workDir !== undefined],
    [
      "accounts",
      config.accounts.runAs !== undefined ||
        config.accounts.users.length > 0 ||
        config.accounts.groups.length > 0,
    ],
    ["environment", env.length !== 2 || env.some(([k, v]) => defaults[k] !== v)],
    ["paths", config.paths.length > 0],
    ["annotations", Object.keys(config.annotations).length > 0],
    ["layering", config.layering !== undefined],
  ];
  const set = given.filter(([, on]) => on).map(([name]) => name);
  if (set.length > 0)
    throw new DistrolessError(
      "E_CONFIG",
      `${set.join(", ")} cannot be set with contents.baseimage: on a base image only contents, archs and include are supported (as in apko)`,
      { subject: config.source },
    );
}

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
