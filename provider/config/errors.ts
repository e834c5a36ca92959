import { DistrolessError, type ErrorCode } from "../util/errors";

/** A 1-based position in a YAML file. */
export interface Loc {
  line: number;
  col: number;
}

/** One problem found in a config: where (YAML path and, for files, line:column) and what. */
export interface ConfigIssue {
  /** The YAML path, e.g. `contents.packages[2]` or `pipeline[0].with.uri`; "" for the whole document. */
  path: string;
  loc?: Loc;
  message: string;
}

/** At most this many issues are reported at once; the rest are counted. */
const MAX_REPORTED = 20;

/**
 * A config that failed validation. `issues` lists every problem found (validation does not stop at the
 * first one), each naming the file, the YAML path and the line:column when the config came from YAML.
 */
export class ConfigError extends DistrolessError {
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[], code: ErrorCode = "E_CONFIG") {
    const [subject, message] = formatIssues(file, issues);
    super(code, message, { subject });
    this.name = "ConfigError";
    this.file = file;
    this.issues = issues;
  }
}

/** `file:line:col` when the position is known, else just the file. */
export function formatWhere(file: string, loc: Loc | undefined): string {
  return loc ? `${file}:${loc.line}:${loc.col}` : file;
}

function formatIssue(issue: ConfigIssue): string {
  return issue.path === "" ? issue.message : `${issue.path}: ${issue.message}`;
}

function formatIssues(file: string, issues: readonly ConfigIssue[]): [string, string] {
  if (issues.length === 1) {
    const only = issues[0]!;
    return [formatWhere(file, only.loc), formatIssue(only)];
  }
  const lines = issues.slice(0, MAX_REPORTED).map((i) => `  ${formatWhere(file, i.loc)}: ${formatIssue(i)}`);
  if (issues.length > MAX_REPORTED) lines.push(`  ... and ${issues.length - MAX_REPORTED} more`);
  return [file, `${issues.length} problems:\n${lines.join("\n")}`];
}

/** Appends an object key to a YAML path; keys that are not plain words are bracket-quoted. */
export function pathKey(parent: string, key: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(key)) return parent === "" ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

export function pathIndex(parent: string, index: number): string {
  return `${parent}[${index}]`;
}
