/**
 * The build plan: a recipe compiled for one target arch. Everything a runner needs and nothing it has
 * to interpret: substitutions are done, `if`s are decided, `uses` pipelines are expanded, ranges are
 * unrolled.
 *
 * How a runner executes it (melange semantics):
 *  1. Build the guest root from `environment` (install `environment.contents.packages`, create the
 *     accounts). Copy the source tree to the workspace, mounted at `/home/build` (`WORKSPACE`).
 *  2. Run `steps` in order, then each subpackage's `steps` in order, all in the same workspace. For
 *     each step: `/bin/sh -c` with a script that starts with `set -e` (and `set -o pipefail` where the
 *     shell has it), creates and enters `workingDirectory` (`mkdir -p` then `cd`), then runs `script`.
 *     The process environment is exactly `environment` (it already holds the build environment's
 *     variables; start from an empty environment). Run as `environment.accounts.runAs`.
 *     A non-zero exit fails the build; report the step's `name` and `origin`.
 *  3. Package `<OUT_DIR>/<name>` for the main package and every subpackage.
 */
import type { ApkArch } from "../../image/config/arch";
import type { ApkoConfig } from "../../image/config/types";
import type { PackageTestPlan } from "../test/compile-tests";
import type { Copyright, RecipeCpe } from "./schema";

/** The workspace inside the guest, and where package contents are assembled. */
export const WORKSPACE = "/home/build";
export const OUT_DIR = "/home/build/melange-out";

/** One shell step, ready to run. */
export interface BuildStep {
  /**
   * For logs: the step's own `name`; for steps expanded from `uses`, the using step's name (or the
   * pipeline name) and the inner step's name, e.g. "fetch" or "standard tag: Verify commit".
   */
  name: string;
  /** The `uses` pipelines this step was expanded from, outermost first ([] for recipe steps). */
  uses: string[];
  /** Where the step is written: `recipe.yaml:12:5 pipeline[2]` or `/…/pipelines/fetch.yaml:20:5 pipeline[0]`. */
  origin: string;
  /** The shell script (the step's `runs`), every `${{...}}` substituted. Run with /bin/sh -c after `set -e`. */
  script: string;
  /** Absolute path in the guest; relative `working-directory` values are taken under /home/build. */
  workingDirectory: string;
  /** The complete environment of the step's process: build environment + the step's (inherited) own. */
  environment: Record<string, string>;
  /**
   * Packages this step needs (`needs.packages` of the step and of the `uses` pipelines it came from).
   * They are already part of `environment.contents.packages`; listed per step for error messages.
   */
  needsPackages: string[];
}

export interface PlanDependencies {
  runtime: string[];
  provides: string[];
  replaces: string[];
  providerPriority?: number;
  replacesPriority?: number;
}

export interface PlanPackageOptions {
  /** Generate no `so:`/`cmd:`/`pc:` provides. */
  noProvides: boolean;
  /** Generate no `so:`/`pc:`/`cmd:` dependencies. */
  noDepends: boolean;
  /** Generate no `cmd:` provides. */
  noCommands: boolean;
  noVersionedShlibDeps: boolean;
}

export interface PlanScriptlets {
  preInstall?: string;
  postInstall?: string;
  preDeinstall?: string;
  postDeinstall?: string;
  preUpgrade?: string;
  postUpgrade?: string;
  trigger?: { script: string; paths: string[] };
}

/** Metadata common to the main package and subpackages (all with the origin's version). */
export interface PackageMetadata {
  name: string;
  description?: string;
  url?: string;
  commit?: string;
  dependencies: PlanDependencies;
  options: PlanPackageOptions;
  scriptlets: PlanScriptlets;
  /** Linters disabled / enabled by `checks`. */
  checks: { enabled: string[]; disabled: string[] };
  /** File capabilities to set after the pipeline: path, capability list -> flags, reason. */
  setcap: Array<{ path: string; add: Record<string, string>; reason: string }>;
  /** As written; melange records them only in `.melange.yaml`. */
  annotations: Record<string, string>;
  /** The main package's `cpe` (subpackages' SBOMs use the origin's). */
  cpe?: RecipeCpe;
}

export interface MainPackageMetadata extends PackageMetadata {
  version: string;
  epoch: number;
  /** `<version>-r<epoch>` */
  fullVersion: string;
  copyright: Copyright[];
  /** SPDX expression from `copyright` (AND of the entries, groups per their operator); "" when none. */
  license: string;
  annotations: Record<string, string>;
  /** As written; `["all"]` when the recipe names none. */
  targetArchitectures: string[];
  timeoutSeconds?: number;
  resources?: { cpu?: string; cpumodel?: string; memory?: string; disk?: string };
}

export interface SubpackagePlan extends PackageMetadata {
  /** Absolute path of the subpackage's output directory in the guest. */
  outDir: string;
  steps: BuildStep[];
}

export interface BuildPlan {
  arch: ApkArch;
  /** Every mtime and builddate comes from this (also exported to steps as SOURCE_DATE_EPOCH). */
  sourceDateEpoch: number;
  package: MainPackageMetadata;
  /** Absolute path of the main package's output directory in the guest (`${{targets.destdir}}`). */
  outDir: string;
  /**
   * The build guest as an apko config: contents (recipe packages + option changes + every step's
   * needs), accounts (with the `build` user and group, uid/gid 1000, always present; `runAs`
   * defaults to "build"), environment (HOME=/home/build, GOPATH, GOMODCACHE, PATH, SSL_CERT_FILE,
   * SOURCE_DATE_EPOCH defaults under the recipe's own). `archs` is `[arch]`.
   */
  environment: ApkoConfig;
  /** The main package's pipeline, flattened. */
  steps: BuildStep[];
  /** Subpackages that are built (ranges unrolled, `if`s decided), in recipe order. */
  subpackages: SubpackagePlan[];
  /** Capabilities the runner adds to / drops from the build sandbox. */
  capabilities: { add: string[]; drop: string[] };
  /** Build options that were enabled. */
  options: string[];
  /** The `test:` sections of the main package and built subpackages that have test steps. */
  tests: PackageTestPlan[];
  /** The resolved `vars.*` (after options, caller overrides and var-transforms). */
  vars: Record<string, string>;
}
