/**
 * What a runner does for a native build: run compiled steps against a workspace. The workspace is a
 * host directory that steps see at `/home/build` (bubblewrap binds it there; the host runner
 * rewrites the paths). Package emission happens afterwards, outside the runner.
 */
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
  /**
   * Wraps a step's command so it runs with the workspace mounted (an overlay of the source tree:
   * source/workspace.ts); absent when the workspace is a plain directory.
   */
  enter?: (command: string, args: string[]) => { command: string; args: string[] };
}

export { findOnPath } from "../../util/which";
