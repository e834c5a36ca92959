import type { Progress } from "../util/log";
import { resourceProgress } from "./progress";
import { SecretScrubber } from "./secrets";

/** What every operation gets: who it is for, and where to report (scrubbed of secrets). */
export interface OperationContext {
  resourceName: string;
  progress: Progress;
}

export type Props = Record<string, unknown>;

export interface CheckFailure {
  property: string;
  reason: string;
}

export interface CheckResult {
  inputs: Props;
  failures?: CheckFailure[];
}

/** A recipe or config comes from `configFile` (a path) or `config` (the object), never both. */
export function configSourceFailures(news: Props): CheckFailure[] {
  const hasFile = news.configFile !== undefined && news.configFile !== null;
  const hasConfig = news.config !== undefined && news.config !== null;
  return hasFile === hasConfig
    ? [{ property: "configFile", reason: "give exactly one of configFile or config" }]
    : [];
}

export interface DiffResult {
  changes: boolean;
  replaces?: string[];
  deleteBeforeReplace?: boolean;
}

/** A resource implementation over plain values; `defineProvider` adapts it to Pulumi's shape. */
export interface ResourceImplementation {
  type: string;
  /** Top-level input names that carry secrets (scrubbed from every message). */
  secretInputs: string[];
  check(olds: Props, news: Props, ctx: OperationContext): Promise<CheckResult>;
  diff(id: string, olds: Props, news: Props, ctx: OperationContext): Promise<DiffResult>;
  create(inputs: Props, ctx: OperationContext): Promise<{ id: string; outs: Props }>;
  update(id: string, olds: Props, news: Props, ctx: OperationContext): Promise<{ outs: Props }>;
  read(id: string, props: Props, ctx: OperationContext): Promise<{ id: string; props: Props }>;
  delete(id: string, props: Props, ctx: OperationContext): Promise<void>;
}

function secretsOf(impl: ResourceImplementation, ...bags: Props[]): SecretScrubber {
  const scrubber = new SecretScrubber();
  for (const bag of bags) {
    for (const name of impl.secretInputs) {
      const v = bag?.[name];
      if (typeof v === "string") scrubber.add(v);
      else if (v && typeof v === "object") for (const inner of Object.values(v)) scrubber.add(inner);
    }
  }
  return scrubber;
}

/**
 * Wraps an implementation so that every error reaching the engine names the resource and the
 * operation and carries no secret, and outputs never contain `undefined` (which the engine's wire
 * format cannot carry).
 */
export function defineProvider(impl: ResourceImplementation) {
  const run = async <T>(op: string, bags: Props[], fn: (ctx: OperationContext) => Promise<T>): Promise<T> => {
    const scrubber = secretsOf(impl, ...bags);
    const resourceName = String(
      bags.find((b) => typeof b?.resourceName === "string")?.resourceName ?? impl.type,
    );
    const ctx: OperationContext = { resourceName, progress: resourceProgress(resourceName, scrubber) };
    try {
      return await fn(ctx);
    } catch (err) {
      throw scrubber.scrubError(err, `${impl.type} "${resourceName}" (${op}): `);
    }
  };
  return {
    check: (olds: Props, news: Props) => run("check", [news, olds], (ctx) => impl.check(olds, news, ctx)),
    diff: (id: string, olds: Props, news: Props) =>
      run("diff", [news, olds], (ctx) => impl.diff(id, olds, news, ctx)),
    create: (inputs: Props) =>
      run("create", [inputs], async (ctx) => {
        const r = await impl.create(inputs, ctx);
        return { id: r.id, outs: clean(r.outs) };
      }),
    update: (id: string, olds: Props, news: Props) =>
      run("update", [news, olds], async (ctx) => ({
        outs: clean((await impl.update(id, olds, news, ctx)).outs),
      })),
    read: (id: string, props: Props) =>
      run("read", [props], async (ctx) => {
        const r = await impl.read(id, props, ctx);
        return { id: r.id, props: clean(r.props) };
      }),
    delete: (id: string, props: Props) => run("delete", [props], (ctx) => impl.delete(id, props, ctx)),
  };
}

/** Drops `undefined` (the wire format has no such value) deeply. */
export function clean(value: Props): Props {
  return JSON.parse(JSON.stringify(value)) as Props;
}
