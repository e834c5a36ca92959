import { readFileCapped } from "../util/fs";
import { ConfigError, type ConfigIssue, type Loc } from "./errors";
import { type ConfigDocument, objectDocument, parseYamlDocument } from "./node";
import { Cursor, INVALID, type Schema, ValidationContext } from "./schema";

/** Config files larger than this are refused before parsing. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/**
 * Where a validated config came from, so later stages can report problems against the original file:
 * `locate("pipeline[2].runs")` gives the line:column of that node (YAML sources only).
 */
export interface SourceInfo {
  readonly file: string;
  locate(path: string): Loc | undefined;
  /** A ConfigError about `path` (position looked up, or taken from the nearest located parent). */
  error(path: string, message: string, code?: ConfigError["code"]): ConfigError;
}

export interface Validated<T> {
  value: T;
  source: SourceInfo;
}

export interface ValidateOptions {
  /** Accept camelCase spellings of keys. Default: true for JS objects, false for YAML files. */
  acceptCamelCase?: boolean;
}

export function sourceInfo(file: string, locations: ReadonlyMap<string, Loc>): SourceInfo {
  const locate = (path: string): Loc | undefined => {
    for (let p = path; ; ) {
      const loc = locations.get(p);
      if (loc) return loc;
      const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
      if (cut <= 0) return locations.get("");
      p = p.slice(0, cut);
    }
  };
  return {
    file,
    locate,
    error: (path, message, code) => {
      const issue: ConfigIssue = { path, message };
      const loc = locate(path);
      if (loc) issue.loc = loc;
      return new ConfigError(file, [issue], code);
    },
  };
}

/** Issues in file order (those without a position keep their place at the end). */
function byPosition(issues: ConfigIssue[]): ConfigIssue[] {
  const key = (i: ConfigIssue) => (i.loc ? i.loc.line * 1e6 + i.loc.col : Number.MAX_SAFE_INTEGER);
  return [...issues].sort((a, b) => key(a) - key(b));
}

/** Validates a parsed document against a schema; throws a ConfigError listing every issue. */
export function validateDocument<T>(
  schema: Schema<T>,
  doc: ConfigDocument,
  options: ValidateOptions = {},
): Validated<T> {
  const ctx = new ValidationContext(doc.file, options.acceptCamelCase ?? !doc.positioned);
  const value = schema.parse(doc.root, new Cursor(ctx, "", doc.root.loc));
  if (value === INVALID || ctx.issues.length > 0) throw new ConfigError(doc.file, byPosition(ctx.issues));
  return { value, source: sourceInfo(doc.file, ctx.locations) };
}

/** Parses YAML text and validates it. */
export function validateYaml<T>(schema: Schema<T>, text: string, file: string): Validated<T> {
  return validateDocument(schema, parseYamlDocument(text, file));
}

/** Validates a plain JS object (no positions; camelCase keys accepted). */
export function validateObject<T>(
  schema: Schema<T>,
  value: unknown,
  sourceName: string,
  options: ValidateOptions = {},
): Validated<T> {
  return validateDocument(schema, objectDocument(value, sourceName), options);
}

/** Reads (size-capped), parses and validates a YAML file. */
export async function validateYamlFile<T>(schema: Schema<T>, file: string): Promise<Validated<T>> {
  const bytes = await readFileCapped(file, MAX_CONFIG_BYTES);
  return validateYaml(schema, bytes.toString("utf8"), file);
}
