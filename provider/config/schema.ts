/**
 * A small declarative schema toolkit for configs. Each schema turns a `ConfigNode` into a typed value
 * or records an issue (with YAML path and position) and returns `INVALID`; validation goes on through
 * siblings so one run reports every problem. Object schemas name their fields by their YAML key
 * (`working-directory`, `build_repositories`); the result uses the camelCase of that key
 * (`workingDirectory`, `buildRepositories`), and for JS-object configs the camelCase spelling is
 * accepted as input too.
 */
import { editDistance } from "../util/edit-distance";
import { type ConfigIssue, type Loc, pathIndex, pathKey } from "./errors";
import { type ConfigNode, describeNode, type MapNode, type ScalarNode } from "./node";

export const INVALID: unique symbol = Symbol("invalid");
export type Result<T> = T | typeof INVALID;

export class ValidationContext {
  readonly issues: ConfigIssue[] = [];
  /** YAML path -> position of every node visited, so later stages (compilation) can point at lines. */
  readonly locations = new Map<string, Loc>();

  constructor(
    readonly file: string,
    readonly acceptCamelCase: boolean,
  ) {}
}

/** Where the validator is: the context, the YAML path and the node's position. */
export class Cursor {
  constructor(
    readonly ctx: ValidationContext,
    readonly path: string,
    readonly loc: Loc | undefined,
  ) {
    if (loc && !ctx.locations.has(path)) ctx.locations.set(path, loc);
  }

  key(key: string, node: ConfigNode | undefined, keyLoc?: Loc): Cursor {
    return new Cursor(this.ctx, pathKey(this.path, key), node?.loc ?? keyLoc ?? this.loc);
  }

  index(i: number, node: ConfigNode): Cursor {
    return new Cursor(this.ctx, pathIndex(this.path, i), node.loc ?? this.loc);
  }

  /** Records an issue at this node and returns INVALID so callers can `return at.fail(...)`. */
  fail(message: string, loc: Loc | undefined = this.loc): typeof INVALID {
    const issue: ConfigIssue = { path: this.path, message };
    if (loc) issue.loc = loc;
    this.ctx.issues.push(issue);
    return INVALID;
  }
}

/** The value type a schema produces. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

export interface Schema<T> {
  /** What the schema wants, for messages: "a string", "a list of strings". */
  readonly expected: string;
  parse(node: ConfigNode, at: Cursor): Result<T>;
}

function mismatch(at: Cursor, expected: string, node: ConfigNode): typeof INVALID {
  return at.fail(`expected ${expected}, got ${describeNode(node)}`);
}

/** A schema from a function, for the odd shape the combinators do not cover. */
export function custom<T>(expected: string, parse: (node: ConfigNode, at: Cursor) => Result<T>): Schema<T> {
  return { expected, parse };
}

/** Defers construction, for recursive shapes (pipelines inside pipelines). */
export function lazy<T>(make: () => Schema<T>): Schema<T> {
  let inner: Schema<T> | undefined;
  const get = () => {
    inner ??= make();
    return inner;
  };
  return {
    get expected() {
      return get().expected;
    },
    parse: (node, at) => get().parse(node, at),
  };
}

export interface StringOptions {
  pattern?: RegExp;
  /** Says what the pattern means, e.g. "a package name". */
  patternHint?: string;
  nonEmpty?: boolean;
}

/**
 * A string. Other scalars are taken as written (`1.10` -> "1.10"), like Go's yaml decoder does for
 * string fields; maps, lists and empty values are errors.
 */
export function str(opts: StringOptions = {}): Schema<string> {
  return custom("a string", (node, at) => {
    if (node.kind !== "scalar" || node.value === null) return mismatch(at, "a string", node);
    const s = node.text;
    if (opts.nonEmpty && s === "") return at.fail("must not be empty");
    if (opts.pattern && !opts.pattern.test(s)) {
      return at.fail(`${JSON.stringify(s)} is not ${opts.patternHint ?? `matching ${opts.pattern}`}`);
    }
    return s;
  });
}

