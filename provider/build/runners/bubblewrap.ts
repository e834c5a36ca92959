/**
 * The bubblewrap runner: each step runs in `bwrap` with the (cached, shared) guest root mounted
 * read-only at `/`, the workspace at /home/build, the build's own cache dir at /var/cache/melange
 * (shared downloads bound into it read-only: environment/build-cache.ts), fresh tmpfs on
 * /tmp and /run, and melange's isolation flags (`--unshare-pid --die-with-parent --new-session
 * --dev /dev --proc /proc --clearenv`). The step's environment is set with `--setenv`.
 *
 * run-as: the recipe's `accounts.run-as` (default `build`, uid/gid 1000) becomes
 * `--unshare-user --uid U --gid G`. Run as root on the host, that still works: bwrap maps the one
 * sandbox uid onto the caller's, so files the step creates in the workspace are owned by the
 * caller (root) outside. Without `--unshare-user`, bwrap refuses `--uid` ("Specifying --uid
 * requires --unshare-user or --userns"). `run-as: root` is uid 0 inside a user namespace too:
 * bwrap run by root without one would leave the step the host's full capability set.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat } from "node:fs/promises";
import type { ApkoConfig } from "../../image/config/types";
import { DistrolessError } from "../../util/errors";
import { resolveInRoot } from "../environment/extract";
import { type BuildStep, WORKSPACE } from "../recipe/plan";
import type { StepRunner, StepRunnerContext } from "./runner";
import { runStepProcess, stepScript } from "./step-process";

export interface BubblewrapOptions extends StepRunnerContext {
  /** Shared cache entries bound read-only over mount points in `cacheMount` (see build-cache.ts). */
  cacheSeeds?: { name: string; file: string }[];
  /** The guest root directory (mounted read-only at /). */
  guestRoot: string;
  environment: ApkoConfig;
  /** Share the host's network (default true: `fetch` and `git-checkout` need it). */
  network?: boolean;
  /** Recipe `capabilities`, passed to bwrap (they apply to a root sandbox only). */
  capabilities?: { add: string[]; drop: string[] };
  bwrapPath?: string;
}

/** uid/gid the steps run as, from `accounts.run-as` (a user name or a number). */
export function runAsIds(env: ApkoConfig): { uid: number; gid: number } {
  const runAs = env.accounts.runAs ?? "build";
  if (runAs === "root" || runAs === "0") return { uid: 0, gid: 0 };
  if (/^\d+$/.test(runAs)) {
    const uid = Number(runAs);
    const user = env.accounts.users.find((u) => u.uid === uid);
    return { uid, gid: user?.gid ?? uid };
  }
  const user = env.accounts.users.find((u) => u.username === runAs);
  if (!user) {
    throw new DistrolessError(
      "E_CONFIG",
      `run-as names user "${runAs}", which the environment's accounts do not define`,
      {
        subject: `${env.source}: environment.accounts.run-as`,
      },
    );
  }
  return { uid: user.uid, gid: user.gid };
}

let bwrapChecked: string | undefined;

/** Throws E_MISSING when bwrap cannot run here; returns its version line. */
export function checkBubblewrap(bwrapPath = "bwrap"): string {
  if (bwrapChecked) return bwrapChecked;
  const res = spawnSync(bwrapPath, ["--version"], { encoding: "utf8" });
  if (res.error || res.status !== 0) {
    throw new DistrolessError(
      "E_MISSING",
      `bubblewrap (${bwrapPath}) is not available here (${res.error?.message ?? res.stderr.trim()}); install bubblewrap, or use the host runner for trusted recipes`,
    );
  }
  bwrapChecked = res.stdout.trim();
  return bwrapChecked;
}

function capName(c: string): string {
  const up = c.toUpperCase();
  return up.startsWith("CAP_") ? up : `CAP_${up}`;
}

/** The bwrap argument list for one step (exported for tests and the report of what runs). */
export function bwrapArgs(options: BubblewrapOptions, step: BuildStep, script: string): string[] {
  const { uid, gid } = runAsIds(options.environment);
  const args = [
    "--ro-bind",
    options.guestRoot,
    "/",
    "--bind",
    options.workspace,
    WORKSPACE,
    "--bind",
    options.cacheMount,
    "/var/cache/melange",
    ...(options.cacheSeeds ?? []).flatMap((s) => ["--ro-bind", s.file, `/var/cache/melange/${s.name}`]),
    "--tmpfs",
    "/tmp",
    "--tmpfs",
    "/run",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--unshare-pid",
    "--die-with-parent",
    "--new-session",
    "--clearenv",
  ];
  // Always a user namespace, also for run-as root: without one, bwrap run by root keeps the host's
  // capabilities in the sandbox; inside one, root's capabilities only reach the sandbox's own
  // namespaces.
  args.push("--unshare-user", "--uid", String(uid), "--gid", String(gid));
  if (options.network === false) args.push("--unshare-net");
  else {
    // DNS and host names for fetch/git-checkout: the guest has empty placeholders to mount over.
    for (const f of ["/etc/resolv.conf", "/etc/hosts"]) if (existsSync(f)) args.push("--ro-bind-try", f, f);
  }
  for (const c of options.capabilities?.add ?? []) args.push("--cap-add", capName(c));
  for (const c of options.capabilities?.drop ?? []) args.push("--cap-drop", capName(c));
  for (const [k, v] of Object.entries(step.environment)) args.push("--setenv", k, v);
  args.push("--chdir", WORKSPACE, "/bin/sh", "-c", script);
  return args;
}

export async function bubblewrapRunner(options: BubblewrapOptions): Promise<StepRunner> {
  const bwrap = options.bwrapPath ?? "bwrap";
  checkBubblewrap(bwrap);
  // Fail early, before any step, if the guest has no shell to run steps with (resolved inside the
  // guest: /bin/sh is usually a symlink to /bin/busybox or /usr/bin/bash).
  const sh = await lstat(await resolveInRoot(options.guestRoot, "bin/sh", true)).catch(() => undefined);
  if (!sh?.isFile()) {
    throw new DistrolessError(
      "E_MISSING",
      `the build environment has no /bin/sh (it holds: ${options.environment.contents.packages.join(", ") || "nothing"}); add a shell package (e.g. busybox) to environment.contents.packages`,
      { subject: options.environment.source },
    );
  }
  return {
    name: "bubblewrap",
    runStep: (step, label, timeoutMs) =>
      runStepProcess(
        step,
        {
          ...(options.enter
            ? options.enter(bwrap, bwrapArgs(options, step, stepScript(step)))
            : { command: bwrap, args: bwrapArgs(options, step, stepScript(step)) }),
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
        },
        {
          label,
          runner: "bubblewrap",
          ...(options.onLine ? { onLine: options.onLine } : {}),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        },
      ),
  };
}
