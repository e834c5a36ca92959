/**
 * Just enough of the pkg-config file format for dependency detection: variables (`prefix=/usr`),
 * fields (`Version: 1.2`, `Requires: a >= 1, b`), `${var}` expansion, comments and line continuations.
 */

export interface PkgConfigFile {
  name?: string;
  version?: string;
  /** Module names from `Requires` (version constraints dropped). */
  requires: string[];
  /** Module names from `Requires.private`. */
  requiresPrivate: string[];
}

const COMPARATORS = new Set(["=", "<", ">", "<=", ">=", "!="]);

/** Module names of a `Requires` value: `a >= 1.0, b c<2` -> [a, b, c]. */
export function parseRequires(value: string): string[] {
  // Put spaces around comparators so `c<2` splits like `c < 2`.
  const tokens = value
    .replace(/(<=|>=|!=|=|<|>)/g, " $1 ")
    .split(/[\s,]+/)
    .filter(Boolean);
  const names: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (COMPARATORS.has(t)) {
      i++; // the version that follows
      continue;
    }
    names.push(t);
  }
  return names;
}

export function parsePkgConfig(text: string): PkgConfigFile {
  const vars = new Map<string, string>();
  const fields = new Map<string, string>();
  const expand = (s: string, depth = 0): string =>
    depth > 16
      ? s
      : s.replace(/\$\{([^}]+)\}/g, (_, name: string) => expand(vars.get(name) ?? "", depth + 1));
  const logical: string[] = [];
  let pending = "";
  for (const raw of text.split(/\r?\n/)) {
    if (raw.endsWith("\\")) {
      pending += raw.slice(0, -1);
      continue;
    }
    logical.push(pending + raw);
    pending = "";
  }
  if (pending) logical.push(pending);
  for (const rawLine of logical) {
    const hash = rawLine.indexOf("#");
    const line = (hash >= 0 ? rawLine.slice(0, hash) : rawLine).trim();
    if (!line) continue;
    const m = /^([A-Za-z0-9_.]+)\s*([:=])\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, key, sep, value] = m;
    if (sep === "=") vars.set(key!, expand(value!.trim()));
    else fields.set(key!.toLowerCase(), expand(value!.trim()));
  }
  const out: PkgConfigFile = {
    requires: parseRequires(fields.get("requires") ?? ""),
    requiresPrivate: parseRequires(fields.get("requires.private") ?? ""),
  };
  const name = fields.get("name");
  const version = fields.get("version");
  if (name !== undefined) out.name = name;
  if (version !== undefined) out.version = version;
  return out;
}
