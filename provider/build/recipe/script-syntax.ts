/**
 * melange parses every compiled `runs` script as shell (to strip its comments) and refuses a recipe
 * whose script does not parse, before anything runs. We check the same thing with the shell's own
 * parser (`bash -n`: melange's parser reads bash, so a bash-only construct is not an error), naming
 * the step's file, line and field.
 */
import { spawnSync } from "node:child_process";
import { DistrolessError } from "../../util/errors";
import type { BuildPlan, BuildStep } from "./plan";

function shellFor(): string {
  return spawnSync("bash", ["-c", ":"]).status === 0 ? "bash" : "sh";
}

/** Throws E_CONFIG naming the first step whose script the shell cannot parse. */
export function checkScriptSyntax(plan: BuildPlan): void {
  const shell = shellFor();
  const steps: BuildStep[] = [...plan.steps, ...plan.subpackages.flatMap((sp) => sp.steps)];
  for (const step of steps) {
    const res = spawnSync(shell, ["-n"], { input: step.script, encoding: "utf8" });
    if (res.error) throw res.error;
    if (res.status !== 0) {
      // The shell names its input "bash: line N:"; keep the part that says what is wrong.
      const why =
        res.stderr
          .trim()
          .split("\n")[0]
          ?.replace(/^[^:]*: (line \d+: )?/, "") ?? "";
      throw new DistrolessError("E_CONFIG", `${step.origin}.runs: not valid shell (${why})`, {
        subject: step.origin,
      });
    }
  }
}
