/**
 * Dependency detection over a package's files, following melange's analysis:
 *  - ELF executables and libraries (mode r-x for all): `PT_INTERP` -> depend `so:<basename>` (musl's
 *    `ld-musl-*` loader becomes `so:libc.musl-*`); each `DT_NEEDED` containing `.so.` -> depend
 *    `so:<lib>`; `DT_SONAME` of a library directly in a library dir -> provide
 *    `so:<soname>=<digits after .so., else 0>` and `so-ver:<soname>=<full-version>` (melange 0.59;
 *    elsewhere both are "vendored": not provided). NVIDIA's host-injected libraries are skipped.
 *  - `.so` symlinks (e.g. a -dev package's `libfoo.so`) pointing at a library in this or a sibling
 *    package -> depend `so:<that library's soname>`.
 *  - executables directly in bin/, sbin/, usr/bin/, usr/sbin/ -> provide `cmd:<name>=<full-version>`.
 *  - `#!` lines of files under bin/ and usr/bin/ -> depend `cmd:<interpreter>`.
 *  - `.pc` files in a pkgconfig dir -> provide `pc:<name>=<full-version>`; their Requires (and
 *    Requires.private) -> depend `pc:<module>`.
 *  - Python modules (`usr/lib/pythonX.Y/site-packages`) -> depend `python-X.Y-base`; Ruby gems
 *    (`.../gems/X.Y.Z/gems`) -> depend `ruby-X.Y`, unless the recipe already names one.
 * Library dirs are lib/, usr/lib/, lib64/, usr/lib64/ plus any the package adds in etc/ld.so.conf.d.
 */
import { posix } from "node:path";
import type { PackageFs, PackageFsEntry } from "./package-fs";
import { parsePkgConfig } from "./pkgconfig";
import { parseShebang } from "./shebang";

export interface DetectOptions {
  /** No generated provides (so:, cmd:, pc:). */
  noProvides: boolean;
  /** No generated dependencies. */
  noDepends: boolean;
  /** No cmd: provides. */
  noCommands: boolean;
}

export interface DetectInput {
  name: string;
  /** `<version>-r<epoch>` */
  fullVersion: string;
  fs: PackageFs;
  /** Other packages of the same build (main and subpackages), searched for `.so` symlink targets. */
  relatives?: { name: string; fs: PackageFs }[];
  options: DetectOptions;
  /** The recipe's own runtime dependencies (python/ruby detection defers to them). */
  declaredRuntime?: readonly string[];
  /** Where warnings go (a library without SONAME, an odd `#!` line). */
  warn?: (message: string) => void;
}

export interface Detected {
  runtime: string[];
  provides: string[];
  /** so:/pc: names found outside the standard dirs: not provided, but not depended on either. */
  vendored: string[];
}

const LIB_DIRS = ["lib", "usr/lib", "lib64", "usr/lib64"];
const CMD_DIRS = new Set(["bin", "sbin", "usr/bin", "usr/sbin"]);
const PC_DIRS = new Set([
  "lib/pkgconfig",
  "usr/lib/pkgconfig",
  "lib64/pkgconfig",
  "usr/lib64/pkgconfig",
  "usr/share/pkgconfig",
]);
const MAX_PC_BYTES = 1 << 20;
const MAX_CONF_BYTES = 64 << 10;

const dirOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
const baseOf = (p: string) => p.slice(p.lastIndexOf("/") + 1);
const allExecutable = (e: PackageFsEntry) => (e.mode & 0o555) === 0o555;

/** melange's library version: the digits (and dots) after `.so.`, else "0". */
export function sonameVersion(soname: string): string {
  // melange splits at every ".so." and takes the second part: libx.so.1.so.2 -> 1.
  const parts = soname.split(".so.");
  if (parts.length < 2) return "0";
  const v = parts[1]!;
  return /^[\d.]*$/.test(v) ? v : "0";
}

/**
 * What a library with this SONAME provides, as melange 0.59 writes it: `so:<soname>=<libver>`
 * and, beside it, `so-ver:<soname>=<the package's full version>` (a name later builds can depend
 * on with a version, which `so:` cannot carry: its version is the SONAME's).
 */
export function libraryProvides(soname: string, fullVersion: string): string[] {
  return [`so:${soname}=${sonameVersion(soname)}`, `so-ver:${soname}=${fullVersion}`];
}

/**
 * NVIDIA driver libraries the host injects into GPU containers: melange neither depends on nor
 * provides them (a package providing one would clash with the driver's).
 */
