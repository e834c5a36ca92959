import { UNKNOWN } from "../../provider/dynamic/unknowns";
import type { DiffChanges, ProviderServer } from "./provider-server";

/**
 * A small stand-in for the Pulumi engine's resource steps, following its rules for dynamic
 * providers: secrets are stripped before anything is sent (the dynamic provider does not accept
 * secrets) and re-applied by property name; Check gets the previous *inputs* as olds; Diff gets the
 * previous *outputs* as olds and runs on every update; preview sends unknowns (for outputs of
 * resources that change in the same preview) only to Check and Diff and never calls Create/Update.
 */
const SECRET = Symbol("secret");
const REF = Symbol("ref");

export interface SecretValue {
  [SECRET]: true;
  value: unknown;
}
export interface OutputRef {
  [REF]: true;
  resource: string;
  output: string;
}

export function secret(value: unknown): SecretValue {
  return { [SECRET]: true, value };
}

/** An input that is another resource's output (`repo.reference`). */
export function ref(resource: string, output: string): OutputRef {
  return { [REF]: true, resource, output };
}

export interface Registration {
  name: string;
  type: string;
  inputs: Record<string, unknown>;
}

export interface Step {
  name: string;
  op: "create" | "update" | "same" | "delete";
  checkedInputs: Record<string, unknown>;
  diff?: DiffChanges;
  /** Property paths whose checked input changed (what `pulumi preview --diff` lists). */
  changedInputs: string[];
  outputs?: Record<string, unknown>;
}

interface StateEntry {
  urn: string;
  type: string;
  id: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  secretNames: Set<string>;
}

export class MiniEngine {
  readonly state = new Map<string, StateEntry>();

  constructor(
    private readonly server: ProviderServer,
    /** Serialized `__provider` text per resource type, as the real SDK produced it. */
    private readonly providers: Record<string, string>,
  ) {}

  urn(type: string, name: string): string {
    return `urn:pulumi:test::pulumi-distroless-test::pulumi-nodejs:dynamic/pulumi-distroless:${type}::${name}`;
  }

  preview(program: Registration[]): Promise<Step[]> {
    return this.run(program, true);
  }

  up(program: Registration[]): Promise<Step[]> {
    return this.run(program, false);
  }

  private async run(program: Registration[], preview: boolean): Promise<Step[]> {
    const steps: Step[] = [];
    const changing = new Set<string>();
    const newOutputs = new Map<string, Record<string, unknown>>();
    for (const reg of program) {
      const old = this.state.get(reg.name);
      const secretNames = new Set<string>();
      const resolve = (value: unknown): unknown => {
        if (value && typeof value === "object" && SECRET in value)
          return resolve((value as SecretValue).value);
        if (value && typeof value === "object" && REF in value) {
          const r = value as OutputRef;
          if (preview && changing.has(r.resource)) return UNKNOWN;
          const outs = newOutputs.get(r.resource) ?? this.state.get(r.resource)?.outputs;
          if (!outs) throw new Error(`${reg.name}: reference to unknown resource ${r.resource}`);
          return outs[r.output];
        }
        if (Array.isArray(value)) return value.map(resolve);
        if (value && typeof value === "object") {
          return Object.fromEntries(
            Object.entries(value)
              .filter(([, v]) => v !== undefined)
              .map(([k, v]) => [k, resolve(v)]),
          );
        }
        return value;
      };
      const news: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(reg.inputs)) {
        if (v === undefined) continue;
        if (v && typeof v === "object" && SECRET in v) secretNames.add(k);
        news[k] = resolve(v);
      }
      news.__provider = this.providers[reg.type];
      const urn = this.urn(reg.type, reg.name);
      const checked = await this.server.check(urn, old?.inputs ?? {}, news);
      if (checked.failures.length) {
        throw new Error(
          `${reg.name}: check failed: ${checked.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`,
        );
      }
      const inputs = checked.inputs;
      const step: Step = {
        name: reg.name,
        op: "create",
        checkedInputs: inputs,
        changedInputs: old ? changedPaths(old.inputs, inputs) : [],
      };
      if (old) {
        const diff = await this.server.diff(old.id, urn, old.outputs, inputs, old.inputs);
        step.diff = diff.changes;
        const changed =
          diff.changes === "some" || (diff.changes === "unknown" && step.changedInputs.length > 0);
        step.op = changed ? "update" : "same";
      }
      if (step.op !== "same") changing.add(reg.name);
      if (!preview) {
        if (step.op === "create") {
          const created = await this.server.create(urn, inputs);
          this.state.set(reg.name, {
            urn,
            type: reg.type,
            id: created.id,
            inputs,
            outputs: created.properties,
            secretNames,
          });
          step.outputs = created.properties;
        } else if (step.op === "update") {
          const updated = await this.server.update(old!.id, urn, old!.outputs, inputs, old!.inputs);
          this.state.set(reg.name, { ...old!, inputs, outputs: updated.properties, secretNames });
          step.outputs = updated.properties;
        } else {
          this.state.set(reg.name, { ...old!, inputs, secretNames });
          step.outputs = old!.outputs;
        }
        newOutputs.set(reg.name, step.outputs);
      }
      steps.push(step);
    }
    const names = new Set(program.map((r) => r.name));
    for (const [name, entry] of [...this.state].reverse()) {
      if (names.has(name)) continue;
      steps.push({ name, op: "delete", checkedInputs: {}, changedInputs: [] });
      if (!preview) {
        await this.server.delete(entry.id, entry.urn, entry.outputs);
        this.state.delete(name);
      }
    }
    return steps;
  }

  /** `pulumi refresh`: Read every resource; returns the names whose outputs changed. */
  async refresh(): Promise<{ name: string; changed: string[]; outputs: Record<string, unknown> }[]> {
    const out = [];
    for (const [name, entry] of this.state) {
      const read = await this.server.read(entry.id, entry.urn, entry.outputs, entry.inputs);
      const changed = changedPaths(entry.outputs, read.properties);
      this.state.set(name, {
        ...entry,
        outputs: read.properties,
        ...(read.inputs ? { inputs: read.inputs } : {}),
      });
      out.push({ name, changed, outputs: read.properties });
    }
    return out;
  }

  async destroy(): Promise<void> {
    for (const [name, entry] of [...this.state].reverse()) {
      await this.server.delete(entry.id, entry.urn, entry.outputs);
      this.state.delete(name);
    }
  }
}

/** Property paths that differ between two plain JSON values (`resolved.lock.x86_64.openssl`). */
export function changedPaths(a: unknown, b: unknown, prefix = ""): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
  if (isObj(a) && isObj(b)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    return [...keys]
      .filter((k) => k !== "__provider")
      .sort()
      .flatMap((k) =>
        changedPaths(
          (a as Record<string, unknown>)[k],
          (b as Record<string, unknown>)[k],
          prefix ? `${prefix}.${k}` : k,
        ),
      );
  }
  return [prefix || "(root)"];
}
