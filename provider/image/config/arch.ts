/**
 * Architecture names: apk's (`x86_64`, `aarch64`, `armv7`) and OCI's (`amd64`, `arm64`, `arm/v7`),
 * mapped both ways the way apko maps them, plus the GNU/Rust triplets and GOARCH melange substitutes.
 */
import { DistrolessError } from "../../util/errors";

export type ApkArch =
  | "x86"
  | "x86_64"
  | "aarch64"
  | "armhf"
  | "armv7"
  | "ppc64le"
  | "s390x"
  | "riscv64"
  | "loongarch64";

export interface OciPlatform {
  architecture: string;
  variant?: string;
}

interface ArchInfo {
  apk: ApkArch;
  oci: OciPlatform;
  /** apko's name for the arch (`arm/v7`), also its sort key. */
  ociName: string;
  goarch: string;
  gnuTriplet: (libc: string) => string;
  rustTriplet: (libc: string) => string;
}

const TABLE: readonly ArchInfo[] = [
  {
    apk: "x86",
    oci: { architecture: "386" },
    ociName: "386",
    goarch: "386",
    gnuTriplet: (l) => `i486-pc-linux-${l}`,
    rustTriplet: (l) => `i686-unknown-linux-${l}`,
  },
  {
    apk: "x86_64",
    oci: { architecture: "amd64" },
    ociName: "amd64",
    goarch: "amd64",
    gnuTriplet: (l) => `x86_64-pc-linux-${l}`,
    rustTriplet: (l) => `x86_64-unknown-linux-${l}`,
  },
  {
    apk: "aarch64",
    oci: { architecture: "arm64" },
    ociName: "arm64",
    goarch: "arm64",
    gnuTriplet: (l) => `aarch64-unknown-linux-${l}`,
    rustTriplet: (l) => `aarch64-unknown-linux-${l}`,
  },
  {
    apk: "armhf",
    oci: { architecture: "arm", variant: "v6" },
    ociName: "arm/v6",
    goarch: "arm",
    gnuTriplet: (l) => `arm-unknown-linux-${l}eabihf`,
    rustTriplet: (l) => `armv6-unknown-linux-${l}eabihf`,
  },
  {
    apk: "armv7",
    oci: { architecture: "arm", variant: "v7" },
    ociName: "arm/v7",
    goarch: "arm",
    gnuTriplet: (l) => `armv7l-unknown-linux-${l}eabihf`,
    rustTriplet: (l) => `armv7-unknown-linux-${l}eabihf`,
  },
  {
    apk: "ppc64le",
    oci: { architecture: "ppc64le" },
    ociName: "ppc64le",
    goarch: "ppc64le",
    gnuTriplet: (l) => `powerpc64le-unknown-linux-${l}`,
    rustTriplet: (l) => `powerpc64le-unknown-linux-${l}`,
  },
  {
    apk: "s390x",
    oci: { architecture: "s390x" },
    ociName: "s390x",
    goarch: "s390x",
    gnuTriplet: (l) => `s390x-ibm-linux-${l}`,
    rustTriplet: (l) => `s390x-unknown-linux-${l}`,
  },
  {
    apk: "riscv64",
    oci: { architecture: "riscv64" },
    ociName: "riscv64",
    goarch: "riscv64",
    gnuTriplet: (l) => `riscv64-unknown-linux-${l}`,
    rustTriplet: (l) => `riscv64-unknown-linux-${l}`,
  },
  {
    apk: "loongarch64",
    oci: { architecture: "loong64" },
    ociName: "loong64",
    goarch: "loong64",
    // apko (and so melange) derive these from the OCI name, not GNU's `loongarch64`.
    gnuTriplet: (l) => `loong64-unknown-linux-${l}`,
    rustTriplet: (l) => `loong64-unknown-linux-${l}`,
  },
];

const BY_NAME = new Map<string, ArchInfo>();
for (const info of TABLE) {
  BY_NAME.set(info.apk, info);
  BY_NAME.set(info.ociName, info);
}
// Other spellings apko and docker accept.
BY_NAME.set("arm64/v8", BY_NAME.get("aarch64")!);
BY_NAME.set("i386", BY_NAME.get("x86")!);

/** Every arch, in apko's order (sorted by OCI name): what `archs: [all]` means. */
export const ALL_ARCHS: readonly ApkArch[] = [...TABLE]
  .sort((a, b) => compareStrings(a.ociName, b.ociName))
  .map((a) => a.apk);

/** The names accepted in configs, for error messages. */
export const ARCH_NAMES: readonly string[] = [...BY_NAME.keys()];

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function info(arch: ApkArch): ArchInfo {
  return BY_NAME.get(arch)!;
}

/** The apk arch for an apk or OCI name (`amd64` -> `x86_64`); undefined when unknown. */
export function parseArch(name: string): ApkArch | undefined {
  return BY_NAME.get(name.trim())?.apk;
}

/** Like parseArch but throws a DistrolessError listing the valid names. */
export function requireArch(name: string, subject?: string): ApkArch {
  const arch = parseArch(name);
  if (!arch) {
    throw new DistrolessError(
      "E_CONFIG",
      `unknown architecture ${JSON.stringify(name)}; expected one of ${ARCH_NAMES.join(", ")}`,
      subject ? { subject } : undefined,
    );
  }
  return arch;
}

/** The arch of the machine running this process. */
export function hostArch(): ApkArch {
  const byNode: Record<string, ApkArch> = {
    x64: "x86_64",
    arm64: "aarch64",
    arm: "armv7",
    ia32: "x86",
    ppc64: "ppc64le",
    s390x: "s390x",
    riscv64: "riscv64",
    loong64: "loongarch64",
  };
  const arch = byNode[process.arch];
  if (!arch) throw new DistrolessError("E_CONFIG", `unsupported host architecture ${process.arch}`);
  return arch;
}

export function toOciPlatform(arch: ApkArch): OciPlatform {
  const p = info(arch).oci;
  return p.variant ? { architecture: p.architecture, variant: p.variant } : { architecture: p.architecture };
}

/** apko's single-string name for an arch: `amd64`, `arm/v7`. */
export function toOciName(arch: ApkArch): string {
  return info(arch).ociName;
}

/** The apk arch for an OCI platform; `arm` without a variant is taken as v7 (as docker does). */
export function fromOciPlatform(platform: OciPlatform): ApkArch | undefined {
  const name = platform.variant ? `${platform.architecture}/${platform.variant}` : platform.architecture;
  if (platform.architecture === "arm" && !platform.variant) return "armv7";
  return parseArch(name);
}

export function goArch(arch: ApkArch): string {
  return info(arch).goarch;
}

export function gnuTriplet(arch: ApkArch, libc = "gnu"): string {
  return info(arch).gnuTriplet(libc);
}

export function rustTriplet(arch: ApkArch, libc = "gnu"): string {
  return info(arch).rustTriplet(libc);
}

/** Sorts and dedupes archs the way apko does (by OCI name), so image indexes list them in its order. */
export function sortArchs(archs: Iterable<ApkArch>): ApkArch[] {
  return [...new Set(archs)].sort((a, b) => compareStrings(toOciName(a), toOciName(b)));
}
