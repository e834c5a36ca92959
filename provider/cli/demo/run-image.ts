import { execFile } from "node:child_process";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { promisify } from "node:util";
import { findOnPath } from "../../util/which";

const run = promisify(execFile);

/**
 * Runs the pushed image the way a cluster would get it: skopeo copies it out of the registry,
 * umoci unpacks it into a runtime bundle, runc runs its entrypoint. Returns what it printed, or why
 * it could not (a missing tool, not running as root).
 */
export async function runPushedImage(
  reference: string,
  workDir: string,
): Promise<{ output?: string; skipped?: string }> {
  for (const tool of ["skopeo", "umoci", "runc"]) {
    if (!(await findOnPath(tool))) return { skipped: `${tool} is not installed` };
  }
  if (process.getuid?.() !== 0) return { skipped: "runc needs root here" };
  const dir = path.join(workDir, "run");
  await fsp.rm(dir, { recursive: true, force: true });
  await fsp.mkdir(dir, { recursive: true });
  const layout = path.join(dir, "oci");
  await run("skopeo", ["copy", "--src-tls-verify=false", `docker://${reference}`, `oci:${layout}:demo`]);
  const bundle = path.join(dir, "bundle");
  await run("umoci", ["unpack", "--image", `${layout}:demo`, bundle]);
  const configFile = path.join(bundle, "config.json");
  const config = JSON.parse(await fsp.readFile(configFile, "utf8")) as { process: { terminal: boolean } };
  config.process.terminal = false;
  await fsp.writeFile(configFile, JSON.stringify(config));
  const { stdout } = await run("runc", ["run", "--bundle", bundle, `pd-demo-${process.pid}`]);
  await fsp.rm(dir, { recursive: true, force: true });
  return { output: stdout.trim() };
}
