/**
 * The linters that look into files or across the tree: unstripped and foreign-arch ELF files,
 * empty packages, Python site-packages layout, duplicate files and names that point at other
 * platforms or architectures.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import * as path from "node:path";
import { readElfFile } from "../detect/elf";
import { elfSectionNames } from "./elf-sections";
import {
  allPaths,
  elfCandidates,
  ext,
  ignored,
  isDir,
  type Linter,
  type LintFinding,
  type LintTarget,
  plural,
} from "./linter-kit";

/** The entries of usr/lib/python3.*\/site-packages, or an error when several Python versions exist. */
function sitePackages(t: LintTarget): { paths: string[] } | { error: string } {
  const versions = t.entries.filter((e) => /^usr\/lib\/python3\.[^/]*$/.test(e.path));
  if (versions.length === 0) return { paths: [] };
  if (versions.length > 1)
    return { error: `more than one Python version detected: ${versions.length} found` };
  const prefix = `${versions[0]!.path}/site-packages/`;
  return {
    paths: t.entries
      .filter((e) => e.path.startsWith(prefix) && !e.path.slice(prefix.length).includes("/"))
      .map((e) => e.path),
  };
}

function pythonCheck(pick: (bases: string[], paths: string[]) => LintFinding | undefined): Linter["check"] {
  return async (t) => {
    const site = sitePackages(t);
    if ("error" in site) return { message: site.error, paths: [] };
    return pick(
      site.paths.map((p) => path.posix.basename(p)),
      site.paths,
    );
  };
}

