/**
 * Removes a build's scratch directory (the workspace, a whole package's worth of files). Node's
 * recursive `fs.rm` makes a thread-pool round trip per entry: for a 4,400-file workspace it cost
 * ~0.7 s of CPU where `rm -rf` costs ~0.15 s (bench/commands, package row). `rm` runs as a child,
 * so the event loop stays free; without one (or when it fails) Node removes what it can.
 */
import { spawn } from "node:child_process";
import * as fsp from "node:fs/promises";

function rmRf(dir: string): Promise<boolean> {
  return new Promise((resolve) => {
    // `--` so a path is never read as an option; the scratch dir is ours and absolute anyway.
    const child = spawn("rm", ["-rf", "--", dir], { stdio: "ignore" });
    child.on("error", () => resolve(false));
    child.on("close", (code) => resolve(code === 0));
  });
}

/** Removes `dir` and everything in it; never throws (a leftover temp dir is not a build failure). */
export async function removeTree(dir: string): Promise<void> {
  if (await rmRf(dir)) return;
  await fsp.rm(dir, { recursive: true, force: true }).catch(() => {});
}
