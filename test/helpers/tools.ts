import { spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import * as path from "node:path";
import type { TestContext } from "node:test";
import { projectRoot } from "./fixtures";

/**
 * The Go tools scripts/tools.sh builds (pulumi, apko, melange, crane, cosign) and the
 * dynamic-provider plugin it installs beside them, all in .cache/tools/bin.
 */
export const TOOLS_BIN = path.join(projectRoot, ".cache", "tools", "bin");

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The tool's path: .cache/tools/bin first (the pinned build), then PATH; undefined when neither. */
export function tool(name: string): string | undefined {
  const dirs = [TOOLS_BIN, ...(process.env.PATH ?? "").split(":").filter(Boolean)];
  return dirs.map((d) => path.join(d, name)).find(executable);
}

/** An environment whose PATH finds the pinned tools first (the pulumi CLI finds its plugin there). */
export function toolsEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${TOOLS_BIN}:${process.env.PATH ?? ""}`, ...extra };
}

/** Why the tools are missing, in words a developer can act on. */
function missingReason(names: string[]): string {
  const goOnPath = spawnSync("sh", ["-c", "command -v go"]).status === 0;
  return goOnPath
    ? `${names.join(", ")} not built yet: run scripts/tools.sh ${names.join(" ")} (minutes on a first run)`
    : `${names.join(", ")} skipped: no go on PATH, so scripts/tools.sh could not build them`;
}

/**
 * `{ skip }` for a describe/test whose tools are missing; with `CI` set a missing tool is a
 * failure, not a skip (CI has Go, so a green CI means these tests ran).
 */
export function toolSkip(...names: string[]): { skip?: string } {
  const missing = names.filter((n) => tool(n) === undefined);
  if (missing.length === 0) return {};
  const reason = missingReason(missing);
  if (process.env.CI) throw new Error(`tools missing on CI: ${reason}`);
  return { skip: reason };
}

/**
 * Inside a test: the tool's path, or undefined after marking the test skipped with the reason
 * (the caller returns). With `CI` set a missing tool fails the test instead.
 */
export function needsTool(t: TestContext, name: string): string | undefined {
  const found = tool(name);
  if (found) return found;
  const reason = missingReason([name]);
  if (process.env.CI) throw new Error(`tool missing on CI: ${reason}`);
  t.skip(reason);
  return undefined;
}
