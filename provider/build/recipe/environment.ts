/**
 * The build guest, as an apko config: the recipe's `environment`, build options' package changes,
 * the packages steps need, the `build` account melange always adds, and melange's default variables.
 */
import type { SourceInfo } from "../../config";
import type { ApkArch } from "../../image/config/arch";
import { normalizeApkoConfig } from "../../image/config/normalize";
import type { RawApkoConfig } from "../../image/config/schema";
import type { ApkoConfig } from "../../image/config/types";
import { WORKSPACE } from "./plan";

export const BUILD_USER = "build";
export const BUILD_ID = 1000;

/** melange's defaults, set only where the recipe leaves them unset. */
const DEFAULT_ENV: Record<string, string> = {
  HOME: WORKSPACE,
  GOPATH: `${WORKSPACE}/.cache/go`,
  GOMODCACHE: "/var/cache/melange/gomodcache",
};

/** A SourceInfo whose paths are relative to `prefix` (so errors in the env name `environment.…`). */
/** melange's `build` user and group (uid/gid 1000, home the workspace), unless the recipe has them. */
export function addBuildAccount(env: ApkoConfig): void {
  if (!env.accounts.groups.some((g) => g.groupname === BUILD_USER)) {
    env.accounts.groups.push({ groupname: BUILD_USER, gid: BUILD_ID, members: [BUILD_USER] });
  }
  if (!env.accounts.users.some((u) => u.username === BUILD_USER)) {
    env.accounts.users.push({
      username: BUILD_USER,
      uid: BUILD_ID,
      gid: BUILD_ID,
      shell: "/bin/sh",
      homedir: WORKSPACE,
    });
  }
}

export function prefixedSource(source: SourceInfo, prefix: string): SourceInfo {
  const full = (p: string) => (p === "" ? prefix : `${prefix}.${p}`);
  return {
    file: source.file,
    locate: (p) => source.locate(full(p)),
    error: (p, message, code) => source.error(full(p), message, code),
  };
}

export interface BuildEnvironmentInput {
  raw: RawApkoConfig | undefined;
  source: SourceInfo;
  baseDir: string;
  arch: ApkArch;
  /** Packages added / removed by enabled build options, in option order. */
  optionPackages: { add: string[]; remove: string[] };
  sourceDateEpoch: number;
}

export function buildEnvironment(input: BuildEnvironmentInput): ApkoConfig {
  const env = normalizeApkoConfig(
    input.raw ?? {},
    prefixedSource(input.source, "environment"),
    input.baseDir,
  );
  env.archs = [input.arch];
  env.archsExplicit = true;

  const packages = [...env.contents.packages, ...input.optionPackages.add];
  env.contents.packages = packages.filter((p) => !input.optionPackages.remove.includes(p));

  addBuildAccount(env);
  env.accounts.runAs ??= BUILD_USER;

  const vars: Record<string, string> = { ...env.environment };
  for (const [k, v] of Object.entries(DEFAULT_ENV)) if (!vars[k]) vars[k] = v;
  if (vars.SOURCE_DATE_EPOCH === undefined) vars.SOURCE_DATE_EPOCH = String(input.sourceDateEpoch);
  env.environment = Object.fromEntries(Object.entries(vars).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return env;
}
