import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { generateSigningKey, writeKeyPair } from "../../apk/keys";
import { DistrolessError } from "../../util/errors";
import { pathExists } from "../../util/fs";
import { findOnPath } from "../../util/which";
import { type CliContext, parseVerbArgs, stringFlag, type Verb } from "../command";
import { runProgramLocally } from "../demo/local-engine";
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
 * With a `pulumi` CLI on PATH it runs `pulumi up` on a local file backend; otherwise it runs the same
 * program through the local engine (setMocks + the serialized providers, by the engine's rules). A
 * second run shows every resource unchanged: nothing rebuilt, nothing pushed.
 */
export const verb: Verb = {
  summary: "run the offline demo (examples/demo): package, repository, image, pushed to a local registry",
  usage: "pulumi-distroless demo [--work DIR] [--engine auto|pulumi|local] [--port N]",
  async run(ctx: CliContext): Promise<number> {
    const args = parseVerbArgs("demo", ctx.argv, {
      work: { type: "string" },
      engine: { type: "string" },
      port: { type: "string" },
    });
    const root = path.resolve(__dirname, "..", "..", "..", "..");
    const work = path.resolve(ctx.cwd, stringFlag(args, "work") ?? path.join(root, ".cache", "demo"));
    const port = Number(stringFlag(args, "port") ?? 5115);
    const engine = stringFlag(args, "engine") ?? "auto";
    if (!["auto", "pulumi", "local"].includes(engine))
      throw new DistrolessError("E_CONFIG", `--engine ${engine}: auto, pulumi or local`);
    const usePulumi =
      engine === "pulumi" || (engine === "auto" && (await findOnPath("pulumi", ctx.env.PATH)) !== undefined);
    const say = (m: string) => ctx.stdout(`${m}\n`);

    if (!(await pathExists(path.join(work, "demo.rsa")))) {
      await writeKeyPair(work, "demo.rsa", await generateSigningKey());
      say(`generated the demo signing key ${path.join(work, "demo.rsa")}`);
    }
    const registry = await startDemoRegistry(work, port);
    say(`registry on ${registry.host} (storage in ${path.join(work, "registry")})`);
    try {
      if (usePulumi) {
        say("engine: the pulumi CLI (local file backend)");
        const env = {
          ...ctx.env,
          PULUMI_BACKEND_URL: `file://${path.join(work, "pulumi-state")}`,
          PULUMI_CONFIG_PASSPHRASE: ctx.env.PULUMI_CONFIG_PASSPHRASE ?? "demo",
          PULUMI_SKIP_UPDATE_CHECK: "true",
        };
        const pulumi = (argv: string[]) =>
          spawnSync("pulumi", argv, { cwd: root, env, stdio: "inherit" }).status ?? 1;
        mkdirSync(path.join(work, "pulumi-state"), { recursive: true });
        if (pulumi(["stack", "select", "demo", "--create", "--non-interactive"]) !== 0) return 1;
        pulumi(["config", "set", "workDir", work, "--stack", "demo"]);
        pulumi(["config", "set", "registry", registry.host, "--stack", "demo"]);
        return pulumi(["up", "--yes", "--stack", "demo", "--non-interactive"]);
      }
      say(
        "engine: local (no pulumi CLI on PATH): examples/demo runs under setMocks, each resource through its serialized provider by the engine's rules",
      );
      const started = Date.now();
      const { steps, outputs } = await runProgramLocally({
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
      const changed = steps.filter((s) => s.op !== "same").length;
      say(
        changed === 0
          ? `nothing changed: ${steps.length} resources unchanged, nothing built, nothing pushed (${Date.now() - started} ms)`
          : `${changed} of ${steps.length} resources created or updated (${((Date.now() - started) / 1000).toFixed(1)} s); run again to see nothing rebuilt`,
      );
      say(`image: ${String(outputs.imageRef)}`);
      say(`hello package: ${String(outputs.helloRef)}; image packages: ${describeLock(outputs.lock)}`);
      const ran = await runPushedImage(String(outputs.imageRef), work);
      say(
        ran.output !== undefined
          ? `running it (skopeo -> umoci -> runc): ${ran.output}`
          : `not running it: ${ran.skipped}`,
      );
      return 0;
    } finally {
      await registry.stop();
    }
  },
};
