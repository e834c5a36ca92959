/**
 * Running one build step as a child process: the script melange runs (`set -e`, pipefail where the
 * shell has it, umask 022, create and enter the working directory), output forwarded line by line
 * and its tail kept for the error, a timeout that kills the whole process tree, and an error that
 * names the step, where it is written, and (for exit 127) the missing tool.
 */
import { spawn } from "node:child_process";
import { DistrolessError } from "../../util/errors";
import type { BuildStep } from "../recipe/plan";

const TAIL_LINES = 40;
const TAIL_LINE_CHARS = 500;

/** The shell text run with `/bin/sh -c`. */
export function stepScript(step: BuildStep, workingDirectory = step.workingDirectory): string {
  const wd = `'${workingDirectory.replace(/'/g, `'\\''`)}'`;
  return [
    "set -e",
    // pipefail is not POSIX: turn it on only where the shell knows it (bash, busybox ash, dash >= 0.5.11).
    "if (set -o pipefail) 2>/dev/null; then set -o pipefail; fi",
    "umask 022",
    `[ -d ${wd} ] || mkdir -p ${wd}`,
    `cd ${wd}`,
    step.script,
    "exit 0",
    "",
  ].join("\n");
}

/** Keeps the last lines of a process's output. */
export class OutputTail {
  private lines: string[] = [];
  private partial = "";

  push(chunk: string, onLine?: (line: string) => void): void {
    const parts = (this.partial + chunk).split("\n");
    this.partial = parts.pop() ?? "";
    for (const line of parts) this.add(line, onLine);
  }

  end(onLine?: (line: string) => void): void {
    if (this.partial) this.add(this.partial, onLine);
    this.partial = "";
  }

  private add(line: string, onLine?: (line: string) => void): void {
    const clipped = line.length > TAIL_LINE_CHARS ? `${line.slice(0, TAIL_LINE_CHARS)}…` : line;
    onLine?.(clipped);
    this.lines.push(clipped);
    if (this.lines.length > TAIL_LINES) this.lines.shift();
  }

  get text(): string {
    return this.lines.join("\n");
  }

  get all(): readonly string[] {
    return this.lines;
  }
}

/** A tool the shell could not find, from the tail of a failed step (`sh: foo: not found`). */
export function missingTool(tail: readonly string[]): string | undefined {
  for (let i = tail.length - 1; i >= 0; i--) {
    const line = tail[i]!;
    const m =
      /(?:^|: )([^\s:]+): (?:command )?not found\s*$/.exec(line) ??
      /exec: ([^\s:]+): not found/.exec(line) ??
      /can't execute '([^']+)': No such file or directory/.exec(line) ??
      /needs ([^\s,]+), which the build environment lacks/.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

export interface StepProcess {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface RunStepOptions {
  /** Each output line (stdout and stderr), for progress. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
  /** How the step is named in errors: `greeter: install greeter`. */
  label: string;
  /** What ran it, for errors (`bubblewrap`, `host`). */
  runner: string;
}

/** Runs the process; resolves on exit 0, otherwise throws E_BUILD naming the step with the output tail. */
export function runStepProcess(step: BuildStep, proc: StepProcess, options: RunStepOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const tail = new OutputTail();
    const child = spawn(proc.command, proc.args, {
      env: proc.env,
      ...(proc.cwd ? { cwd: proc.cwd } : {}),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so a timeout kills everything it started
    });
    let timedOut = false;
    const timer =
      options.timeoutMs && options.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            try {
              process.kill(-child.pid!, "SIGKILL");
            } catch {
              child.kill("SIGKILL");
            }
          }, options.timeoutMs)
        : undefined;
    child.stdout.setEncoding("utf8").on("data", (d: string) => tail.push(d, options.onLine));
    child.stderr.setEncoding("utf8").on("data", (d: string) => tail.push(d, options.onLine));
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      reject(
        new DistrolessError(
          "E_MISSING",
          `cannot start ${proc.command} for step "${options.label}": ${err.message}`,
          {
            cause: err,
          },
        ),
      );
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      tail.end(options.onLine);
      if (code === 0) {
        resolve();
        return;
      }
      const where = `${options.label} (${step.origin})`;
      const status = timedOut
        ? `timed out after ${Math.round((options.timeoutMs ?? 0) / 1000)} s`
        : signal
          ? `was killed by ${signal}`
          : `failed with exit code ${code}`;
      const tool = code === 127 ? missingTool(tail.all) : undefined;
      const needs = step.needsPackages.length
        ? ` (the step declares needs: ${step.needsPackages.join(", ")})`
        : "";
      const hint = tool
        ? `\nthe step needs \`${tool}\`, which the build environment does not have${needs}; add the package that provides it to environment.contents.packages`
        : "";
      const shown = tail.text
        ? `\n--- last output of the step ---\n${tail.text}`
        : "\n(the step printed nothing)";
      reject(
        new DistrolessError("E_BUILD", `step "${where}" ${status} [${options.runner} runner]${hint}${shown}`),
      );
    });
  });
}
