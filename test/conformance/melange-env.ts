/**
 * An offline build environment both `melange build` and our builder can use: a signed local
 * repository holding a busybox package (made by our own builder from Debian's busybox-static, see
 * test/build/build-helpers.ts), its key, and the two ways of building a recipe against it with the
 * same SOURCE_DATE_EPOCH: the real melange (bubblewrap runner) and ours (bubblewrap runner).
 * melange's bubblewrap guest needs only /bin/sh and the applet links apko makes from
 * etc/busybox-paths.d; it writes the `build` account itself.
 */
import { spawn } from "node:child_process";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { type BuildResult, buildPackage } from "../../provider/build/build";
import { makeBusyboxRepo } from "../build/build-helpers";

/** The SOURCE_DATE_EPOCH every conformance build uses (2023-11-14T22:13:20Z). */
export const CONFORMANCE_EPOCH = 1_700_000_000;

export interface MelangeEnv {
  dir: string;
  /** The signed local repository (`<repo>/<arch>/APKINDEX.tar.gz`). */
  repo: string;
  privateKey: string;
  publicKey: string;
  /** Our build cache (guest roots, downloads). */
  cacheDir: string;
  /** melange's --cache-dir and --apk-cache-dir. */
  melangeCache: string;
  apkCache: string;
}

export async function makeMelangeEnv(dir: string): Promise<MelangeEnv> {
  const bb = await makeBusyboxRepo(dir);
  const env: MelangeEnv = {
    dir,
    repo: bb.repo,
    privateKey: bb.privateKey,
    publicKey: bb.publicKey,
    cacheDir: path.join(dir, "our-cache"),
    melangeCache: path.join(dir, "melange-cache"),
    apkCache: path.join(dir, "melange-apk-cache"),
  };
  for (const d of [env.cacheDir, env.melangeCache, env.apkCache]) await fsp.mkdir(d, { recursive: true });
  return env;
}

export interface RecipeBuild {
  recipe: string;
  /** The source directory (copied into /home/build by both). */
  sourceDir: string;
  /** Packages go to `<outDir>/x86_64/`. */
  outDir: string;
  pipelineDirs?: string[];
  epoch?: number;
  /** melange's --namespace (ours: `namespace`); melange's default `unknown` when unset. */
  namespace?: string;
}

/** The arguments of a `melange build` of `b` against `env` (bubblewrap, offline, no index), run in the recipe's directory. */
export function melangeBuildArgs(env: MelangeEnv, b: RecipeBuild): string[] {
  const args = [
    "build",
    path.basename(b.recipe),
    "--runner",
    "bubblewrap",
    "--arch",
    "x86_64",
    "--repository-append",
    env.repo,
    "--keyring-append",
    env.publicKey,
    "--signing-key",
    env.privateKey,
    "--source-dir",
    b.sourceDir,
    "--out-dir",
    b.outDir,
    "--cache-dir",
    env.melangeCache,
    "--apk-cache-dir",
    env.apkCache,
    "--generate-index=false",
  ];
  for (const d of b.pipelineDirs ?? []) args.push("--pipeline-dir", d);
  if (b.namespace) args.push("--namespace", b.namespace);
  return args;
}

/** Runs a Go tool to completion; rejects with its output's tail when it fails. */
export function runTool(
  bin: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd?: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(cwd ? { cwd } : {}),
    });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      out += d;
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `${path.basename(bin)} ${args.join(" ")} exited ${code}:\n${out.split("\n").slice(-30).join("\n")}`,
          ),
        );
    });
  });
}

/**
 * `melange build` of the recipe; resolves with its log. melange runs in the recipe's directory
 * with the recipe's base name, as a user would: it records the path as given in the SBOM, and we
 * record the base name.
 */
export async function melangeBuild(melange: string, env: MelangeEnv, b: RecipeBuild): Promise<string> {
  await fsp.mkdir(b.outDir, { recursive: true });
  return runTool(
    melange,
    melangeBuildArgs(env, b),
    { SOURCE_DATE_EPOCH: String(b.epoch ?? CONFORMANCE_EPOCH) },
    path.dirname(b.recipe),
  );
}

/**
 * Our build of the recipe: the bubblewrap runner, the same repository, key and epoch. Without its
 * `test:` sections, as `melange build` (tests are `melange test`'s job; many fixture tests need
 * Wolfi's network repositories).
 */
export function ourBuild(env: MelangeEnv, b: RecipeBuild): Promise<BuildResult> {
  return buildPackage({
    recipeFile: b.recipe,
    sourceDir: b.sourceDir,
    arch: "x86_64",
    runner: "bubblewrap",
    outDir: b.outDir,
    signingKey: env.privateKey,
    repositories: [env.repo],
    keyring: [env.publicKey],
    cacheDir: env.cacheDir,
    sourceDateEpoch: b.epoch ?? CONFORMANCE_EPOCH,
    network: false,
    skipTests: true,
    ...(b.pipelineDirs ? { pipelineDirs: b.pipelineDirs } : {}),
    ...(b.namespace ? { namespace: b.namespace } : {}),
  });
}
