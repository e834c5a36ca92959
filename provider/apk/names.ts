/**
 * The grammar of the values that become file names and URL segments: package names, versions and
 * arch names. A repository is `<root>/<arch>/<name>-<version>.apk`, and names come from recipes,
 * indexes, `.PKGINFO`, lock files and Pulumi inputs, any of which can be hostile. Every boundary
 * checks with these functions, and every path is built by `packageFileName` / `archDirName`, which
 * check again, so a value that was never validated still cannot leave the directory it is joined to.
 *
 * - Names follow apk-tools (a letter or digit, then letters, digits and `+ _ . -`, ASCII only), which
 *   is also melange's rule. No `/`, no leading `.`, so no name is `..` or contains a separator.
 * - Versions we produce (recipes, publish) follow apk's version grammar (`isValidVersion`). Versions
 *   we read (indexes, `.PKGINFO`, locks) only need apk's version characters: real signed indexes
 *   carry versions outside the grammar (Wolfi's `0.99f7-r0`) that apk-tools installs, and what
 *   matters for a path is that no `/`, `..` or control character gets through.
 * - Arches are apk-tools' known arch names plus `noarch`.
 */
import * as path from "node:path";
import { DistrolessError, type ErrorCode } from "../util/errors";
import { isValidVersion } from "./version";

const PACKAGE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9+_.-]*$/;
/** The characters apk versions are made of (digits, letters, `. _ ~ -`, `+` in some hashes). */
const VERSION_CHARS_RE = /^[0-9A-Za-z][0-9A-Za-z._+~-]*$/;

/*
 * File systems cap a name at 255 bytes and the cache names packages `<40 hex>-<name>-<version>.apk`,
 * so name and version together must stay well under that. Real names and versions are far shorter.
 */
export const MAX_NAME_LENGTH = 128;
export const MAX_VERSION_LENGTH = 64;

/** apk-tools' arch names (its `APK_DEFAULT_ARCH` choices) and `noarch`. */
export const KNOWN_ARCHES: ReadonlySet<string> = new Set([
  "noarch",
  "x86",
  "x86_64",
  "aarch64",
  "armhf",
  "armv7",
  "loongarch64",
  "mips",
  "mipsel",
  "mips64",
  "mips64el",
  "ppc",
  "ppc64",
  "ppc64le",
  "riscv32",
  "riscv64",
  "s390x",
]);

export function isValidPackageName(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && PACKAGE_NAME_RE.test(name);
}

/** apk's version grammar: what a recipe or a published package must have. */
export function isValidPackageVersion(version: string): boolean {
  return version.length <= MAX_VERSION_LENGTH && isValidVersion(version);
}

/** apk's version characters, nothing that could act as a path: what an index or lock may carry. */
export function isReadableVersion(version: string): boolean {
  return version.length <= MAX_VERSION_LENGTH && VERSION_CHARS_RE.test(version) && !version.includes("..");
}

export function isKnownArch(arch: string): boolean {
  return KNOWN_ARCHES.has(arch);
}

/** Path separators, `..` and control characters are an attack, anything else a mistake. */
function codeFor(value: string): ErrorCode {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we look for
  return /[/\\\u0000-\u001f\u007f]|\.\./.test(value) ? "E_HOSTILE" : "E_FORMAT";
}

/** A short, printable rendering of an untrusted value for messages. */
function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

/** `field` names where the value came from (`P:`, `package.version`, `.PKGINFO pkgname`). */
export function checkPackageName(name: string, subject: string, field = "package name"): string {
  if (!isValidPackageName(name)) {
    throw new DistrolessError(
      codeFor(name),
      `${field} ${shown(name)} is not a valid apk package name (a letter or digit, then letters, digits and + _ . -, at most ${MAX_NAME_LENGTH} characters)`,
      { subject },
    );
  }
  return name;
}

/** `strict`: apk's version grammar; otherwise apk's version characters (see the top of the file). */
export function checkPackageVersion(
  version: string,
  subject: string,
  field = "version",
  strict = false,
): string {
  if (!(strict ? isValidPackageVersion(version) : isReadableVersion(version))) {
    throw new DistrolessError(
      codeFor(version),
      `${field} ${shown(version)} is not a valid apk version (like 1.2.3_rc1-r0, at most ${MAX_VERSION_LENGTH} characters)`,
      { subject },
    );
  }
  return version;
}

export function checkArch(arch: string, subject: string, field = "arch"): string {
  if (!isKnownArch(arch)) {
    throw new DistrolessError(
      codeFor(arch),
      `${field} ${shown(arch)} is not a known apk arch (${[...KNOWN_ARCHES].join(", ")})`,
      { subject },
    );
  }
  return arch;
}

/** `<name>-<version>` as a whole (its split is ambiguous): the characters of both, no `..`, no separator. */
export function isPackageFileStem(stem: string): boolean {
  return (
    stem.length <= MAX_NAME_LENGTH + MAX_VERSION_LENGTH + 1 &&
    /^[A-Za-z0-9][A-Za-z0-9+_.~-]*$/.test(stem) &&
    !stem.includes("..")
  );
}

/** `<name>-<version>.apk`, from values checked here (whatever the caller did before). */
export function packageFileName(name: string, version: string, subject = `${name}-${version}`): string {
  return `${checkPackageName(name, subject)}-${checkPackageVersion(version, subject)}.apk`;
}

/** An arch directory name, checked here. */
export function archDirName(arch: string, subject = arch): string {
  return checkArch(arch, subject);
}

/** `<root>/<arch>/<name>-<version>.apk` on disk, every part checked. */
export function packageFilePath(root: string, arch: string, name: string, version: string): string {
  const file = path.join(root, archDirName(arch, `${name}-${version}`), packageFileName(name, version));
  // Belt and braces: the grammar already rules out separators and `..`.
  if (path.resolve(path.dirname(path.dirname(file))) !== path.resolve(root)) {
    throw new DistrolessError("E_HOSTILE", `package path ${shown(file)} leaves ${root}`, { subject: root });
  }
  return file;
}
