import * as path from "node:path";
import { generateSigningKey, writeKeyPair } from "../../apk/keys";
import { DistrolessError } from "../../util/errors";
import { pathExists } from "../../util/fs";
import { findOnPath } from "../../util/which";
import {
  boolFlag,
  type CliContext,
  type FlagTable,
  output,
  parseVerbArgs,
  stringFlag,
  type Verb,
} from "../command";
import { runProgramLocally } from "../demo/local-engine";
import { chooseDemoPort } from "../demo/port";
import { upWithPulumi } from "../demo/pulumi-engine";
import { startDemoRegistry } from "../demo/registry";
import { runPushedImage } from "../demo/run-image";

function describeLock(lock: unknown): string {
  const archs = (lock ?? {}) as Record<string, { name: string; version: string }[]>;
  return Object.entries(archs)
    .map(([arch, pkgs]) => `${arch}: ${pkgs.map((p) => `${p.name}-${p.version}`).join(", ")}`)
    .join("; ");
}

const PROJECT = "pulumi-distroless-demo";

/**
 * The main job: `examples/demo` (a busybox package from the host's static busybox, a `hello` package
 * built in the bubblewrap sandbox, two signed repositories, an image pushed to a local registry).
 * With a `pulumi` CLI (.cache/tools/bin, built by scripts/tools.sh, or PATH) it runs the real
 * `pulumi up` on a local file backend; otherwise the same program through the local engine (setMocks
 * + the serialized providers, by the engine's rules). A second run shows every resource unchanged:
 * nothing rebuilt, nothing pushed.
 */
const FLAGS = {
  work: { type: "string", value: "DIR", help: "where the demo keeps its state (default .cache/demo)" },
  engine: {
    type: "string",
    value: "auto|pulumi|local",
    help: "the real pulumi CLI, the local engine, or whichever is there",
  },
  port: {
    type: "string",
    value: "PORT",
    help: "the local registry's port, refused when taken (default 5115, or a free one when 5115 is taken)",
  },
  json: { type: "boolean", help: "print the result as JSON on stdout (the running account goes to stderr)" },
} satisfies FlagTable;

export const verb: Verb = {
  summary: "run the offline demo (examples/demo): package, repository, image, pushed to a local registry",
  usage: "pulumi-distroless demo [--work DIR] [--engine auto|pulumi|local] [--port N] [--json]",
  flags: FLAGS,
  example: "pulumi-distroless demo --engine local",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("demo", ctx.argv, FLAGS);
    const root = path.resolve(__dirname, "..", "..", "..", "..");
    const work = path.resolve(ctx.cwd, stringFlag(args, "work") ?? path.join(root, ".cache", "demo"));
    const engine = stringFlag(args, "engine") ?? "auto";
    if (!["auto", "pulumi", "local"].includes(engine))
      throw new DistrolessError("E_CONFIG", `--engine ${engine}: auto, pulumi or local`);
    // The pinned CLI scripts/tools.sh builds, else one on PATH.
    const found =
      engine === "local"
        ? undefined
        : ((await findOnPath("pulumi", path.join(root, ".cache", "tools", "bin"))) ??
          (await findOnPath("pulumi", ctx.env.PATH)));
    if (engine === "pulumi" && !found)
      throw new DistrolessError(
        "E_MISSING",
        "--engine pulumi: no pulumi CLI in .cache/tools/bin or on PATH (scripts/tools.sh pulumi builds it; it needs Go)",
      );
    const pulumiCli = found;
    const json = boolFlag(args, "json");
    // Under --json stdout holds only the result; the account of the run moves to stderr.
    const say = (m: string) => (json ? ctx.stderr(`${m}\n`) : ctx.stdout(`${m}\n`));
    // Before anything is written: a taken --port ends the demo here, with nothing generated.
    const { port, notice } = await chooseDemoPort(stringFlag(args, "port"));
    if (notice) say(notice);

    if (!(await pathExists(path.join(work, "demo.rsa")))) {
      await writeKeyPair(work, "demo.rsa", await generateSigningKey());
      say(`generated the demo signing key ${path.join(work, "demo.rsa")}`);
    }
    const registry = await startDemoRegistry(work, port);
    say(`registry on ${registry.host} (storage in ${path.join(work, "registry")})`);
    try {
      const started = Date.now();
      let outputs: Record<string, unknown>;
      let counts: { changed: number; total: number };
      if (pulumiCli) {
        say(
          "engine: the pulumi CLI (local file backend); the program runs as an automation-API inline program (the CLI's --client path: no Node.js language host is built here)",
        );
        ({ outputs, counts } = await upWithPulumi(
          pulumiCli,
          root,
          work,
          registry.host,
          json ? { ...ctx, stdout: ctx.stderr } : ctx,
        ));
      } else {
        say(
          "engine: local (no pulumi CLI: scripts/tools.sh builds one when Go is installed): examples/demo runs under setMocks, each resource through its serialized provider by the engine's rules",
        );
        const run = await runProgramLocally({
          program: path.join(root, "dist", "examples", "demo", "index.js"),
          project: PROJECT,
          stack: "demo",
          stateFile: path.join(work, "local-state.json"),
          config: { workDir: work, registry: registry.host },
          onStep: (s) =>
            say(
              `  ${s.op === "same" ? "=" : s.op === "create" ? "+" : "~"} ${s.type.padEnd(16)} ${s.name.padEnd(8)} ${s.op.padEnd(6)} ${(s.ms / 1000).toFixed(1)} s`,
            ),
        });
        outputs = run.outputs;
        counts = { changed: run.steps.filter((s) => s.op !== "same").length, total: run.steps.length };
      }
      say(
        counts.changed === 0
          ? `nothing changed: ${counts.total} resources unchanged, nothing built, nothing pushed (${Date.now() - started} ms)`
          : `${counts.changed} of ${counts.total} resources created or updated (${((Date.now() - started) / 1000).toFixed(1)} s); run again to see nothing rebuilt`,
      );
      say(`image: ${String(outputs.imageRef)}`);
      say(`hello package: ${String(outputs.helloRef)}; image packages: ${describeLock(outputs.lock)}`);
      const ran = await runPushedImage(String(outputs.imageRef), work);
      say(
        ran.output !== undefined
          ? `running it (skopeo -> umoci -> runc): ${ran.output}`
          : `not running it: ${ran.skipped}`,
      );
      if (json) {
        output(
          ctx,
          true,
          {
            registry: registry.host,
            workDir: work,
            imageRef: outputs.imageRef,
            helloRef: outputs.helloRef,
            lock: outputs.lock,
            changed: counts.changed,
            total: counts.total,
            ...(ran.output !== undefined ? { ran: ran.output } : { skipped: ran.skipped }),
          },
          () => "",
        );
      }
      return 0;
    } finally {
      await registry.stop();
    }
  },
};
