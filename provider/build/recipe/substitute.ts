/**
 * `${{name}}` substitutions, melange style. Two flavours, because melange substitutes twice:
 *  - `replaceKnown` (its config-load pass): exact `${{name}}` tokens whose name is in the map are
 *    replaced; anything else is left for later.
 *  - `substitute` (its compile pass): every `${{ name }}` (blanks inside the braces tolerated) must be
 *    known; unknown names and malformed references are errors.
 */

/** Variable names: letters, digits, `.`, `-`, `_` (e.g. `package.full-version`, `vars.my_var`). */
const NAME = "[A-Za-z0-9._-]+";
const EXACT = new RegExp(`\\$\\{\\{(${NAME})\\}\\}`, "g");
const REFERENCE = new RegExp(`\\$\\{\\{[ \\t]*(${NAME})[ \\t]*\\}\\}`, "y");

export type Lookup = (name: string) => string | undefined;

export class SubstitutionError extends Error {
  constructor(
    message: string,
    readonly unknown: string[] = [],
  ) {
    super(message);
  }
}

/** melange's first pass: replaces exact known tokens, leaves the rest alone. */
export function replaceKnown(text: string, values: ReadonlyMap<string, string>): string {
  if (!text.includes("${{")) return text;
  return text.replace(EXACT, (whole, name: string) => values.get(name) ?? whole);
}

/** melange's compile pass: every reference must resolve. */
export function substitute(text: string, lookup: Lookup): string {
  if (!text.includes("${{")) return text;
  let out = "";
  let i = 0;
  const unknown: string[] = [];
  for (;;) {
    const start = text.indexOf("${{", i);
    if (start < 0) break;
    out += text.slice(i, start);
    REFERENCE.lastIndex = start;
    const m = REFERENCE.exec(text);
    if (!m) {
      const snippet = text.slice(start, start + 24).split("\n")[0];
      throw new SubstitutionError(`malformed substitution ${JSON.stringify(snippet)} (expected \${{name}})`);
    }
    const name = m[1]!;
    const value = lookup(name);
    if (value === undefined) {
      if (!unknown.includes(name)) unknown.push(name);
    } else out += value;
    i = start + m[0].length;
  }
  if (unknown.length > 0) {
    throw new SubstitutionError(
      `unknown substitution${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `\${{${n}}}`).join(", ")}`,
      unknown,
    );
  }
  return out + text.slice(i);
}

/**
 * Applies `fn` to every string in a plain JSON-like value, except under the listed keys (e.g. `if` and
 * `uses`, which melange's first pass does not touch). Map keys are never changed.
 */
export function mapStrings<T>(
  value: T,
  fn: (s: string) => string,
  skipKeys: ReadonlySet<string> = new Set(),
): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return fn(v);
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === "object" && v !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = skipKeys.has(k) ? item : walk(item);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}
