/**
 * Go (RE2) regular expressions and `ReplaceAllString` templates, run on JS's engine. var-transforms
 * are written for Go, so the differences matter:
 *  - syntax: `(?P<name>…)`, leading `(?i)`/`(?s)`/`(?m)` flags, `\A`, `\z`, `\Q…\E`, `[[:alpha:]]`,
 *    `\x{41}` are translated; constructs RE2 rejects (lookaround, backreferences) are refused, as Go
 *    would refuse them.
 *  - `\s` is ASCII whitespace in Go ([\t\n\f\r ]), Unicode whitespace in JS: translated.
 *  - templates: Go reads `$1x` as the group named "1x" (which is empty), JS as group 1 then "x"; Go's
 *    `${1}` is the unambiguous form. The template is expanded by Go's rules here.
 *  - global replace: Go ignores an empty match right after the previous match, JS does not.
 */

export class GoRegexpError extends Error {}

const POSIX_CLASSES: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7F",
  blank: "\\t ",
  cntrl: "\\x00-\\x1F\\x7F",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

const JS_SYNTAX = new Set([..."^$\\.*+?()[]{}|/"]);

function literal(ch: string, inClass: boolean): string {
  if (inClass) return ch === "]" || ch === "\\" || ch === "^" || ch === "-" ? `\\${ch}` : ch;
  return JS_SYNTAX.has(ch) ? `\\${ch}` : ch;
}

/** Translates an RE2 pattern to a JS RegExp with the same meaning. */
export function compileGoRegexp(pattern: string, extraFlags = ""): RegExp {
  let src = pattern;
  let flags = extraFlags;
  // Leading flag groups: (?i) (?s) (?m), possibly combined.
  for (let m = /^\(\?([imsU]+)\)/.exec(src); m; m = /^\(\?([imsU]+)\)/.exec(src)) {
    for (const f of m[1]!) {
      if (f === "U") throw new GoRegexpError("the ungreedy flag (?U) is not supported");
      if (!flags.includes(f)) flags += f;
    }
    src = src.slice(m[0].length);
  }
  let out = "";
  let inClass = false;
  let unicode = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === "\\") {
      const n = src[i + 1];
      if (n === undefined) throw new GoRegexpError("trailing backslash");
      i++;
      if (n === "Q") {
        const end = src.indexOf("\\E", i + 1);
        const text = end < 0 ? src.slice(i + 1) : src.slice(i + 1, end);
        out += [...text].map((ch) => literal(ch, inClass)).join("");
        i = end < 0 ? src.length : end + 1;
        continue;
      }
      if (n === "A" && !inClass) out += "(?<![\\s\\S])";
      else if (n === "z" && !inClass) out += "(?![\\s\\S])";
      else if (n === "s") out += inClass ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]";
      else if (n === "S") out += inClass ? "\\S" : "[^\\t\\n\\f\\r ]";
      else if (n === "x" && src[i + 1] === "{") {
        const end = src.indexOf("}", i);
        if (end < 0) throw new GoRegexpError("unterminated \\x{...}");
        const code = Number.parseInt(src.slice(i + 2, end), 16);
        if (!Number.isInteger(code) || code > 0x10ffff) throw new GoRegexpError("invalid \\x{...} escape");
        out += literal(String.fromCodePoint(code), inClass);
        i = end;
      } else if (n === "p" || n === "P") {
        unicode = true;
        if (src[i + 1] === "{") {
          const end = src.indexOf("}", i);
          if (end < 0) throw new GoRegexpError("unterminated \\p{...}");
          const name = src.slice(i + 2, end);
          const neg = name.startsWith("^");
          const bare = neg ? name.slice(1) : name;
          const prop = bare.length <= 2 ? bare : `Script=${bare}`;
          out += `\\${(n === "P") !== neg ? "P" : "p"}{${prop}}`;
          i = end;
        } else {
          out += `\\${n}{${src[i + 1]}}`;
          i++;
        }
      } else if (/[1-9]/.test(n)) {
        throw new GoRegexpError("backreferences are not supported by Go regexps");
      } else if (/[dDwWbBtnrfv0]/.test(n) || (n === "x" && /[0-9a-fA-F]{2}/.test(src.slice(i + 1, i + 3)))) {
        out += `\\${n}`;
      } else if (/[a-zA-Z0-9]/.test(n)) {
        throw new GoRegexpError(`invalid escape \\${n}`);
      } else out += literal(n, inClass);
      continue;
    }
    if (inClass) {
      if (c === "[" && src[i + 1] === ":") {
        const end = src.indexOf(":]", i + 2);
        const name = end < 0 ? "" : src.slice(i + 2, end);
        const negated = name.startsWith("^");
        const cls = POSIX_CLASSES[negated ? name.slice(1) : name];
        if (!cls) throw new GoRegexpError(`unknown character class [:${name}:]`);
        if (negated) throw new GoRegexpError("negated POSIX classes ([:^name:]) are not supported");
        out += cls;
        i = end + 1;
        continue;
      }
      if (c === "]") inClass = false;
      out += c === "[" ? "\\[" : c;
      continue;
    }
    if (c === "[") {
      inClass = true;
      out += c;
      if (src[i + 1] === "^") {
        out += "^";
        i++;
      }
      if (src[i + 1] === "]") {
        // A leading ] is a literal in RE2, the end of an empty class in JS.
        out += "\\]";
        i++;
      }
      continue;
    }
    if (c === "(" && src[i + 1] === "?") {
      const rest = src.slice(i + 2);
      if (rest.startsWith("P<")) {
        out += "(?<";
        i += 3;
        continue;
      }
      if (rest.startsWith("<") || rest.startsWith(":")) {
        if (rest.startsWith("<=") || rest.startsWith("<!"))
          throw new GoRegexpError("lookbehind is not supported by Go regexps");
        out += "(?";
        i += 1;
        continue;
      }
      if (rest.startsWith("=") || rest.startsWith("!"))
        throw new GoRegexpError("lookahead is not supported by Go regexps");
      throw new GoRegexpError(`unsupported group syntax (?${rest.slice(0, 3)}`);
    }
    out += c;
  }
  if (inClass) throw new GoRegexpError("missing closing ]");
  try {
    return new RegExp(out, flags + (unicode ? "u" : ""));
  } catch (err) {
    throw new GoRegexpError((err as Error).message);
  }
}

