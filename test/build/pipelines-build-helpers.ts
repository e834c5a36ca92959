// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
/**
 * Shared by the real-build pipeline tests (pipelines-build*.test.ts): writing a tiny project,
 * building a recipe over it with `pulumi-distroless package --runner host`, reading the packages'
 * files and running what they hold.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostArch } from "../../provider/image/config/arch";
import { runCli, runProcess } from "../helpers/cli";
import { projectRoot } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { type ApkFile, apkFiles, extractApk } from "./build-helpers";

const CLI = path.join(projectRoot, "dist", "provider", "cli", "main.js");

/** Whether `cmd args` (default `--version`) runs and exits 0. */
export const has = (cmd: string, ...args: string[]): boolean =>
  spawnSync(cmd, args.length ? args : ["--version"]).status === 0;

/** `{ skip }` when the tool is missing: for families whose tool setup.sh does not install. */
export const skipUnless = (ok: boolean, why: string): { skip?: string } => (ok ? {} : { skip: why });

/**
 * Like skipUnless for the families whose tools scripts/setup.sh installs (ruby, php, R, cmake,
 * meson, maven): with `CI` set a missing tool is a failure, so a green CI means these builds ran.
 */
export function needsHostTools(ok: boolean, why: string): { skip?: string } {
  if (ok) return {};
  if (process.env.CI) throw new Error(`tools missing on CI (scripts/setup.sh installs them): ${why}`);
  return { skip: `${why} (scripts/setup.sh installs it)` };
}

export interface Built {
  /** Package name -> its files. */
  files: Map<string, Map<string, ApkFile>>;
  /** Package name -> its .apk. */
  apks: Map<string, string>;
  /** The build's output, progress and step logs. */
  log: string;
}

export function writeTree(dir: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), content);
  }
}

export interface BuildOptions {
  /** The build cache, /var/cache/melange to the pipelines (default: a fresh dir). */
  cacheDir?: string;
  /** More environment for the CLI, and so for the host runner's steps. */
  env?: NodeJS.ProcessEnv;
  /**
   * Runs the build in a mount namespace (bwrap) whose /root is an empty tmpfs: for pipelines that
   * write root's home as melange's do (maven/*), which the host runner does not sandbox.
   */
  privateRoot?: boolean;
}

/** Builds `recipe` with the host runner from a source dir holding `files`; fails with the build log. */
export async function build(
  recipe: string,
  files: Record<string, string>,
  opts: BuildOptions = {},
): Promise<Built> {
  const work = tempDir();
  const src = path.join(work, "src");
  mkdirSync(src);
  writeTree(src, files);
  const recipeFile = path.join(work, "recipe.yaml");
  writeFileSync(recipeFile, recipe);
  const args = [
    "package",
    recipeFile,
    "--runner",
    "host",
    "--arch",
    hostArch(),
    "--out",
    path.join(work, "out"),
    "--source-dir",
    src,
    "--cache-dir",
    opts.cacheDir ?? path.join(work, "cache"),
    "--json",
  ];
  const res = opts.privateRoot
    ? await runProcess(
        "bwrap",
        ["--dev-bind", "/", "/", "--tmpfs", "/root", process.execPath, CLI, ...args],
        { cwd: projectRoot, env: { ...process.env, ...opts.env } },
      )
    : await runCli(args, opts.env ? { env: opts.env } : {});
  assert.equal(res.code, 0, `build failed:\n${res.stderr}`);
  const out = JSON.parse(res.stdout) as { packages: { name: string; file: string }[] };
  const built: Built = { files: new Map(), apks: new Map(), log: res.stderr };
  for (const p of out.packages) {
    const file = path.resolve(p.file);
    built.apks.set(p.name, file);
    built.files.set(p.name, await apkFiles(file));
  }
  return built;
}

/** A package's files, failing when the build made no such package. */
export function filesOf(built: Built, name: string): Map<string, ApkFile> {
  const files = built.files.get(name);
  assert.ok(files, `package ${name} was built (built: ${[...built.files.keys()].join(", ")})`);
  return files;
}

/** A packaged regular file's text, failing with the package's file list when it is missing. */
export function textOf(built: Built, name: string, file: string): string {
  const files = filesOf(built, name);
  const content = files.get(file)?.content;
  assert.ok(content, `${name} holds ${file}; it holds: ${[...files.keys()].join(", ")}`);
  return content.toString();
}

/** Unpacks a package into a fresh directory and returns it. */
export async function unpacked(built: Built, name: string): Promise<string> {
  const apk = built.apks.get(name);
  assert.ok(apk, `package ${name} was built`);
  const root = tempDir();
  await extractApk(apk, root);
  return root;
}

/** Runs `command args` to success and returns its output. */
export function runOk(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const res = spawnSync(command, args, { encoding: "utf8", env });
  assert.equal(res.status, 0, `${command} ${args.join(" ")}: ${res.stderr}${res.error ?? ""}`);
  return res.stdout;
}

/** Unpacks a package and runs one of its programs. */
export async function runPackaged(apk: string, program: string, args: string[] = []): Promise<string> {
  const root = tempDir();
  await extractApk(apk, root);
  return runOk(path.join(root, program), args);
}

/** Tool locations the host runner's HOME (the workspace) would otherwise hide. */
export function hostToolEnv(): string {
  const env: Record<string, string> = { GOTOOLCHAIN: "local" };
  const gocache = spawnSync("go", ["env", "GOCACHE"], { encoding: "utf8" }).stdout?.trim();
  if (gocache) env.GOCACHE = gocache;
  const rustup = process.env.RUSTUP_HOME ?? path.join(os.homedir(), ".rustup");
  if (existsSync(rustup)) env.RUSTUP_HOME = rustup;
  return `environment:\n  environment:\n${Object.entries(env)
    .map(([k, v]) => `    ${k}: '${v}'`)
    .join("\n")}\n`;
}
