/**
 * A neutral tree for configuration values, so one validator serves both YAML files (which carry line and
 * column for every node) and plain JS objects handed over by the Pulumi layer (which carry none).
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError, type ConfigIssue, type Loc, pathIndex, pathKey } from "./errors";

export interface MapEntry {
  key: string;
  keyLoc?: Loc;
  value: ConfigNode;
}

export interface MapNode {
  kind: "map";
  entries: MapEntry[];
  loc?: Loc;
}

export interface SeqNode {
  kind: "seq";
  items: ConfigNode[];
  loc?: Loc;
}

export interface ScalarNode {
  kind: "scalar";
  /** The typed value (YAML core schema: null, boolean, number, string). */
  value: string | number | boolean | null;
  /**
   * The text as written. String fields take this rather than `value`, the way Go's yaml decoder does,
   * so `version: 1.10` stays "1.10" and `tag: 2.0` stays "2.0" instead of becoming numbers.
   */
  text: string;
  loc?: Loc;
}

export type ConfigNode = MapNode | SeqNode | ScalarNode;

/** A parsed config: its root node and the name errors should carry (a file path or a source name). */
export interface ConfigDocument {
  file: string;
  root: ConfigNode;
  /** True when nodes carry line/column (YAML); false for JS objects. */
  positioned: boolean;
}

/** Alias expansion is capped so a "billion laughs" document cannot exhaust memory. */
const MAX_NODES = 1_000_000;

/**
 * Parses YAML keeping positions. Broken YAML, duplicate keys and several documents in one file are
 * errors naming the file, line and column, with the parser's own message.
 */
export function parseYamlDocument(text: string, file: string): ConfigDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  const locOf = (offset: number | undefined): Loc | undefined => {
    if (offset === undefined) return undefined;
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  if (doc.errors.length > 0) {
    const issues: ConfigIssue[] = doc.errors.map((e) => {
      const issue: ConfigIssue = { path: "", message: `invalid YAML: ${firstLine(e.message)}` };
      const loc = locOf(e.pos[0]);
      if (loc) issue.loc = loc;
      return issue;
    });
    throw new ConfigError(file, issues);
  }
  let count = 0;
  const convert = (node: unknown, path: string, depth: number): ConfigNode => {
    if (++count > MAX_NODES || depth > 200) {
      throw new ConfigError(
        file,
        [{ path, message: "document too large or too deeply nested (alias expansion?)" }],
        "E_HOSTILE",
      );
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (!target) throw new ConfigError(file, [{ path, message: `unresolved alias *${node.source}` }]);
      // Problems in an aliased value are reported where the alias is used.
      const aliasLoc = locOf(node.range?.[0]);
      const resolved = convert(target, path, depth + 1);
      return aliasLoc ? { ...resolved, loc: aliasLoc } : resolved;
    }
    const loc = locOf((node as Node | null)?.range?.[0]);
    if (isMap(node)) {
      const entries: MapEntry[] = [];
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        const keyLoc = locOf((keyNode as Node | null)?.range?.[0]) ?? loc;
        if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === "object") {
          const issue: ConfigIssue = { path, message: "map keys must be plain scalars" };
          if (keyLoc) issue.loc = keyLoc;
          throw new ConfigError(file, [issue]);
        }
        const key = scalarText(keyNode.value, keyNode.source);
        const value =
          pair.value === null || pair.value === undefined
            ? withLoc({ kind: "scalar", value: null, text: "" }, keyLoc)
            : convert(pair.value, pathKey(path, key), depth + 1);
        const entry: MapEntry = { key, value };
        if (keyLoc) entry.keyLoc = keyLoc;
        entries.push(entry);
      }
      return withLoc({ kind: "map", entries }, loc);
    }
    if (isSeq(node)) {
      return withLoc(
        {
          kind: "seq",
          items: node.items.map((item, i) =>
            item === null || item === undefined
              ? withLoc({ kind: "scalar", value: null, text: "" }, loc)
              : convert(item, pathIndex(path, i), depth + 1),
          ),
        },
        loc,
      );
    }
    if (isScalar(node)) {
      const v = node.value;
      const value =
        v === null || typeof v === "boolean" || typeof v === "number" || typeof v === "string" ? v : null;
      const text = scalarText(v, node.source);
      return withLoc({ kind: "scalar", value: value === null && v !== null ? text : value, text }, loc);
    }
    return withLoc({ kind: "scalar", value: null, text: "" }, loc);
  };
  const root = doc.contents === null ? { kind: "map" as const, entries: [] } : convert(doc.contents, "", 0);
  return { file, root, positioned: true };
}

function withLoc<T extends ConfigNode>(n: T, loc: Loc | undefined): T {
  if (loc) n.loc = loc;
  return n;
}

function firstLine(message: string): string {
  return message.split("\n")[0]!.trim();
}

function scalarText(value: unknown, source: string | undefined): string {
  if (typeof value === "string") return value;
  if (source !== undefined) return source;
  if (value === null || value === undefined) return "";
  return String(value);
}

/**
 * Converts a plain JS value (the Pulumi layer's camelCase config objects) into the same tree. Only
 * JSON-like data is accepted; `undefined` properties count as absent.
 */
export function objectDocument(value: unknown, sourceName: string): ConfigDocument {
  const seen = new Set<object>();
  const convert = (v: unknown, path: string): ConfigNode => {
    if (v === null || v === undefined) return { kind: "scalar", value: null, text: "" };
    if (typeof v === "string") return { kind: "scalar", value: v, text: v };
    if (typeof v === "number" || typeof v === "boolean") return { kind: "scalar", value: v, text: String(v) };
    if (typeof v === "bigint") return { kind: "scalar", value: Number(v), text: v.toString() };
    if (typeof v !== "object") {
      throw new ConfigError(sourceName, [{ path, message: `unsupported value of type ${typeof v}` }]);
    }
    if (seen.has(v)) throw new ConfigError(sourceName, [{ path, message: "circular reference" }]);
    seen.add(v);
    try {
      if (Array.isArray(v))
        return { kind: "seq", items: v.map((item, i) => convert(item, pathIndex(path, i))) };
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new ConfigError(sourceName, [
          { path, message: "expected plain data (objects, arrays, scalars)" },
        ]);
      }
      const entries: MapEntry[] = [];
      for (const [key, item] of Object.entries(v)) {
        if (item === undefined) continue;
        entries.push({ key, value: convert(item, pathKey(path, key)) });
      }
      return { kind: "map", entries };
    } finally {
      seen.delete(v);
    }
  };
  return { file: sourceName, root: convert(value ?? {}, ""), positioned: false };
}

/** "a map", "a list", "the number 5"...: for messages about what was found instead. */
export function describeNode(node: ConfigNode): string {
  if (node.kind === "map") return "a map";
  if (node.kind === "seq") return "a list";
  const v = node.value;
  if (v === null) return "an empty value";
  if (typeof v === "boolean") return `the boolean ${v}`;
  if (typeof v === "number") return `the number ${node.text}`;
  return "a string";
}
