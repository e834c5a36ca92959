import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

/** The real cosign, as setup builds it (scripts/tools.sh), or one on PATH. */
export function cosignBinary(): string | undefined {
  const built = path.join(projectRoot, ".cache", "tools", "bin", "cosign");
  if (existsSync(built)) return built;
  const which = spawnSync("sh", ["-c", "command -v cosign"], { encoding: "utf8" });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

export function needsCosign(): { skip?: string } {
  if (cosignBinary()) return {};
  if (process.env.CI) throw new Error("cosign is missing on CI (scripts/tools.sh builds it)");
  return { skip: "no cosign binary (scripts/tools.sh builds it when Go is installed)" };
}

export function cosign(...args: string[]): { code: number; out: string } {
  const r = spawnSync(cosignBinary()!, args, {
    encoding: "utf8",
    env: { ...process.env, COSIGN_YES: "true", SIGSTORE_NO_CACHE: "true", TUF_ROOT: tempDir() },
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** What cosign needs for the local test registry and keyed, offline signatures. */
export const LOCAL_REGISTRY_FLAGS = [
  "--insecure-ignore-tlog=true",
  "--allow-insecure-registry",
  "--allow-http-registry",
];
