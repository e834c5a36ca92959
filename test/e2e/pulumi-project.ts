import { execFile } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { InlineResult } from "../../provider/cli/demo/inline-program";
import { runProcess } from "../helpers/cli";
import { projectRoot } from "../helpers/fixtures";
import { tool, toolsEnv } from "../helpers/tools";

/*
 * A Pulumi program the way a user has one: its own directory with Pulumi.yaml, package.json, and
 * node_modules holding this project from `npm pack` (plus @pulumi/pulumi at the version the project
 * develops against), run by the real CLI and engine on a local file backend. Programs run as
 * automation-API inline programs (the CLI's --client path; see provider/cli/demo/inline-program.ts),
 * through the runner the installed package ships.
 */

const run = promisify(execFile);

export interface Transcript {
  /** Everything every command printed, for the secret scans. */
  text: string;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PulumiProgram {
  dir: string;
  stack: string;
  /** The file backend's directory (state, history, backups). */
  backend: string;
  /** PULUMI_HOME: the CLI's own files (logs, plugins, credentials). */
  home: string;
  /** The environment the CLI and the runner get (backend, passphrase, PULUMI_HOME, PATH with the tools). */
  env: NodeJS.ProcessEnv;
  transcript: Transcript;
  /** The CLI itself (config, stack export, stack output): no program involved. */
  pulumi(args: string[], input?: string): Promise<CommandResult>;
  /** up / preview / refresh / destroy with the program, through the installed package's runner. */
  op(
    op: "up" | "preview" | "refresh" | "destroy",
    flags?: string[],
  ): Promise<CommandResult & { result?: InlineResult }>;
  /** Recompiles the program's TypeScript (after a test edits it). */
  compile(): Promise<void>;
}

const madeDirs: string[] = [];

/**
 * A temp directory for a describe's `before` hook (test/helpers/tmp.ts's `tempDir` registers its
 * removal with the calling hook, which would remove it before the tests run); removed by
 * `removeTempDirs()` in the describe's `after`.
 */
export function hookTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  packed = undefined;
}

let packed: Promise<string> | undefined;

/**
 * `npm pack` of the project (its compiled dist), once per test process. Without `prepack`: the
 * suite runs on what the build compiled, and recompiling would rewrite dist/ under running tests.
 */
export function packedTarball(): Promise<string> {
  packed ??= (async () => {
    const dir = hookTempDir("pd-pack-");
    await run(
      "npm",
      ["pack", "--ignore-scripts", "--pack-destination", dir, "--silent", "--loglevel=error"],
      {
        cwd: projectRoot,
      },
    );
    const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"));
    if (!tgz) throw new Error(`npm pack wrote no tarball into ${dir}`);
    return path.join(dir, tgz);
  })();
  return packed;
}

async function spawnCollect(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string },
  transcript: Transcript,
): Promise<CommandResult> {
  const r = await runProcess(command, args, options);
  transcript.text += `$ ${path.basename(command)} ${args.join(" ")}\n${r.stdout}${r.stderr}\n`;
  return r;
}

/**
 * Creates the program: copies `files` (relative path -> contents, or an absolute source directory to
 * copy from), writes Pulumi.yaml and package.json, installs the packed project and @pulumi/pulumi,
 * compiles the TypeScript, and creates the stack on a fresh file backend.
 */
export async function createProgram(options: {
  name: string;
  stack?: string;
  copyFrom?: string;
  files?: Record<string, string>;
}): Promise<PulumiProgram> {
  const pulumiPath = tool("pulumi");
  if (!pulumiPath) throw new Error("no pulumi CLI (scripts/tools.sh pulumi)");
  const base = hookTempDir("pd-e2e-");
  const dir = path.join(base, options.name);
  const backend = path.join(base, "backend");
  const home = path.join(base, "pulumi-home");
  for (const d of [dir, backend, home]) mkdirSync(d, { recursive: true });
  if (options.copyFrom) cpSync(options.copyFrom, dir, { recursive: true });
  for (const [file, text] of Object.entries(options.files ?? {})) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  writeFileSync(
    path.join(dir, "Pulumi.yaml"),
    `name: ${options.name}\nruntime: nodejs\ndescription: pulumi-distroless end to end\n`,
  );
  const sdkVersion = (
    JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    }
  ).devDependencies["@pulumi/pulumi"];
  writeFileSync(
    path.join(dir, "package.json"),
    `${JSON.stringify({ name: options.name, version: "0.0.0", private: true, main: "index.js" }, null, 2)}\n`,
  );
  // From npm's cache when it has them (setup's install filled it), the registry otherwise.
  await run(
    "npm",
    [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      await packedTarball(),
      `@pulumi/pulumi@${sdkVersion}`,
    ],
    { cwd: dir, maxBuffer: 16 << 20 },
  );
  const transcript: Transcript = { text: "" };
  const stack = options.stack ?? "dev";
  const env = toolsEnv({
    PULUMI_BACKEND_URL: `file://${backend}`,
    PULUMI_CONFIG_PASSPHRASE: `passphrase-${path.basename(base)}`,
    PULUMI_HOME: home,
    PULUMI_SKIP_UPDATE_CHECK: "true",
  });
  const compile = async () => {
    const sources = readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
    await run(
      process.execPath,
      [
        path.join(projectRoot, "node_modules", "typescript", "bin", "tsc"),
        "--outDir",
        dir,
        "--rootDir",
        dir,
        "--module",
        "commonjs",
        "--target",
        "es2022",
        "--strict",
        "--esModuleInterop",
        "--skipLibCheck",
        "--types",
        "node",
        "--typeRoots",
        path.join(projectRoot, "node_modules", "@types"),
        ...sources.map((f) => path.join(dir, f)),
      ],
      { cwd: dir },
    );
  };
  await compile();
  const program: PulumiProgram = {
    dir,
    stack,
    backend,
    home,
    env,
    transcript,
    compile,
    pulumi: (args, input) =>
      spawnCollect(pulumiPath, [...args, "--non-interactive"], { cwd: dir, env, input }, transcript),
    async op(op, flags = []) {
      const runner = path.join(
        dir,
        "node_modules",
        "pulumi-distroless",
        "dist",
        "provider",
        "cli",
        "demo",
        "inline-program.js",
      );
      const r = await spawnCollect(
        process.execPath,
        [runner, op, "--dir", dir, "--program", path.join(dir, "index.js"), "--stack", stack, ...flags],
        { cwd: dir, env },
        transcript,
      );
      const line = r.stdout.split("\n").find((l) => l.startsWith("result: "));
      return { ...r, result: line ? (JSON.parse(line.slice("result: ".length)) as InlineResult) : undefined };
    },
  };
  const init = await program.pulumi(["stack", "init", stack]);
  if (init.code !== 0) throw new Error(`pulumi stack init: ${init.stderr}`);
  return program;
}