/** Expands a Go template (`$1`, `${1}`, `$name`, `${name}`, `$$`) for one match. */
export function expandGoTemplate(template: string, match: RegExpExecArray): string {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== "$") {
      out += c;
      continue;
    }
    if (template[i + 1] === "$") {
      out += "$";
      i++;
      continue;
    }
    let name: string | undefined;
    let end = i;
    if (template[i + 1] === "{") {
      const close = template.indexOf("}", i + 2);
      const inner = close < 0 ? "" : template.slice(i + 2, close);
      if (/^[A-Za-z0-9_]+$/.test(inner)) {
        name = inner;
        end = close;
      }
    } else {
      const m = /^[A-Za-z0-9_]+/.exec(template.slice(i + 1));
      if (m) {
        name = m[0];
        end = i + m[0].length;
      }
    }
    if (name === undefined) {
      out += "$"; // malformed: Go copies the $ as text
      continue;
    }
    if (/^[0-9]+$/.test(name)) out += match[Number(name)] ?? "";
    else out += match.groups?.[name] ?? "";
    i = end;
  }
  return out;
}

/** Go's `Regexp.ReplaceAllString`. */
export function goReplaceAll(input: string, pattern: RegExp, template: string): string {
  const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, "") + "g");
  let out = "";
  let last = 0;
  let prevEnd = -1;
  for (let m = re.exec(input); m; m = re.exec(input)) {
    const start = m.index;
    const end = start + m[0].length;
    if (m[0].length === 0) {
      re.lastIndex = end + (input.codePointAt(end)! > 0xffff ? 2 : 1);
      if (start === prevEnd) continue; // Go skips an empty match abutting the previous match
    }
    out += input.slice(last, start) + expandGoTemplate(template, m);
    last = end;
    prevEnd = end;
    if (end > input.length) break;
  }
  return out + input.slice(last);
}
