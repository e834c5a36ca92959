import { existsSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { readApkHead } from "../../apk/apk-reader";
import {
  buildIndexContent,
  buildSignatureMember,
  readIndexArchive,
  writeIndexArchive,
} from "../../apk/index-archive";
import { loadPrivateKey } from "../../apk/keys";
import { sign } from "../../apk/signature";
import { requireArch } from "../../image/config/arch";
import { DistrolessError } from "../../util/errors";
import { writeFileAtomic } from "../../util/fs";
import type { CliContext, Verb } from "../command";
import {
  buildDateEpoch,
  compatHelp,
  type GoFlagValues,
  goBool,
  goList,
  goString,
  parseGoFlags,
} from "./go-flags";
import { MELANGE_COMMANDS, MELANGE_SIGN_INDEX } from "./melange-commands";
import { runOurVerb, runOurVerbJson } from "./run-verb";

/**
 * `pulumi-distroless melange …`: melange's own command lines, unchanged. `build` runs our `package`
 * verb (docker and bubblewrap both mean our bubblewrap sandbox) and then, as melange does, indexes
 * each arch directory; flags we cannot honour are refused by name.
 */
export const verb: Verb = {
  summary: "melange's command lines as-is (build, keygen, index, sign-index, compile)",
  usage: "pulumi-distroless melange <build|keygen|index|sign-index|compile> ... (melange's flags)",
  help: (argv) =>
    compatHelp("melange", "melange's commands, run by pulumi-distroless", MELANGE_COMMANDS, argv),
  async run(ctx: CliContext): Promise<number> {
    const [name, ...rest] = ctx.argv;
    const command = MELANGE_COMMANDS.find((c) => c.name === name);
    if (!command) {
      throw new DistrolessError(
        "E_CONFIG",
        `unknown melange command ${JSON.stringify(name ?? "")}; supported: ${MELANGE_COMMANDS.map((c) => c.name).join(", ")}`,
      );
    }
    const values = parseGoFlags("melange", command, rest);
    return RUNNERS[command.name]!(ctx, values);
  },
};

type Runner = (ctx: CliContext, values: GoFlagValues) => Promise<number>;

const RUNNERS: Record<string, Runner> = {
  build: melangeBuild,
  keygen: melangeKeygen,
  index: melangeIndex,
  "sign-index": melangeSignIndex,
  compile: melangeCompile,
};

function atMost(command: string, values: GoFlagValues, count: number): void {
  if (values.positionals.length > count) {
    throw new DistrolessError(
      "E_CONFIG",
      `melange ${command} takes at most ${count} argument(s), got ${values.positionals.join(" ")}`,
    );
  }
}

/** melange's recipe lookup without an argument: the first of these in the working directory. */
function recipeArgument(ctx: CliContext, values: GoFlagValues): string {
  const given = values.positionals[0];
  if (given) return given;
  const found = [".melange.yaml", ".melange.yml", "melange.yaml", "melange.yml"].find((f) =>
    existsSync(path.join(ctx.cwd, f)),
  );
  if (!found) throw new DistrolessError("E_MISSING", "melange.yaml is missing", { subject: ctx.cwd });
  return found;
}

/** `--vars-file`: a YAML map of recipe vars. */
async function varsFile(ctx: CliContext, file: string): Promise<Record<string, string>> {
  const parsed: unknown = parseYaml(await fsp.readFile(path.resolve(ctx.cwd, file), "utf8"));
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new DistrolessError("E_CONFIG", "a vars file is a YAML map of names to values", { subject: file });
  }
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}

/** `--env-file`: KEY=VALUE lines; blank lines and `#` comments are skipped. */
async function envFile(ctx: CliContext, file: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const lines = (await fsp.readFile(path.resolve(ctx.cwd, file), "utf8")).split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    if (eq <= 0) {
      throw new DistrolessError("E_CONFIG", `line ${i + 1} is not KEY=VALUE`, { subject: file });
    }
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  });
  return out;
}

function archList(values: GoFlagValues): string[] {
  return [...new Set(goList(values, "arch").map((a) => requireArch(a, "--arch")))];
}

async function melangeBuild(ctx: CliContext, values: GoFlagValues): Promise<number> {
  atMost("build", values, 1);
  const recipe = recipeArgument(ctx, values);
  const outDir = goString(values, "out-dir") ?? "./packages/";
  const args = [recipe, "--out", outDir];
  // Without --arch, package builds every target arch that can run here, as melange builds them all.
  for (const a of archList(values)) args.push("--arch", a);
  const runner = goString(values, "runner");
  if (runner !== undefined) {
    if (runner !== "bubblewrap" && runner !== "docker") {
      throw new DistrolessError(
        "E_CONFIG",
        `--runner ${runner} is not supported: bubblewrap and docker both run in our bubblewrap sandbox`,
        { subject: "--runner" },
      );
    }
    args.push("--runner", "bubblewrap");
  }
  const key = goString(values, "signing-key");
  if (key) args.push("--signing-key", key);
  const sourceDir = goString(values, "source-dir");
  if (sourceDir) args.push("--source-dir", sourceDir);
  const vars = goString(values, "vars-file");
  if (vars) for (const [k, v] of Object.entries(await varsFile(ctx, vars))) args.push("--var", `${k}=${v}`);
  for (const f of goList(values, "env-file")) {
    for (const [k, v] of Object.entries(await envFile(ctx, f))) args.push("--env", `${k}=${v}`);
  }
  for (const o of goList(values, "build-option")) args.push("--build-option", o);
  const pipelineDirs = [goString(values, "pipeline-dir"), ...goList(values, "pipeline-dirs")];
  for (const d of pipelineDirs) if (d) args.push("--pipeline-dir", d);
  for (const k of goList(values, "keyring-append")) args.push("--keyring", k);
  for (const r of goList(values, "repository-append")) args.push("--repository", r);
  const namespace = goString(values, "namespace");
  if (namespace) args.push("--namespace", namespace);
  const cacheDir = goString(values, "apk-cache-dir");
  if (cacheDir) args.push("--cache-dir", cacheDir);
  const epoch = buildDateEpoch(values);
  if (epoch !== undefined) args.push("--source-date-epoch", epoch);
  if (!goBool(values, "rm", true) || !goBool(values, "cleanup", true)) args.push("--keep-workspace");
  for (const l of goList(values, "lint-require")) args.push("--lint-require", l);
  for (const l of goList(values, "lint-warn")) args.push("--lint-warn", l);
  if (goBool(values, "generate-provenance", false)) args.push("--generate-provenance");

  // The index is melange's (every apk in the arch directory), written below.
  args.push("--no-generate-index");
  const built = await runOurVerbJson<{ packages: { arch: string; file: string }[] }>(ctx, "package", args);
  for (const p of built.packages) ctx.stderr(`wrote ${p.file}\n`);
  if (goBool(values, "generate-index", true)) {
    for (const arch of new Set(built.packages.map((p) => p.arch))) {
      await indexDirectory(ctx, path.join(outDir, arch), key);
    }
  }
  return 0;
}

