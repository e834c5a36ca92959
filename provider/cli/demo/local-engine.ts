import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { writeFileAtomic } from "../../util/fs";

/*
 * A local stand-in for the Pulumi engine, for machines without the `pulumi` CLI: it runs a real
 * Pulumi program under `pulumi.runtime.setMocks` and, for every resource the program registers,
 * deserializes the `__provider` the SDK serialized (exactly what the engine's dynamic-provider host
 * does) and drives it by the engine's rules: check(old inputs, new inputs), diff(old outputs, checked
 * inputs), then create, update or nothing. State lives in a JSON file, so a second run diffs against
 * the first. It is for the demo; real stacks use the real engine.
 */

interface DynamicProvider {
  check(
    olds: Props,
    news: Props,
  ): Promise<{ inputs?: Props; failures?: { property: string; reason: string }[] }>;
  diff(id: string, olds: Props, news: Props): Promise<{ changes?: boolean }>;
  create(inputs: Props): Promise<{ id: string; outs: Props }>;
  update(id: string, olds: Props, news: Props): Promise<{ outs: Props }>;
}

type Props = Record<string, unknown>;

interface StateEntry {
  id: string;
  inputs: Props;
  outputs: Props;
}

export interface LocalStep {
  urn: string;
  name: string;
  type: string;
  op: "create" | "update" | "same";
  ms: number;
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** The mock monitor hands secrets over wrapped; the dynamic provider host sees them plain. */
function unwrapSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    const o = value as Props;
    if (o[SIG_KEY] === SECRET_SIG) return unwrapSecrets(o.value);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

export async function runProgramLocally(options: {
  program: string;
  project: string;
  stack: string;
  stateFile: string;
  config?: Record<string, string>;
  onStep?: (step: LocalStep) => void;
}): Promise<{ steps: LocalStep[]; outputs: Props }> {
  // @pulumi/pulumi is a peer dependency: the program's own copy is the one to drive.
  const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
  const requireFromString = require(
    require.resolve("require-from-string", { paths: [path.dirname(require.resolve("@pulumi/pulumi"))] }),
  ) as (code: string) => { handler(): DynamicProvider };
  const state: Record<string, StateEntry> = JSON.parse(
    await fsp.readFile(options.stateFile, "utf8").catch(() => "{}"),
  ) as Record<string, StateEntry>;
  const steps: LocalStep[] = [];
  const providers = new Map<string, DynamicProvider>();
  let chain = Promise.resolve();
  // The first failure of a resource; Pulumi's runtime would otherwise surface it as an unhandled
  // rejection and end the process before anything could clean up.
  let failure: unknown;
  let signalFailure: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    signalFailure = reject;
  });
  failed.catch(() => {});
  const fail = (err: unknown) => {
    if (failure !== undefined) return;
    failure = err;
    signalFailure(err);
  };
  const swallow = (err: unknown) => fail(err);
  // Left installed: Pulumi's runtime rejects its own registration promises a tick after the
  // provider's error reached us, and the local engine runs once per CLI process.
  process.on("unhandledRejection", swallow);
  process.on("uncaughtException", swallow);

  process.env.PULUMI_CONFIG = JSON.stringify(
    Object.fromEntries(Object.entries(options.config ?? {}).map(([k, v]) => [`${options.project}:${k}`, v])),
  );
  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        // One resource at a time, in registration order, as a small deployment would go.
        const run = chain.then(async () => {
          const started = Date.now();
          const news = unwrapSecrets(args.inputs) as Props;
          const text = String(news.__provider);
          let provider = providers.get(text);
          if (!provider) {
            provider = requireFromString(text).handler();
            providers.set(text, provider);
          }
          const urn = `urn:pulumi:${options.stack}::${options.project}::${args.type}::${args.name}`;
          const old = state[urn];
          const checked = await provider.check(old?.inputs ?? {}, news);
          if (checked.failures?.length) {
            throw new Error(
              `${args.name}: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`,
            );
          }
          const inputs = { ...(checked.inputs ?? news), __provider: text };
          let entry: StateEntry;
          let op: LocalStep["op"];
          if (!old) {
            const created = await provider.create(inputs);
            entry = { id: created.id, inputs, outputs: created.outs };
            op = "create";
          } else if ((await provider.diff(old.id, old.outputs, inputs)).changes !== false) {
            const updated = await provider.update(old.id, old.outputs, inputs);
            entry = { id: old.id, inputs, outputs: updated.outs };
            op = "update";
          } else {
            entry = { ...old, inputs };
            op = "same";
          }
          state[urn] = entry;
          // Secrets stay out of the state file: it keeps only what outputs carry, plus a marker.
          const persisted = Object.fromEntries(
            Object.entries(state).map(([u, e]) => [u, { ...e, inputs: redactSecrets(e.inputs) }]),
          );
          await writeFileAtomic(options.stateFile, JSON.stringify(persisted, null, 2));
          const step = {
            urn,
            name: args.name,
            type: args.type.split(":").pop()!,
            op,
            ms: Date.now() - started,
          };
          steps.push(step);
          options.onStep?.(step);
          return { id: entry.id, state: entry.outputs };
        });
        chain = run.then(
          () => undefined,
          (err: unknown) => fail(err),
        );
        return run;
      },
      call: (args) => args.inputs,
    },
    options.project,
    options.stack,
    false,
  );
  const program = require(options.program) as Props;
  const outputs: Props = {};
  for (const [k, v] of Object.entries(program)) {
    // An output whose resource failed never resolves: stop waiting once the chain has failed.
    outputs[k] = await Promise.race([
      new Promise((resolve) => (pulumi.output(v) as import("@pulumi/pulumi").Output<unknown>).apply(resolve)),
      failed,
    ]).catch((err: unknown) => {
      throw cleanFailure(err);
    });
  }
  await chain;
  if (failure) throw cleanFailure(failure);
  return { steps, outputs };
}

const SECRET_INPUTS = new Set(["signingKey", "signingKeyPassphrase", "registryAuth"]);

function redactSecrets(inputs: Props): Props {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, SECRET_INPUTS.has(k) ? "[secret]" : v]),
  );
}

/** Pulumi wraps a provider's error in registration context; the provider's own sentence is the news. */
function cleanFailure(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  const m = /failed to register new resource [^:]+: (.*)$/s.exec(message);
  return new Error(m ? m[1]! : message);
}
