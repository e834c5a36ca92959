/**
 * Helpers of the whole-command benches (bench/commands.ts): run a command as its own process,
 * alternate ours with the yardstick, report medians and the ratio beside the goal.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { projectRoot } from "../../test/helpers/fixtures";
import { median, rng } from "../_common";

/**
 * The package's bin (launch.js: the bundled CLI with its code cache). PD_BENCH_CLI=/other/checkout/
 * dist/provider/cli/main.js times another build (a "before" figure).
 */
export const CLI = process.env.PD_BENCH_CLI ?? path.join(projectRoot, "dist", "provider", "cli", "launch.js");

/**
 * The node that runs the commands and the `node -e 0` yardstick: `--node PATH` (e.g. Node 24's),
 * else this one. It goes first on PATH too, for the bin's sh header, which execs `node`.
 */
export const NODE = (() => {
  const i = process.argv.indexOf("--node");
  return i >= 0 ? path.resolve(process.argv[i + 1] ?? "") : process.execPath;
})();
process.env.PATH = `${path.dirname(NODE)}${path.delimiter}${process.env.PATH ?? ""}`;

export interface Run {
  seconds: number;
  /** Peak RSS of the command's process (the biggest process of a pipeline), MiB. */
  rssMib: number;
  /**
   * CPU seconds (user + system) of the command and its children: steadier than wall time when
   * other work shares the machine.
   */
  cpu: number;
}

/**
 * Runs argv (a shell script when argv is ["sh", "-c", ...]) under /usr/bin/time for its peak RSS;
 * the wall time is taken here. A failure throws with its stderr.
 */
export function timeCommand(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const rssFile = path.join(os.tmpdir(), `pd-bench-rss-${process.pid}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-q", "-o", rssFile, "-f", "%M %U %S", ...argv], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: "utf8",
    maxBuffer: 64 << 20,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}):\n${r.stderr}`);
  const last = readFileSync(rssFile, "utf8").trim().split("\n").pop() ?? "";
  const [rssKb = 0, user = 0, system = 0] = last.split(" ").map(Number);
  rmSync(rssFile, { force: true });
  return { seconds, rssMib: rssKb / 1024, cpu: user + system };
}

/**
 * The bin as a user runs it: launch.js itself, whose sh header starts node (PD_BENCH_CLI: another
 * build's launch.js or main.js, run with node when it has no sh header).
 */
export function cli(...args: string[]): string[] {
  return readFileSync(CLI, "utf8").startsWith("#!/bin/sh\n")
    ? ["/bin/sh", CLI, ...args]
    : [NODE, CLI, ...args];
}

/**
 * Alternates ours and the yardstick `rounds` times (each preceded by `before`, untimed), so load
 * from other work on the machine falls on both alike.
 */
export function alternate(
  rounds: number,
  ours: () => Run,
  yardstick: () => Run,
  before: () => void = () => {},
): { ours: Run[]; yardstick: Run[] } {
  const a: Run[] = [];
  const b: Run[] = [];
  for (let i = 0; i < rounds; i++) {
    before();
    a.push(ours());
    before();
    b.push(yardstick());
  }
  return { ours: a, yardstick: b };
}

export type Goal =
  | { kind: "ratio"; max: number }
  /** Ours may exceed the yardstick by this many milliseconds. */
  | { kind: "plusMs"; max: number };

/** Prints one row: medians, the ratio (or difference) and the goal, with the RSS of both. */
export function report(
  row: string,
  oursLabel: string,
  yardLabel: string,
  runs: { ours: Run[]; yardstick: Run[] },
  goal: Goal,
  rssGoal?: number,
): void {
  const o = median(runs.ours.map((r) => r.seconds));
  const y = median(runs.yardstick.map((r) => r.seconds));
  const oRss = median(runs.ours.map((r) => r.rssMib));
  const yRss = median(runs.yardstick.map((r) => r.rssMib));
  const oCpu = median(runs.ours.map((r) => r.cpu));
  const yCpu = median(runs.yardstick.map((r) => r.cpu));
  const fmt = (s: number) => (s < 1 ? `${(s * 1000).toFixed(0)} ms` : `${s.toFixed(2)} s`);
  const list = (xs: Run[]) => xs.map((r) => fmt(r.seconds)).join(" ");
  console.log(
    `\n[${row}] medians of ${runs.ours.length} alternating runs, load ${os.loadavg()[0]!.toFixed(1)}`,
  );
  console.log(
    `  ours      ${fmt(o).padStart(9)}  CPU ${fmt(oCpu)}  RSS ${oRss.toFixed(0)} MiB   ${oursLabel}   (runs: ${list(runs.ours)})`,
  );
  console.log(
    `  yardstick ${fmt(y).padStart(9)}  CPU ${fmt(yCpu)}  RSS ${yRss.toFixed(0)} MiB   ${yardLabel}   (runs: ${list(runs.yardstick)})`,
  );
  if (goal.kind === "ratio") {
    const ratio = o / y;
    console.log(
      `  ratio     ${ratio.toFixed(2)}x   goal <= ${goal.max}x   ${ratio <= goal.max ? "ok" : "OVER"}` +
        ` (CPU ratio ${(oCpu / yCpu).toFixed(2)}x)` +
        (rssGoal === undefined
          ? ""
          : `; RSS ratio ${(oRss / yRss).toFixed(1)}x goal <= ${rssGoal}x ${oRss / yRss <= rssGoal ? "ok" : "OVER"}`),
    );
  } else {
    const plus = (o - y) * 1000;
    console.log(
      `  ours - yardstick  +${plus.toFixed(0)} ms   goal <= +${goal.max} ms   ${plus <= goal.max ? "ok" : "OVER"}` +
        ` (CPU +${((oCpu - yCpu) * 1000).toFixed(0)} ms)`,
    );
  }
}

/**
 * A deterministic tree of about `mb` MiB under dir/usr in `files` files: 60% text-like (compresses
 * ~3:1), 40% random, sizes spread around the mean. Returns the bytes written.
 */
export function makeTree(dir: string, mb: number, files: number): number {
  const rand = rng(11);
  const words = "lorem ipsum dolor sit amet server listen port value true false null return const".split(" ");
  let corpus = "";
  while (corpus.length < 4 << 20) {
    corpus += `${Array.from({ length: 8 }, () => words[Math.floor(rand() * words.length)]).join(" ")} ${Math.floor(rand() * 1e5)}\n`;
  }
  const text = Buffer.from(corpus);
  const mean = Math.floor((mb << 20) / files);
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const d = path.join(dir, "usr", "share", "bench", `d${i % 37}`, `s${i % 7}`);
    mkdirSync(d, { recursive: true });
    const n = Math.max(1, Math.floor(mean * (0.2 + 1.6 * rand())));
    const start = Math.floor(rand() * (text.length - n - 1));
    const body = rand() < 0.6 ? text.subarray(start, start + n) : randomBytes(n);
    writeFileSync(path.join(d, `f${i}`), body);
    bytes += n;
  }
  return bytes;
}

export function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