export function int(opts: { min?: number; max?: number } = {}): Schema<number> {
  return custom("an integer", (node, at) => {
    if (node.kind !== "scalar" || typeof node.value !== "number" || !Number.isSafeInteger(node.value)) {
      return mismatch(at, "an integer", node);
    }
    const n = node.value;
    if (opts.min !== undefined && n < opts.min) return at.fail(`must be at least ${opts.min}, got ${n}`);
    if (opts.max !== undefined && n > opts.max) return at.fail(`must be at most ${opts.max}, got ${n}`);
    return n;
  });
}

/** YAML 1.1 spellings Go's decoder still accepts for booleans. */
const YAML11_BOOLS: Record<string, boolean> = {
  y: true,
  Y: true,
  yes: true,
  Yes: true,
  YES: true,
  on: true,
  On: true,
  ON: true,
  n: false,
  N: false,
  no: false,
  No: false,
  NO: false,
  off: false,
  Off: false,
  OFF: false,
};

export function bool(): Schema<boolean> {
  return custom("a boolean", (node, at) => {
    if (node.kind === "scalar") {
      if (typeof node.value === "boolean") return node.value;
      if (typeof node.value === "string" && node.value in YAML11_BOOLS) return YAML11_BOOLS[node.value]!;
    }
    return mismatch(at, "true or false", node);
  });
}