/** melange's --generate-index: every apk in the arch directory, not only the ones just built. */
async function indexDirectory(ctx: CliContext, dir: string, key: string | undefined): Promise<void> {
  const apks = (await fsp.readdir(path.resolve(ctx.cwd, dir)))
    .filter((f) => f.endsWith(".apk"))
    .sort()
    .map((f) => path.join(dir, f));
  const output = path.join(dir, "APKINDEX.tar.gz");
  await runOurVerb(ctx, "index", [...apks, "-o", output, ...(key ? ["--signing-key", key] : [])]);
}

async function melangeKeygen(ctx: CliContext, values: GoFlagValues): Promise<number> {
  atMost("keygen", values, 1);
  const file = values.positionals[0] ?? "melange.rsa";
  const bits = goString(values, "key-size");
  return runOurVerb(ctx, "keygen", [
    "--out",
    path.dirname(file),
    "--name",
    path.basename(file),
    ...(bits ? ["--bits", bits] : []),
  ]);
}

async function melangeIndex(ctx: CliContext, values: GoFlagValues): Promise<number> {
  const output = goString(values, "output") ?? "APKINDEX.tar.gz";
  let apks = values.positionals;
  const arch = goString(values, "arch");
  if (arch !== undefined) {
    // melange skips the apks of other architectures, by what their .PKGINFO says.
    const want = requireArch(arch, "--arch");
    const kept: string[] = [];
    for (const a of apks)
      if ((await readApkHead(path.resolve(ctx.cwd, a))).pkginfo.arch === want) kept.push(a);
    apks = kept;
  }
  const key = goString(values, "signing-key");
  if (apks.length === 0) {
    // melange writes an index of nothing rather than failing; our index verb wants packages.
    const signingKey = key ? await loadPrivateKey(path.resolve(ctx.cwd, key)) : undefined;
    await writeFileAtomic(
      path.resolve(ctx.cwd, output),
      writeIndexArchive([], signingKey ? { signingKey } : {}),
    );
    ctx.stderr(`wrote ${output}: no packages\n`);
    return 0;
  }
  return runOurVerb(ctx, "index", [...apks, "-o", output, ...(key ? ["--signing-key", key] : [])]);
}

async function melangeSignIndex(ctx: CliContext, values: GoFlagValues): Promise<number> {
  if (values.positionals.length !== 1) {
    throw new DistrolessError(
      "E_CONFIG",
      `melange sign-index takes one APKINDEX.tar.gz (usage: pulumi-distroless melange ${MELANGE_SIGN_INDEX.usage})`,
    );
  }
  const file = path.resolve(ctx.cwd, values.positionals[0]!);
  const keyFile = path.resolve(ctx.cwd, goString(values, "signing-key") ?? "melange.rsa");
  const index = await readIndexArchive(await fsp.readFile(file), {
    allowUntrusted: true,
    keepText: true,
    subject: values.positionals[0]!,
  });
  if (index.signatures.length > 0 && !goBool(values, "force", false)) {
    ctx.stderr(
      `${values.positionals[0]} is already signed, doing nothing (--force replaces the signatures)\n`,
    );
    return 0;
  }
  const key = await loadPrivateKey(keyFile);
  // The same APKINDEX text and DESCRIPTION, with only this key's signature in front.
  const content = buildIndexContent(index.text!, index.description);
  await writeFileAtomic(file, Buffer.concat([buildSignatureMember([sign(content, key, "sha256")]), content]));
  ctx.stderr(`signed ${values.positionals[0]} with ${key.keyName}\n`);
  return 0;
}

async function melangeCompile(ctx: CliContext, values: GoFlagValues): Promise<number> {
  atMost("compile", values, 1);
  // Our compile verb: the recipe compiled for the arch, pipelines expanded, as YAML.
  const args = [recipeArgument(ctx, values)];
  const arch = goString(values, "arch");
  if (arch) args.push("--arch", arch);
  for (const o of goList(values, "build-option")) args.push("--build-option", o);
  const vars = goString(values, "vars-file");
  if (vars) for (const [k, v] of Object.entries(await varsFile(ctx, vars))) args.push("--var", `${k}=${v}`);
  const epoch = buildDateEpoch(values);
  if (epoch !== undefined) args.push("--source-date-epoch", epoch);
  const pipelineDir = goString(values, "pipeline-dir");
  if (pipelineDir) args.push("--pipeline-dir", pipelineDir);
  return runOurVerb(ctx, "compile", args);
}
