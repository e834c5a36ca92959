/**
 * The linters that judge a package by its paths and modes alone (melange's AllPaths family):
 * files where they do not belong (/dev, /opt, /srv, /usr/local, temp dirs, the pre-usrmerge
 * directories), special or world-writable permissions, and kinds of files (objects, archives, docs).
 */
import * as path from "node:path";
import { allPaths, ext, ignored, isDir, type Linter, type LintTarget, plural } from "./linter-kit";

const INFO = /^usr\/(?:local\/)?share\/info\/(?:dir|[^/]+\.info(?:-[0-9]+)?(?:\.(?:gz|bz2|xz|lzma|Z))?)$/;
const MAN =
  /^usr\/(?:local\/)?share\/man(?:\/man[0-9][^/]*)?(?:\/[^/]+\.[0-9][^/]*(?:\.(?:gz|bz2|xz|lzma|Z))?)?$|^usr\/man(?:\/man[0-9][^/]*)?(?:\/[^/]+\.[0-9][^/]*(?:\.(?:gz|bz2|xz|lzma|Z))?)?$/;
const DOCUMENTATION = /(?:READ(?:\.?ME)?|TODO|CREDITS|\.(?:md|docx?|rst|[0-9][a-z]))$/;
const SHARED_OBJECT = /\.so(?:\.[0-9]+)*$/;
const TEMP_DIR = /^(var\/)?tmp\//;
const PKGCONF_DIR = /^usr\/(lib|share)\/pkgconfig\//;
const CUDA_DRIVER_LIB = /^usr\/lib\/lib(cuda|nvidia-ml)\.so(\.[0-9]+)*$/;
const USRMERGE_DIRS = ["sbin", "bin", "usr/sbin", "lib", "lib64"];

function hasTest(names: string[]): (t: LintTarget) => boolean {
  return (t) => t.testUses.some((u) => names.includes(u));
}