async function sha256File(file: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

const LICENSE_FILE = /^(?:LICEN[CS]E|COPYING|COPYRIGHT|NOTICE|UNLICENSE)(?:[-_.].*)?$/i;

const ARCH_OF_MACHINE: Record<number, string> = {
  62: "amd64",
  183: "arm64",
  3: "i386",
  40: "arm",
  21: "ppc64",
  22: "s390",
  8: "mips",
  243: "riscv",
};

const UNSUPPORTED_ARCHS = [
  "i386",
  "i686",
  "x86_32",
  "x86-32",
  "ppc64",
  "ppc64le",
  "powerpc",
  "s390x",
  "s390",
  "mips",
  "mipsel",
  "mips64",
  "riscv",
  "riscv64",
  "sparc",
  "sparc64",
  "ia64",
  "m68k",
];
const SUPPORTED_ARCHS = ["aarch64", "arm64", "amd64", "x86_64", "x86-64"];
const NON_LINUX: Record<string, string[]> = {
  macos: ["darwin", "macos", "mac_os", "mac-os", "osx", "os_x", "os-x"],
  windows: ["windows", "win32", "win64"],
};

/**
 * A path that holds none of `words` anywhere cannot match a check made of `includes` on its dir and
 * base name: one regex per path instead of dozens of strings built per path (a 4,400-file package
 * spent ~100 ms in these two linters).
 */
function anyOf(words: readonly string[]): RegExp {
  return new RegExp(words.map((w) => w.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&")).join("|"));
}
const MAY_BE_UNSUPPORTED_ARCH = anyOf(UNSUPPORTED_ARCHS);
const MAY_BE_NON_LINUX = anyOf(Object.values(NON_LINUX).flat());

export const CONTENT_LINTERS: readonly Linter[] = [
  {
    name: "strip",
    explain: "Properly strip all binaries in the pipeline",
    behavior: "warn",
    check: async (t) => {
      const paths: string[] = [];
      for (const e of elfCandidates(t)) {
        const sections = await elfSectionNames(path.join(t.dir, e.path));
        if (sections?.some((s) => s === ".debug" || s === ".zdebug")) paths.push(e.path);
      }
      if (paths.length === 0) return undefined;
      return {
        message: `${t.name} contains ${paths.length} unstripped ${plural(paths.length, "binary", "binaries")}`,
        paths,
      };
    },
  },
  {
    name: "empty",
    explain:
      "Verify that this package is supposed to be empty; if it is, disable this linter; otherwise check the build",
    behavior: "ignore",
    check: async (t) =>
      t.entries.some((e) => !isDir(e) && !ignored(e.path))
        ? undefined
        : { message: "package is empty but no-provides is not set", paths: [] },
  },
  {
    name: "python/docs",
    explain: "Remove all docs directories from the package",
    behavior: "warn",
    check: pythonCheck((bases, paths) => {
      const i = bases.findIndex((b) => b === "doc" || b === "docs");
      return i < 0
        ? undefined
        : { message: "docs directory encountered in Python site-packages directory", paths: [paths[i]!] };
    }),
  },
  {
    name: "python/multiple",
    explain:
      "Split this package up into multiple packages and verify you are not improperly using pip install",
    behavior: "warn",
    check: pythonCheck((bases) => {
      const found = new Set<string>();
      for (const b of bases) {
        if (b.startsWith("_") || ["test", "tests", "doc", "docs"].includes(b)) continue;
        const e = ext(b);
        if ([".egg-info", ".dist-info", ".pth"].includes(e)) continue;
        // melange keeps the first len(ext) characters here (not the name without its extension);
        // kept as it is so the same trees warn.
        const name = e.length > 0 ? b.slice(0, e.length) : b;
        if (name === "") continue;
        found.add(JSON.stringify(name));
      }
      if (found.size <= 1) return undefined;
      const list = [...found].sort();
      return {
        message: `multiple Python packages detected: ${list.length} found (${list.join(", ")})`,
        paths: [],
      };
    }),
  },
  {
    name: "python/test",
    explain: "Remove all test directories from the package",
    behavior: "warn",
    check: pythonCheck((bases, paths) => {
      const i = bases.findIndex((b) => b === "test" || b === "tests");
      return i < 0
        ? undefined
        : { message: "tests directory encountered in Python site-packages directory", paths: [paths[i]!] };
    }),
  },
  {
    name: "binaryarch",
    explain:
      "This package contains binaries compiled for unsupported architectures (only aarch64/arm64 and amd64/x86_64 binaries are supported)",
    behavior: "warn",
    check: async (t) => {
      const paths: string[] = [];
      for (const e of elfCandidates(t)) {
        const info = await readElfFile(path.join(t.dir, e.path)).catch(() => undefined);
        if (!info) continue;
        const arch = ARCH_OF_MACHINE[info.machine] ?? `unknown (${info.machine})`;
        if (arch !== "amd64" && arch !== "arm64") paths.push(`${e.path} (${arch})`);
      }
      if (paths.length === 0) return undefined;
      return {
        message: `${t.name} contains ${paths.length} ${plural(paths.length, "binary", "binaries")} for unsupported architectures`,
        paths,
      };
    },
  },
  {
    name: "duplicate",
    explain:
      "This package contains files with the same name and content in different directories (consider symlinking)",
    behavior: "warn",
    check: async (t) => {
      // Files with the same name and content have the same size: only a name and size shared by
      // several files needs their contents hashed (the findings are the same as hashing every file).
      const candidates = new Map<string, string[]>();
      for (const e of t.entries) {
        if (e.type !== "file" || e.size < 1024) continue;
        const base = path.posix.basename(e.path);
        if (LICENSE_FILE.test(base)) continue;
        const key = `${e.size}/${base}`;
        candidates.set(key, [...(candidates.get(key) ?? []), e.path]);
      }
      const groups = new Map<string, string[]>();
      for (const paths of candidates.values()) {
        if (paths.length < 2) continue;
        for (const p of paths) {
          const key = `${await sha256File(path.join(t.dir, p))}/${path.posix.basename(p)}`;
          groups.set(key, [...(groups.get(key) ?? []), p]);
        }
      }
      const dups = [...groups.values()].filter((g) => g.length > 1);
      if (dups.length === 0) return undefined;
      return {
        message: `${t.name} contains ${dups.length} set(s) of duplicate files`,
        paths: dups.flat(),
      };
    },
  },

  {
    name: "nonlinux",
    explain: "This package contains references to non-Linux paths",
    behavior: "warn",
    check: allPaths(
      (e) => {
        if (isDir(e)) return false;
        if (!MAY_BE_NON_LINUX.test(e.path.toLowerCase())) return false;
        const dir = path.posix.dirname(e.path).toLowerCase();
        const base = path.posix.basename(e.path).toLowerCase();
        return Object.values(NON_LINUX).some((vs) => vs.some((v) => dir.includes(v) || base.includes(v)));
      },
      (t, p) => `${t.name} contains ${p.length} non-Linux reference(s)`,
    ),
  },
  {
    name: "unsupportedarch",
    explain:
      "This package contains references to unsupported architectures (only aarch64/arm64 and amd64/x86_64 are supported)",
    behavior: "warn",
    check: allPaths(
      (e) => {
        if (isDir(e)) return false;
        const lower = e.path.toLowerCase();
        if (!MAY_BE_UNSUPPORTED_ARCH.test(lower)) return false;
        const dir = path.posix.dirname(lower);
        const base = path.posix.basename(lower);
        return UNSUPPORTED_ARCHS.some((a) => {
          if (dir.includes(`/${a}/`) || dir.includes(`/${a}`)) return true;
          const named = ["-", "_", "."].some(
            (s) => base.includes(`${s}${a}${s}`) || base.includes(`${s}${a}.`) || base.endsWith(`${s}${a}`),
          );
          return named && !SUPPORTED_ARCHS.some((s) => lower.includes(s));
        });
      },
      (t, p) => `${t.name} contains ${p.length} unsupported architecture reference(s)`,
    ),
  },
];
