import { statSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { hostArch, requireArch } from "../../image/config/arch";
import { DistrolessError } from "../../util/errors";
import { writeFileAtomic } from "../../util/fs";
import type { CliContext, Verb } from "../command";
import { overrideArgs } from "./apko-args";
import {
  APKO_BUILD,
  APKO_BUILD_MINIROOTFS,
  APKO_COMMANDS,
  APKO_LOCK,
  APKO_PUBLISH,
  APKO_SHOW_CONFIG,
  APKO_SHOW_PACKAGES,
} from "./apko-commands";
import { showConfig, showPackages } from "./apko-show";
import {
  buildDateEpoch,
  compatHelp,
  type GoCommand,
  type GoFlagValues,
  goBool,
  goList,
  goString,
  parseGoFlags,
} from "./go-flags";
import { runOurVerb, runOurVerbJson } from "./run-verb";

/**
 * `pulumi-distroless apko …`: apko's own command lines, unchanged, built by this project. Each
 * command maps its flags onto our `build`/`lock` verbs; flags we cannot honour are refused by name.
 */
export const verb: Verb = {
  summary: "apko's command lines as-is (build, publish, lock, show-config, show-packages, build-minirootfs)",
  usage:
    "pulumi-distroless apko <build|publish|lock|show-config|show-packages|build-minirootfs> ... (apko's flags)",
  help: (argv) => compatHelp("apko", "apko's commands, run by pulumi-distroless", APKO_COMMANDS, argv),
  async run(ctx: CliContext): Promise<number> {
    const [name, ...rest] = ctx.argv;
    const command = APKO_COMMANDS.find((c) => c.name === name);
    if (!command) {
      throw new DistrolessError(
        "E_CONFIG",
        `unknown apko command ${JSON.stringify(name ?? "")}; supported: ${APKO_COMMANDS.map((c) => c.name).join(", ")}`,
      );
    }
    const values = parseGoFlags("apko", command, rest);
    const workdir = goString(values, "workdir");
    const inner: CliContext = workdir ? { ...ctx, cwd: path.resolve(ctx.cwd, workdir) } : ctx;
    return RUNNERS[command.name]!(inner, values);
  },
};

type Runner = (ctx: CliContext, values: GoFlagValues) => Promise<number>;

const RUNNERS: Record<string, Runner> = {
  build: apkoBuild,
  publish: apkoPublish,
  lock: apkoLock,
  "show-config": (ctx, v) => showConfig(ctx, v, positionals(APKO_SHOW_CONFIG, v, 1)[0]!),
  "show-packages": (ctx, v) => showPackages(ctx, v, positionals(APKO_SHOW_PACKAGES, v, 1)[0]!),
  "build-minirootfs": buildMinirootfs,
};

function positionals(command: GoCommand, values: GoFlagValues, count: number): string[] {
  if (values.positionals.length !== count) {
    throw new DistrolessError(
      "E_CONFIG",
      `apko ${command.name} takes ${count} argument(s), got ${values.positionals.length} (usage: pulumi-distroless apko ${command.usage})`,
    );
  }
  return values.positionals;
}

/** Flags that shape the image itself (build and publish). */
function imageArgs(values: GoFlagValues): string[] {
  const args = overrideArgs(values);
  for (const a of goList(values, "annotations")) {
    // apko splits KEY:VALUE at the first colon (values may be URLs).
    const colon = a.indexOf(":");
    if (colon <= 0) {
      throw new DistrolessError("E_CONFIG", `--annotations needs KEY:VALUE (got ${JSON.stringify(a)})`, {
        subject: "--annotations",
      });
    }
    args.push("--annotation", `${a.slice(0, colon)}=${a.slice(colon + 1)}`);
  }
  const lockfile = goString(values, "lockfile");
  if (lockfile) args.push("--lock", lockfile);
  // apko probes the config's git checkout unless --vcs=false; so does our build.
  if (!goBool(values, "vcs", true)) args.push("--no-vcs");
  const epoch = buildDateEpoch(values);
  if (epoch !== undefined) args.push("--source-date-epoch", epoch);
  for (const f of goList(values, "sbom-formats")) {
    if (f !== "spdx") {
      throw new DistrolessError("E_CONFIG", `--sbom-formats ${f} is not supported: only spdx is written`, {
        subject: "--sbom-formats",
      });
    }
  }
  return args;
}

/** apko's tag is an image reference: a bare name means `NAME:latest`, as go-containerregistry reads it. */
export function apkoTag(tag: string): string {
  const last = tag.slice(tag.lastIndexOf("/") + 1);
  return last.includes(":") || last.includes("@") ? tag : `${tag}:latest`;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

async function apkoBuild(ctx: CliContext, values: GoFlagValues): Promise<number> {
  const [config, tag, output] = positionals(APKO_BUILD, values, 3);
  // apko writes an OCI layout into OUTPUT when it is an existing directory, else a tarball.
  const layout = isDirectory(path.resolve(ctx.cwd, output!));
  if (!layout && !output!.endsWith(".tar")) {
    throw new DistrolessError(
      "E_CONFIG",
      "OUTPUT must be a FILE.tar (a docker-loadable tarball) or an existing directory (an OCI layout)",
      { subject: output! },
    );
  }
  const args = [config!, "--output", output!, "--tag", apkoTag(tag!), ...imageArgs(values)];
  // apko writes the SBOMs into the working directory unless told otherwise or --sbom=false.
  if (goBool(values, "sbom", true)) args.push("--sbom-path", goString(values, "sbom-path") ?? ctx.cwd);
  // apko prints nothing on stdout for a build; our summary goes with the progress on stderr.
  return runOurVerb(ctx, "build", args);
}

interface OurBuildResult {
  indexDigest: string;
  platforms: { arch: string; manifestDigest: string; layerDigest: string }[];
  pushed: { imageRef: string }[];
}

async function apkoPublish(ctx: CliContext, values: GoFlagValues): Promise<number> {
  if (values.positionals.length < 2) {
    throw new DistrolessError(
      "E_CONFIG",
      `apko publish needs CONFIG and at least one TAG (usage: pulumi-distroless apko ${APKO_PUBLISH.usage})`,
    );
  }
  const [config, ...tags] = values.positionals;
  const args = [config!, ...tags.flatMap((t) => ["--push", apkoTag(t)]), ...imageArgs(values)];
  if (!goBool(values, "sbom", true)) args.push("--no-sbom-attach");
  else {
    const sbomPath = goString(values, "sbom-path");
    if (sbomPath) args.push("--sbom-path", sbomPath);
  }
  const result = await runOurVerbJson<OurBuildResult>(ctx, "build", args);
  const indexRef = result.pushed[0]!.imageRef;
  const repository = indexRef.slice(0, indexRef.lastIndexOf("@"));
  const refsFile = goString(values, "image-refs");
  if (refsFile) {
    const refs = [...result.platforms.map((p) => `${repository}@${p.manifestDigest}`), indexRef];
    await writeFileAtomic(path.resolve(ctx.cwd, refsFile), `${refs.join("\n")}\n`);
  }
  // Like apko: only the index's digest reference on stdout, for `kubectl set image … $(apko publish …)`.
  ctx.stdout(`${indexRef}\n`);
  return 0;
}

async function apkoLock(ctx: CliContext, values: GoFlagValues): Promise<number> {
  const [config] = positionals(APKO_LOCK, values, 1);
  // apko's default: the config's name with its extension replaced by .lock.json.
  const output =
    goString(values, "output") ??
    `${config!.slice(0, config!.length - path.extname(config!).length)}.lock.json`;
  await runOurVerb(ctx, "lock", [config!, "--output", output, ...overrideArgs(values)], () => {});
  ctx.stderr(`wrote ${output}\n`);
  return 0;
}

async function buildMinirootfs(ctx: CliContext, values: GoFlagValues): Promise<number> {
  const [config, output] = positionals(APKO_BUILD_MINIROOTFS, values, 2);
  const arch = requireArch(goString(values, "build-arch") ?? hostArch(), "--build-arch");
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), "pd-minirootfs-"));
  try {
    const args = [config!, "--output", scratch, ...imageArgs(values), "--arch", arch];
    const sbomPath = goString(values, "sbom-path");
    if (sbomPath) args.push("--sbom-path", sbomPath);
    const result = await runOurVerbJson<OurBuildResult>(ctx, "build", args);
    // The image's one layer is the root file system as a gzipped tar: exactly what minirootfs is.
    const layer = result.platforms[0]!.layerDigest;
    const blob = path.join(scratch, "blobs", "sha256", layer.slice("sha256:".length));
    await writeFileAtomic(path.resolve(ctx.cwd, output!), await fsp.readFile(blob));
    ctx.stderr(`wrote ${output} (${arch})\n`);
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
  return 0;
}
