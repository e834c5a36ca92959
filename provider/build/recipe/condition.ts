/**
 * melange's `if` expressions: values are quoted strings ('x' or "x", with \\ \' \" \n \t escapes) or
 * `${{name}}` references; `==` / `!=` compare two values; `&&` and `||` chain comparisons strictly
 * left to right (no precedence), and parentheses group. An undefined variable is an error.
 */
import type { Lookup } from "./substitute";

export class ConditionError extends Error {}

const BLANK = /[ \t\n\r]/;
const VAR_CHAR = /[A-Za-z0-9._-]/;

export function evaluateCondition(expression: string, lookup: Lookup): boolean {
  let pos = 0;
  const src = expression;

  const skip = () => {
    while (pos < src.length && BLANK.test(src[pos]!)) pos++;
  };
  const fail = (message: string): never => {
    throw new ConditionError(`${message} at position ${pos} of ${JSON.stringify(src)}`);
  };

  const value = (): string => {
    skip();
    if (pos >= src.length) fail("unexpected end of expression");
    const c = src[pos]!;
    if (c === "'" || c === '"') {
      pos++;
      let out = "";
      while (pos < src.length && src[pos] !== c) {
        if (src[pos] === "\\" && pos + 1 < src.length) {
          const e = src[pos + 1]!;
          out += e === "n" ? "\n" : e === "t" ? "\t" : e === "\\" || e === "'" || e === '"' ? e : `\\${e}`;
          pos += 2;
        } else out += src[pos++];
      }
      if (pos >= src.length) fail("unterminated string");
      pos++;
      return out;
    }
    if (src.startsWith("${{", pos)) {
      pos += 3;
      skip();
      const start = pos;
      while (pos < src.length && VAR_CHAR.test(src[pos]!)) pos++;
      const name = src.slice(start, pos);
      if (name === "") fail("empty variable name");
      skip();
      if (!src.startsWith("}}", pos)) fail(`unterminated reference \${{${name}`);
      pos += 2;
      const v = lookup(name);
      if (v === undefined) fail(`undefined variable \${{${name}}}`);
      return v!;
    }
    return fail(`unexpected ${JSON.stringify(c)} (expected a quoted string or \${{variable}})`);
  };

  const comparison = (): boolean => {
    const lhs = value();
    skip();
    const op = src.slice(pos, pos + 2);
    if (op !== "==" && op !== "!=") fail("expected == or !=");
    pos += 2;
    const rhs = value();
    return op === "==" ? lhs === rhs : lhs !== rhs;
  };

  const atom = (): boolean => {
    skip();
    if (src[pos] === "(") {
      pos++;
      const r = expr();
      skip();
      if (src[pos] !== ")") fail("expected )");
      pos++;
      return r;
    }
    return comparison();
  };

  const expr = (): boolean => {
    let result = atom();
    for (;;) {
      skip();
      const op = src.slice(pos, pos + 2);
      if (op !== "&&" && op !== "||") return result;
      pos += 2;
      const rhs = atom();
      result = op === "&&" ? result && rhs : result || rhs;
    }
  };

  const result = expr();
  skip();
  if (pos !== src.length) fail("unexpected trailing input");
  return result;
}
