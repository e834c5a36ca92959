/**
 * What a runner does for a native build: run compiled steps against a workspace. The workspace is a
 * host directory that steps see at `/home/build` (bubblewrap binds it there; the host runner
 * rewrites the paths). Package emission happens afterwards, outside the runner.
 */
import { access, constants } from "node:fs/promises";
import * as path from "node:path";
import type { BuildStep } from "../recipe/plan";

export type RunnerName = "bubblewrap" | "host" | "melange";

export interface StepRunner {
  readonly name: Exclude<RunnerName, "melange">;
  /**
   * Runs one step; throws DistrolessError(E_BUILD) naming the step, with the tail of its output.
   * `timeoutMs`: what is left of the recipe's package.timeout.
   */
  runStep(step: BuildStep, label: string, timeoutMs?: number): Promise<void>;
}

export interface StepRunnerContext {
  /** Host directory seen by steps as /home/build. */
  workspace: string;
  /** Host directory seen by steps as /var/cache/melange (fetch cache, GOMODCACHE...). */
  cacheMount: string;
  /** Step output lines (for progress). */
  onLine?: (line: string) => void;
}

/** Finds a program on PATH (`undefined` when absent). */
export async function findOnPath(
  program: string,
  envPath = process.env.PATH ?? "",
): Promise<string | undefined> {
  for (const dir of envPath.split(":")) {
    if (!dir) continue;
    const p = path.join(dir, program);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
