/**
 * Which architectures a build may produce on this machine. melange builds every arch a recipe
 * targets (`target-architecture`, default all of apko's), running foreign ones through qemu-user
 * registered with binfmt_misc. A step that runs on an arch the machine cannot execute either fails
 * with "exec format error" deep in the build or, with the host runner, runs the host's own tools
 * and ships host binaries labelled as another arch. So an arch is built only when it can run:
 *   - natively (the host's arch), or
 *   - in a sandbox (bubblewrap, melange) through an enabled qemu-user binfmt handler registered
 *     with the F (fix-binary) flag, whose interpreter the kernel opened already and so works
 *     inside a guest root that does not contain it.
 * The host runner can only build the host's arch: emulation does not change the host's tools.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type ApkArch, hostArch, parseArch, sortArchs } from "../image/config/arch";
import { DistrolessError } from "../util/errors";
import type { RunnerName } from "./runners/runner";

/** apko's AllArchs as apk names: what `target-architecture: [all]` (or none) means. */
export const ALL_ARCHS: readonly ApkArch[] = [
  "x86",
  "x86_64",
  "aarch64",
  "armhf",
  "armv7",
  "loongarch64",
  "ppc64le",
  "riscv64",
  "s390x",
];

/** The binfmt_misc handler names Debian's qemu-user-static (binfmt-support) registers per arch. */
const QEMU_HANDLERS: Record<ApkArch, string[]> = {
  x86: ["qemu-i386", "qemu-i486"],
  x86_64: ["qemu-x86_64"],
  aarch64: ["qemu-aarch64"],
  armhf: ["qemu-arm"],
  armv7: ["qemu-arm"],
  ppc64le: ["qemu-ppc64le"],
  s390x: ["qemu-s390x"],
  riscv64: ["qemu-riscv64"],
  loongarch64: ["qemu-loongarch64"],
};

export const BINFMT_DIR = "/proc/sys/fs/binfmt_misc";

export type ArchSupport =
  | { runnable: true; how: "native" | "emulated" }
  | { runnable: false; reason: string };

function handlerState(dir: string, name: string): { enabled: boolean; fixBinary: boolean } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, name), "utf8");
  } catch {
    return undefined;
  }
  const lines = text.split("\n").map((l) => l.trim());
  const flags =
    lines
      .find((l) => l.startsWith("flags:"))
      ?.slice("flags:".length)
      .trim() ?? "";
  return { enabled: lines.includes("enabled"), fixBinary: flags.includes("F") };
}

/** Whether `arch` can be built here with `runner`, and if not, why and how to make it possible. */
export function archSupport(arch: ApkArch, runner: RunnerName, binfmtDir = BINFMT_DIR): ArchSupport {
  const host = hostArch();
  if (arch === host) return { runnable: true, how: "native" };
  if (runner === "host") {
    return {
      runnable: false,
      reason: `the host runner runs this machine's (${host}) tools, so it can only build ${host}; build ${arch} in a sandbox (--runner bubblewrap) with a qemu-user emulator registered, or on a ${arch} machine`,
    };
  }
  const howTo = `install qemu-user-static and register it with binfmt_misc (Debian: apt-get install qemu-user-static binfmt-support; in a container the host must register it, e.g. docker run --privileged --rm tonistiigi/binfmt --install ${arch})`;
  if (!fs.existsSync(path.join(binfmtDir, "status"))) {
    return {
      runnable: false,
      reason: `binfmt_misc is not mounted at ${binfmtDir}, so no emulator can run ${arch} binaries; ${howTo}`,
    };
  }
  for (const name of QEMU_HANDLERS[arch]) {
    const state = handlerState(binfmtDir, name);
    if (!state) continue;
    if (!state.enabled) {
      return {
        runnable: false,
        reason: `the ${name} binfmt handler is registered but disabled; enable it (update-binfmts --enable ${name})`,
      };
    }
    if (!state.fixBinary) {
      return {
        runnable: false,
        reason: `the ${name} binfmt handler lacks the F (fix-binary) flag, so its interpreter is not reachable inside the build sandbox; register it with F (qemu-user-static's handlers have it)`,
      };
    }
    return { runnable: true, how: "emulated" };
  }
  return {
    runnable: false,
    reason: `no qemu-user binfmt handler for ${arch} is registered (${QEMU_HANDLERS[arch].join(" or ")}); ${howTo}`,
  };
}

/** The arches a recipe targets: its `target-architecture`, all of apko's for none or `all`. */
export function recipeTargets(targetArchitecture: readonly string[] | undefined): ApkArch[] {
  const list = targetArchitecture ?? [];
  if (list.length === 0 || list.includes("all")) return [...ALL_ARCHS];
  // Names with substitutions in them cannot be known before compiling; they are left to the build.
  return sortArchs(new Set(list.map((a) => parseArch(a)).filter((a): a is ApkArch => a !== undefined)));
}

export interface ChosenArchs {
  archs: ApkArch[];
  /** Targets left out because they cannot run here, each with the reason. */
  skipped: { arch: ApkArch; reason: string }[];
}

/**
 * The archs to build. Asked-for archs (`--arch`, ApkPackage `archs`) must each be buildable, or the
 * whole build is refused naming the arch; a recipe's own targets are built where they can run and
 * the others reported (melange also skips archs the recipe does not target).
 */
export function chooseArchs(options: {
  targets: readonly ApkArch[];
  requested?: readonly ApkArch[];
  runner: RunnerName;
  binfmtDir?: string;
}): ChosenArchs {
  const support = (a: ApkArch) => archSupport(a, options.runner, options.binfmtDir);
  if (options.requested && options.requested.length > 0) {
    const archs: ApkArch[] = [];
    const skipped: ChosenArchs["skipped"] = [];
    for (const arch of new Set(options.requested)) {
      if (!options.targets.includes(arch)) {
        skipped.push({ arch, reason: "the recipe's target-architecture does not include it" });
        continue;
      }
      const s = support(arch);
      if (!s.runnable)
        throw new DistrolessError("E_CONFIG", `cannot build ${arch} here: ${s.reason}`, { subject: arch });
      archs.push(arch);
    }
    if (archs.length === 0) {
      throw new DistrolessError(
        "E_CONFIG",
        `the recipe's target-architecture (${options.targets.join(", ")}) includes none of ${[...new Set(options.requested)].join(", ")}: nothing to build`,
      );
    }
    return { archs, skipped };
  }
  const archs: ApkArch[] = [];
  const skipped: ChosenArchs["skipped"] = [];
  for (const arch of options.targets) {
    const s = support(arch);
    if (s.runnable) archs.push(arch);
    else skipped.push({ arch, reason: s.reason });
  }
  if (archs.length === 0) {
    throw new DistrolessError(
      "E_CONFIG",
      `none of the recipe's target architectures can be built here: ${skipped.map((s) => `${s.arch} (${s.reason})`).join("; ")}`,
    );
  }
  return { archs, skipped };
}

/** One line for the skipped archs (all of apko's are many): which, and why the first one was. */
export function skippedNotice(chosen: ChosenArchs): string | undefined {
  const first = chosen.skipped[0];
  if (!first) return undefined;
  return `not building ${chosen.skipped.map((s) => s.arch).join(", ")}: ${first.reason}`;
}