export const PATH_LINTERS: readonly Linter[] = [
  {
    name: "dev",
    explain:
      "If this package is creating /dev nodes, it should use udev instead; otherwise, remove any files in /dev",
    behavior: "require",
    check: allPaths(
      (e) => !isDir(e) && e.path.startsWith("dev/"),
      (t) => `${t.name} writes to /dev`,
    ),
  },
  {
    name: "documentation",
    explain: "Place documentation into a separate package or remove it",
    behavior: "ignore",
    check: allPaths(
      (e) => !isDir(e) && DOCUMENTATION.test(e.path),
      (t, p) =>
        `${t.name} contains ${p.length} documentation ${plural(p.length, "file", "files")} but is not a documentation package`,
      (t) => t.name.endsWith("-doc"),
    ),
  },
  {
    name: "opt",
    explain: "This package should be a -compat package",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && e.path.startsWith("opt/"),
      (t) => `${t.name} writes to /opt`,
      (t) => t.name.endsWith("-compat"),
    ),
  },
  {
    name: "object",
    explain: "This package contains intermediate object files (.o files)",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && ext(e.path) === ".o",
      (t, p) =>
        `${t.name} contains ${p.length} intermediate object ${plural(p.length, "file", "files")}. This is usually wrong. In most cases they should be removed`,
    ),
  },
  {
    name: "maninfo",
    explain: "Place documentation into a separate package or remove it",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && (MAN.test(e.path) || INFO.test(e.path)),
      (t, p) =>
        `${t.name} contains ${p.length} man/info ${plural(p.length, "file", "files")} but is not a documentation package`,
      (t) => t.name.endsWith("-doc"),
    ),
  },
  {
    name: "sbom",
    explain: "Remove any files in /var/lib/db/sbom from the package",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && path.posix.dirname(e.path) === "var/lib/db/sbom" && !e.path.endsWith(".spdx.json"),
      (t) => `${t.name} writes to var/lib/db/sbom`,
    ),
  },
  {
    name: "setuidgid",
    explain: "Unset the setuid/setgid bit on the relevant files, or remove this linter",
    behavior: "require",
    check: allPaths(
      (e) => e.type === "file" && (e.mode & 0o7000) !== 0,
      (t, p) =>
        `${t.name} contains ${p.length} ${plural(p.length, "file", "files")} with special permissions (setuid/setgid)`,
    ),
  },
  {
    name: "srv",
    explain: "This package should be a -compat package",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && e.path.startsWith("srv/"),
      (t) => `${t.name} writes to /srv`,
      (t) => t.name.endsWith("-compat"),
    ),
  },
  {
    name: "tempdir",
    explain:
      "Remove any offending files in temporary dirs in the pipeline, or add a /usr/lib/tmpfiles.d/ snippet in the case of dirs under /run/",
    behavior: "require",
    check: async (t) => {
      // A tmpfiles.d snippet creates /run directories at boot, so shipping them empty is fine.
      const tmpfiles = t.entries.some((e) => e.path.startsWith("usr/lib/tmpfiles.d/"));
      return allPaths(
        (e) =>
          (!isDir(e) && TEMP_DIR.test(e.path)) ||
          e.path.startsWith("var/run/") ||
          (e.path.startsWith("run/") && (!isDir(e) || !tmpfiles)),
        (t2) => `${t2.name} writes to a temp dir`,
      )(t);
    },
  },
  {
    name: "usrlocal",
    explain: "This package should be a -compat package",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && e.path.startsWith("usr/local/"),
      (t) => `${t.name} contains /usr/local path in non-compat package`,
      (t) => t.name.endsWith("-compat"),
    ),
  },
  {
    name: "varempty",
    explain: "Remove any offending files in /var/empty in the pipeline",
    behavior: "require",
    check: allPaths(
      (e) => !isDir(e) && e.path.startsWith("var/empty/"),
      (t) => `${t.name} writes to /var/empty`,
    ),
  },
  {
    name: "worldwrite",
    explain:
      "Change the permissions of any permissive files in the package, disable the linter, or make this a -compat package",
    behavior: "require",
    check: allPaths(
      (e) => e.type === "file" && (e.mode & 0o002) !== 0,
      (t, p) => `${t.name} contains ${p.length} world-writeable ${plural(p.length, "file", "files")}`,
    ),
  },
  {
    name: "infodir",
    explain: "Remove /usr/share/info/dir from the package (run split/infodir)",
    behavior: "require",
    check: allPaths(
      (e) => !isDir(e) && e.path.startsWith("usr/share/info/dir/"),
      (t) => `${t.name} writes to /usr/share/info/dir/`,
    ),
  },
  {
    name: "pkgconf",
    explain: "This package provides files in a pkgconfig directory, please add the pkgconf test pipeline",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && PKGCONF_DIR.test(e.path),
      (t) => `${t.name} contains pkgconfig files but test/pkgconf is not configured`,
      hasTest(["test/pkgconf"]),
    ),
  },
  {
    name: "lddcheck",
    explain: "This package provides shared object files, please add the ldd-check test pipeline",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && SHARED_OBJECT.test(e.path),
      (t) => `${t.name} contains shared objects but test/ldd-check is not configured`,
      hasTest(["test/ldd-check", "test/tw/ldd-check"]),
    ),
  },
  {
    name: "usrmerge",
    explain: "Move binary to /usr/bin",
    behavior: "require",
    check: allPaths(
      (e) => !ignored(e.path) && USRMERGE_DIRS.some((d) => e.path === d || e.path.startsWith(`${d}/`)),
      () => "Package contains paths in violation of usrmerge",
    ),
  },
  {
    name: "cudaruntimelib",
    explain:
      "CUDA driver-specific libraries should be passed into the container by the host; use a package containing a stub library instead",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && CUDA_DRIVER_LIB.test(e.path),
      (t) => `${t.name} contains CUDA driver-specific libraries`,
    ),
  },
  {
    name: "dll",
    explain: "This package contains Windows libraries",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && ext(e.path) === ".dll",
      (t, p) => `${t.name} contains ${p.length} DLL ${plural(p.length, "file", "files")}`,
      (t) => t.name.endsWith("-dev"),
    ),
  },
  {
    name: "dylib",
    explain: "This package contains macOS libraries",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && ext(e.path) === ".dylib",
      (t, p) => `${t.name} contains ${p.length} dylib ${plural(p.length, "file", "files")}`,
      (t) => t.name.endsWith("-dev"),
    ),
  },
  {
    name: "staticarchive",
    explain: "This package contains static archives (.a files)",
    behavior: "warn",
    check: allPaths(
      (e) => !isDir(e) && ext(e.path) === ".a",
      (t, p) =>
        `${t.name} contains ${p.length} static ${plural(p.length, "archive", "archives")}. Static archives bloat packages and should typically be in -dev packages or removed`,
      (t) => t.name.endsWith("-dev") || t.name.endsWith("-static"),
    ),
  },
  {
    name: "libtool/la-files",
    explain:
      "Remove libtool archive (.la) files from the package, or disable this linter if they are required",
    behavior: "require",
    check: allPaths(
      (e) => !isDir(e) && ext(e.path) === ".la",
      (t, p) =>
        `${t.name} contains ${p.length} libtool archive (.la) ${plural(p.length, "file", "files")}. Remove them in the build pipeline; if this package legitimately needs to ship .la files, disable this linter via checks.disabled`,
    ),
  },
];
