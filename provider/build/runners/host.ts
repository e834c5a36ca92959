/**
 * The host runner: steps run with the host's /bin/sh in a temporary workspace, without isolation,
 * for trusted recipes and machines without bubblewrap. The build environment's packages are not
 * installed (the host's tools are used); the build reports them.
 *
 * Compiled steps name guest paths (`/home/build/...`, `/var/cache/melange/...`); here they are
 * rewritten to the host workspace and cache directories: in the script, the working directory and
 * the environment values.
 */
import * as path from "node:path";
import { DistrolessError } from "../../util/errors";
import type { BuildStep } from "../recipe/plan";
import type { StepRunner, StepRunnerContext } from "./runner";
import { runStepProcess, stepScript } from "./step-process";

/** Replaces a guest path prefix where it stands as a whole path component. */
function replacePrefix(text: string, from: string, to: string): string {
  const escaped = from.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return text.replace(new RegExp(`${escaped}(?=$|[^A-Za-z0-9_.+-])`, "g"), to);
}

export function hostPathRewriter(
  ctx: Pick<StepRunnerContext, "workspace" | "cacheMount">,
): (text: string) => string {
  return (text) =>
    replacePrefix(replacePrefix(text, "/home/build", ctx.workspace), "/var/cache/melange", ctx.cacheMount);
}

export function hostRunner(ctx: StepRunnerContext): StepRunner {
  const rewrite = hostPathRewriter(ctx);
  return {
    name: "host",
    runStep: (step: BuildStep, label: string, timeoutMs?: number) => {
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(step.environment)) env[k] = rewrite(v);
      // The build environment's PATH names guest directories; the host's tools live on the host PATH.
      env.PATH = process.env.PATH ?? env.PATH ?? "/usr/bin:/bin";
      // Guest paths outside /home/build would be host paths here: refuse them instead.
      const wd = path.resolve(rewrite(step.workingDirectory));
      const rel = path.relative(ctx.workspace, wd);
      if (rel.startsWith("..") || path.isAbsolute(rel)) {
        return Promise.reject(
          new DistrolessError(
            "E_HOSTILE",
            `step "${label}" (${step.origin}): working-directory ${step.workingDirectory} is outside /home/build, which the host runner cannot sandbox; use the bubblewrap runner`,
          ),
        );
      }
      const script = stepScript({ ...step, script: rewrite(step.script) }, wd);
      const shell = { command: "/bin/sh", args: ["-c", script] };
      return runStepProcess(
        step,
        { ...(ctx.enter ? ctx.enter(shell.command, shell.args) : shell), env, cwd: ctx.workspace },
        {
          label,
          runner: "host",
          ...(ctx.onLine ? { onLine: ctx.onLine } : {}),
          ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        },
      );
    },
  };
}