const HOST_PROVIDED_LIBRARIES = new Set([
  "libEGL_nvidia.so.1",
  "libGLESv1_CM_nvidia.so.1",
  "libGLESv2_nvidia.so.1",
  "libGLX_nvidia.so.1",
  "libcuda.so.1",
  "libcudadebugger.so.1",
  "libnvcuvid.so.1",
  "libnvidia-allocator.so.1",
  "libnvidia-cfg.so.1",
  "libnvidia-eglcore.so.1",
  "libnvidia-encode.so.1",
  "libnvidia-fbc.so.1",
  "libnvidia-glcore.so.1",
  "libnvidia-glsi.so.1",
  "libnvidia-glvkspirv.so.1",
  "libnvidia-gpucomp.so.1",
  "libnvidia-ml.so.1",
  "libnvidia-ngx.so.1",
  "libnvidia-nvvm.so.1",
  "libnvidia-opencl.so.1",
  "libnvidia-opticalflow.so.1",
  "libnvidia-pkcs11-openssl3.so.1",
  "libnvidia-pkcs11.so.1",
  "libnvidia-ptxjitcompiler.so.1",
  "libnvidia-rtcore.so.1",
  "libnvidia-tls.so.1",
  "libnvoptix.so.1",
]);

function dedupSorted(items: string[]): string[] {
  return [...new Set(items)].sort();
}

