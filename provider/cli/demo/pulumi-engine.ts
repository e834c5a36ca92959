import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { DistrolessError } from "../../util/errors";
import type { CliContext } from "../command";
import { runInline } from "./inline-program";

const PROJECT = "pulumi-distroless-demo";

/**
 * `pulumi up` of examples/demo through the real CLI and engine, on a local file backend under the
 * work directory (stack `demo`, passphrase secrets). The program runs as an automation-API inline
 * program (see inline-program.ts for why); config and stack selection go through the CLI itself.
 */
export async function upWithPulumi(
  pulumi: string,
  root: string,
  work: string,
  registryHost: string,
  ctx: CliContext,
): Promise<{ outputs: Record<string, unknown>; counts: { changed: number; total: number } }> {
  const state = path.join(work, "pulumi-state");
  mkdirSync(state, { recursive: true });
  // The project directory lives in the work directory, so the stack's config file (and its
  // encryption salt) stays beside the state it belongs to, not in the checkout; node_modules links
  // to the checkout's, where the dynamic-provider plugin and the program find their packages.
  const project = path.join(work, "project");
  mkdirSync(project, { recursive: true });
  writeFileSync(
    path.join(project, "Pulumi.yaml"),
    `name: ${PROJECT}\nruntime: nodejs\ndescription: the pulumi-distroless demo (examples/demo)\n`,
  );
  const modules = path.join(project, "node_modules");
  if (!existsSync(modules)) symlinkSync(path.join(root, "node_modules"), modules);
  const env: Record<string, string> = {
    PULUMI_BACKEND_URL: `file://${state}`,
    PULUMI_CONFIG_PASSPHRASE: ctx.env.PULUMI_CONFIG_PASSPHRASE ?? "demo",
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  const cli = (argv: string[]) => {
    const r = spawnSync(pulumi, [...argv, "--non-interactive"], {
      cwd: project,
      env: { ...ctx.env, ...env },
      encoding: "utf8",
    });
    if (r.status !== 0)
      throw new DistrolessError(
        "E_BUILD",
        `pulumi ${argv.join(" ")} failed: ${(r.stderr || r.stdout).trim()}`,
        {
          subject: pulumi,
        },
      );
  };
  cli(["stack", "select", "demo", "--create"]);
  cli(["config", "set", "workDir", work, "--stack", "demo"]);
  cli(["config", "set", "registry", registryHost, "--stack", "demo"]);
  const result = await runInline({
    op: "up",
    dir: project,
    program: path.join(root, "dist", "examples", "demo", "index.js"),
    stack: "demo",
    pulumi,
    env,
    onOutput: (text) => ctx.stdout(text),
  });
  // The engine counts the stack itself too (created on the first run, then the same).
  const total = Object.values(result.changes).reduce((a, b) => a + b, 0);
  const own = Math.max(0, total - 1);
  return {
    outputs: result.outputs,
    counts: { changed: Math.min(own, total - (result.changes.same ?? 0)), total: own },
  };
}