export function oneOf<const V extends string>(values: readonly V[]): Schema<V> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`;
  return custom(expected, (node, at) => {
    if (node.kind !== "scalar" || node.value === null) return mismatch(at, expected, node);
    const s = node.text;
    if (!(values as readonly string[]).includes(s)) return at.fail(`${JSON.stringify(s)} is not ${expected}`);
    return s as V;
  });
}

export function list<T>(item: Schema<T>): Schema<T[]> {
  return {
    // A getter, so lists of lazy (recursive) schemas can be built before their item exists.
    get expected() {
      return `a list of ${item.expected.replace(/^an? /, "")}s`;
    },
    parse: (node, at) => {
      if (node.kind !== "seq") return mismatch(at, "a list", node);
      const out: T[] = [];
      let ok = true;
      node.items.forEach((child, i) => {
        const v = item.parse(child, at.index(i, child));
        if (v === INVALID) ok = false;
        else out.push(v);
      });
      return ok ? out : INVALID;
    },
  };
}

/** A map with free-form keys (environment, annotations, `with`). */
export function record<T>(value: Schema<T>, opts: { key?: Schema<string> } = {}): Schema<Record<string, T>> {
  return {
    get expected() {
      return `a map of ${value.expected.replace(/^an? /, "")}s`;
    },
    parse: (node, at) => {
      if (node.kind !== "map") return mismatch(at, "a map", node);
      const out: Record<string, T> = {};
      let ok = true;
      for (const entry of node.entries) {
        const child = at.key(entry.key, entry.value, entry.keyLoc);
        if (entry.key === "__proto__") {
          child.fail("reserved key");
          ok = false;
          continue;
        }
        if (opts.key) {
          const keyNode: ScalarNode = { kind: "scalar", value: entry.key, text: entry.key };
          if (entry.keyLoc) keyNode.loc = entry.keyLoc;
          if (opts.key.parse(keyNode, child) === INVALID) ok = false;
        }
        const v = value.parse(entry.value, child);
        if (v === INVALID) ok = false;
        else out[entry.key] = v;
      }
      return ok ? out : INVALID;
    },
  };
}

/** Adds a check to a schema; the check returns a message when the value is wrong. */
export function refine<T>(schema: Schema<T>, check: (value: T, at: Cursor) => string | undefined): Schema<T> {
  return {
    get expected() {
      return schema.expected;
    },
    parse: (node, at) => {
      const v = schema.parse(node, at);
      if (v === INVALID) return v;
      const problem = check(v, at);
      return problem === undefined ? v : at.fail(problem);
    },
  };
}

/** Maps a valid value to another shape (may fail with `at.fail`). */
export function transform<T, U>(schema: Schema<T>, fn: (value: T, at: Cursor) => Result<U>): Schema<U> {
  return {
    get expected() {
      return schema.expected;
    },
    parse: (node, at) => {
      const v = schema.parse(node, at);
      return v === INVALID ? INVALID : fn(v, at);
    },
  };
}

// ---- objects -------------------------------------------------------------------------------------

type FieldKind = "req" | "opt" | "def";

export interface Field<T, K extends FieldKind = FieldKind> {
  readonly kind: K;
  readonly schema: Schema<T>;
  readonly fallback?: () => T;
}

/** A required field; absent or empty (`key:` with nothing) is an error. */
export function req<T>(schema: Schema<T>): Field<T, "req"> {
  return { kind: "req", schema };
}

/** An optional field; absent or empty leaves the property out. */
export function opt<T>(schema: Schema<T>): Field<T, "opt"> {
  return { kind: "opt", schema };
}

/** A field with a default used when it is absent or empty. */
export function def<T>(schema: Schema<T>, fallback: () => T): Field<T, "def"> {
  return { kind: "def", schema, fallback };
}

/** `working-directory` -> `workingDirectory`, `build_repositories` -> `buildRepositories`. */
export type Camel<S extends string> = S extends `${infer H}-${infer T}`
  ? `${H}${Capitalize<Camel<T>>}`
  : S extends `${infer H}_${infer T}`
    ? `${H}${Capitalize<Camel<T>>}`
    : S;

export function camel(key: string): string {
  return key.replace(/[-_]+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase());
}

type Fields = Record<string, Field<unknown>>;
type FieldValue<F> = F extends Field<infer T> ? T : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type ObjectOf<F extends Fields> = Simplify<
  { [K in keyof F as F[K] extends { kind: "opt" } ? never : Camel<K & string>]: FieldValue<F[K]> } & {
    [K in keyof F as F[K] extends { kind: "opt" } ? Camel<K & string> : never]?: FieldValue<F[K]>;
  }
>;

function isEmpty(node: ConfigNode): boolean {
  return node.kind === "scalar" && node.value === null;
}

/**
 * An object with known keys. Unknown keys are errors (with a "did you mean" when one is close). For
 * JS-object configs each key may also be spelled in camelCase.
 */
export function object<F extends Fields>(fields: F): Schema<ObjectOf<F>> {
  const byAlias = new Map<string, string>();
  for (const key of Object.keys(fields)) {
    const alias = camel(key);
    if (alias !== key) byAlias.set(alias, key);
  }
  return custom("a map", (node, at) => {
    if (node.kind !== "map") return mismatch(at, "a map", node);
    const found = new Map<string, { entry: MapNode["entries"][number]; spelled: string }>();
    let ok = true;
    for (const entry of node.entries) {
      let key = entry.key;
      if (!Object.hasOwn(fields, key) && at.ctx.acceptCamelCase && byAlias.has(key)) key = byAlias.get(key)!;
      if (!Object.hasOwn(fields, key)) {
        const hint = suggest(entry.key, Object.keys(fields));
        at.key(entry.key, entry.value, entry.keyLoc).fail(
          `unknown field${hint ? ` (did you mean ${JSON.stringify(hint)}?)` : ""}; expected one of: ${Object.keys(fields).join(", ")}`,
          entry.keyLoc,
        );
        ok = false;
        continue;
      }
      const previous = found.get(key);
      if (previous) {
        at.key(key, entry.value, entry.keyLoc).fail(`given twice (as ${previous.spelled} and ${entry.key})`);
        ok = false;
        continue;
      }
      found.set(key, { entry, spelled: entry.key });
    }
    const out: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(fields)) {
      const hit = found.get(key);
      const child = at.key(key, hit?.entry.value, hit?.entry.keyLoc);
      if (!hit || isEmpty(hit.entry.value)) {
        if (spec.kind === "req") {
          child.fail(hit ? "is required but empty" : "is required");
          ok = false;
        } else if (spec.kind === "def") out[camel(key)] = spec.fallback!();
        continue;
      }
      const v = spec.schema.parse(hit.entry.value, child);
      if (v === INVALID) ok = false;
      else out[camel(key)] = v;
    }
    return ok ? (out as ObjectOf<F>) : INVALID;
  });
}

/** The closest known key within a small edit distance, for "did you mean". */
function suggest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best;
}