/** Extra library dirs the package declares in etc/ld.so.conf.d/*.conf (absolute paths, made relative). */
async function ldSoConfDirs(fs: PackageFs, entries: PackageFsEntry[]): Promise<string[]> {
  const dirs: string[] = [];
  for (const e of entries) {
    if (e.type !== "file" || dirOf(e.path) !== "etc/ld.so.conf.d" || !e.path.endsWith(".conf")) continue;
    const text = (await fs.read(e.path, MAX_CONF_BYTES))?.toString("utf8") ?? "";
    for (const raw of text.split("\n")) {
      const line = raw.replace(/#.*/, "").trim();
      if (line.startsWith("/") && !line.split("/").includes("..")) dirs.push(line.replace(/^\/+|\/+$/g, ""));
    }
  }
  return dirs;
}

export async function detectDependencies(input: DetectInput): Promise<Detected> {
  const { fs, options } = input;
  const warn = input.warn ?? (() => {});
  const runtime: string[] = [];
  const provides: string[] = [];
  const vendored: string[] = [];
  const entries = await fs.entries();
  const libDirs = new Set([...LIB_DIRS, ...(await ldSoConfDirs(fs, entries))]);
  const relatives = input.relatives ?? [{ name: input.name, fs }];
  let pythonVersion = "";
  let rubyVersion = "";

  const docPackage = input.name.endsWith("-doc");
  for (const e of entries) {
    const dir = dirOf(e.path);
    const base = baseOf(e.path);

    // melange: a -doc package with anything directly in usr/share/man (the man<N> dirs) needs
    // man-db, with anything directly in usr/share/info needs texinfo.
    if (docPackage && !options.noDepends) {
      if (dir === "usr/share/man") runtime.push("man-db");
      if (dir === "usr/share/info") runtime.push("texinfo");
    }

    if (e.type === "directory") {
      if (base === "site-packages" && baseOf(dir).startsWith("python")) pythonVersion = baseOf(dir).slice(6);
      if (base === "gems" && /^\d+\.\d+\.\d+$/.test(baseOf(dir)))
        rubyVersion = baseOf(dir).split(".").slice(0, 2).join(".");
      continue;
    }

    if (e.type === "symlink") {
      if (e.path.includes(".so") && !options.noDepends && e.linkname) {
        // Resolve the target by name in the library dirs of this build's packages.
        const target = baseOf(e.linkname);
        for (const rel of relatives) {
          const hit = await findLibrary(rel.fs, target);
          if (!hit) continue;
          const elf = await rel.fs.elf(hit);
          for (const soname of elf?.soname ?? [])
            if (!HOST_PROVIDED_LIBRARIES.has(soname)) runtime.push(`so:${soname}`);
          break;
        }
      }
      continue;
    }
    if (e.type !== "file") continue;

    if (base.endsWith(".pc")) await pkgConfig(e, dir, base);

    if (
      (dir === "bin" || dir.startsWith("bin/") || dir === "usr/bin" || dir.startsWith("usr/bin/")) &&
      e.size >= 2
    ) {
      const sb = parseShebang(await fs.head(e.path, 80));
      if (sb.warning) warn(`${e.path}: ${sb.warning}`);
      if (sb.interpreter && !options.noDepends) runtime.push(`cmd:${baseOf(sb.interpreter)}`);
    }

    if (!allExecutable(e)) continue;
    if (CMD_DIRS.has(dir) && !options.noCommands && !options.noProvides) {
      provides.push(`cmd:${base}=${input.fullVersion}`);
    }
    const elf = await fs.elf(e.path);
    if (!elf) continue;
    if (elf.interpreter && !options.noDepends) {
      runtime.push(`so:${baseOf(elf.interpreter)}`.replace("so:ld-musl", "so:libc.musl"));
    }
    if (!options.noDepends)
      for (const lib of elf.needed)
        if (lib.includes(".so.") && !HOST_PROVIDED_LIBRARIES.has(lib)) runtime.push(`so:${lib}`);
    // Executables should not have a SONAME; libraries that are also runnable (libc, libcap) do,
    // and are recognised by `.so.` in their file name.
    if (!elf.interpreter || base.includes(".so.")) {
      if (elf.soname.length === 0 && base.includes(".so")) warn(`library ${e.path} has no SONAME`);
      for (const soname of elf.soname) {
        if (HOST_PROVIDED_LIBRARIES.has(soname)) continue;
        const own = libraryProvides(soname, input.fullVersion);
        if (!libDirs.has(dir)) vendored.push(...own);
        else if (!options.noProvides) provides.push(...own);
      }
    }
  }

  if (
    pythonVersion &&
    !options.noDepends &&
    !(input.declaredRuntime ?? []).some((d) => d.startsWith("python"))
  ) {
    runtime.push(`python-${pythonVersion}-base`);
  }
  if (
    rubyVersion &&
    !options.noDepends &&
    !(input.declaredRuntime ?? []).some((d) => d === "ruby" || d.startsWith("ruby-"))
  ) {
    runtime.push(`ruby-${rubyVersion}`);
  }
  return { runtime: dedupSorted(runtime), provides: dedupSorted(provides), vendored: dedupSorted(vendored) };

  async function pkgConfig(e: PackageFsEntry, dir: string, base: string): Promise<void> {
    const text = await fs.read(e.path, MAX_PC_BYTES);
    if (!text) {
      warn(`${e.path}: pkg-config file too large to read`);
      return;
    }
    const pc = parsePkgConfig(text.toString("utf8"));
    const provide = `pc:${base.slice(0, -3)}=${input.fullVersion}`;
    if (!PC_DIRS.has(dir)) {
      if (!options.noProvides) vendored.push(provide);
      return;
    }
    if (!options.noProvides) provides.push(provide);
    if (!options.noDepends) for (const m of [...pc.requires, ...pc.requiresPrivate]) runtime.push(`pc:${m}`);
  }
}

/**
 * The regular file a library name resolves to in a package's library dirs. melange stats the
 * path, so a symlink there (libfoo.so.1 -> libfoo.so.1.0.0) counts: it is followed, inside the
 * package only and a few hops at most.
 */
async function findLibrary(fs: PackageFs, name: string): Promise<string | undefined> {
  for (const d of LIB_DIRS) {
    let p = `${d}/${name}`;
    for (let hop = 0; hop < 8; hop++) {
      const e = await fs.lookup(p);
      if (e?.type === "file") return p;
      if (e?.type !== "symlink" || !e.linkname) break;
      const target = e.linkname.startsWith("/")
        ? posix.normalize(e.linkname.slice(1))
        : posix.normalize(posix.join(posix.dirname(p), e.linkname));
      if (target.startsWith("../") || target === "..") break;
      p = target;
    }
  }
  return undefined;
}

/** The name part of a dependency or provide (`so:libc.so.6=6` -> `so:libc.so.6`, `foo>=1` -> `foo`). */
export function dependencyName(dep: string): string {
  const d = dep.startsWith("!") ? dep.slice(1) : dep;
  const m = /^[^=<>~]+/.exec(d);
  return (m ? m[0] : d).replace(/@.*$/, "");
}

export interface FinalDependencies {
  runtime: string[];
  provides: string[];
}

/**
 * The package's final relations, as melange writes them: declared + generated, sorted and deduped;
 * then every runtime dependency the package itself provides (or that names the package) is dropped.
 * Vendored names remove generated dependencies they satisfy, never declared ones.
 */
export function mergeDependencies(
  name: string,
  declared: { runtime: readonly string[]; provides: readonly string[] },
  detected: Detected,
): FinalDependencies {
  const vendoredNames = new Set(detected.vendored.map(dependencyName));
  const generated = detected.runtime.filter((d) => !vendoredNames.has(dependencyName(d)));
  const provides = dedupSorted([...declared.provides, ...detected.provides]);
  const provided = new Set([name, ...provides.map(dependencyName)]);
  const runtime = dedupSorted([...declared.runtime, ...generated])
    // melange 0.59 cuts the version off every `so-ver:` dependency (`so-ver:libx.so.1>=2` ->
    // `so-ver:libx.so.1`) while it drops the self-provided ones, and writes what is left so.
    .map((d) => (d.startsWith("so-ver:") ? d.split(">=")[0]! : d))
    .filter((d) => {
      if (d.startsWith("!")) return true; // a conflict is never "self-provided"
      return !provided.has(dependencyName(d));
    });
  return { runtime, provides };
}
