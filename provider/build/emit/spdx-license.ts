/**
 * SPDX license expressions the way melange 0.59 treats `copyright[].license`: a value that is a
 * valid expression for go-spdx (`spdxexp.ValidateLicenses`) is kept as written; anything else
 * becomes one `LicenseRef-<sanitized name>` (the whole value: `MIT OR Foo` is one LicenseRef, not
 * `MIT OR LicenseRef-Foo`), and the SBOM carries its text as `hasExtractedLicensingInfos`.
 *
 * Validity follows go-spdx's rules, quirks included, because the SBOM has to say what melange's
 * says: ids match case-insensitively (`mit` is valid); operators are case-sensitive inside an
 * expression (`MIT and Zlib` is not valid, so it becomes `LicenseRef-MIT-and-Zlib`) except in the
 * three-word `<license> WITH <exception>` form, where `with` is accepted in any case; AND binds
 * tighter than OR; `+`, `-only` and `-or-later` adjust ids; deprecated ids (`GPL-2.0+`) count;
 * `NOASSERTION` and `NONE` are not ids (so they become LicenseRefs, as in melange).
 */
import { createHash } from "node:crypto";
import { licenseExpression } from "../recipe/metadata";
import type { Copyright } from "../recipe/schema";
import { SPDX_DEPRECATED, SPDX_EXCEPTIONS, SPDX_LICENSES } from "./spdx-license-ids";

const upperMap = (ids: readonly string[]) => new Map(ids.map((id) => [id.toUpperCase(), id]));
const ACTIVE = upperMap(SPDX_LICENSES);
const DEPRECATED = upperMap(SPDX_DEPRECATED);
const EXCEPTIONS = upperMap(SPDX_EXCEPTIONS);

type Role = "operator" | "documentRef" | "licenseRef" | "license" | "exception";
interface Token {
  role: Role;
  value: string;
}

const OPERATORS = ["WITH", "AND", "OR", "(", ")", ":", "+"];
const ID = /[A-Za-z0-9.-]+/y;

/** An id as a license or exception token, or undefined (go-spdx's licenseLookup). */
function lookup(id: string): Token | undefined {
  const upper = id.toUpperCase();
  if (ACTIVE.has(upper)) return { role: "license", value: ACTIVE.get(upper)! };
  if (EXCEPTIONS.has(upper)) return { role: "exception", value: EXCEPTIONS.get(upper)! };
  return undefined;
}

/** Tokens of an expression, or undefined when go-spdx's scanner rejects it. */
function scan(input: string): Token[] | undefined {
  let text = input;
  let at = 0;
  const tokens: Token[] = [];
  const readId = (): string | undefined => {
    ID.lastIndex = at;
    const m = ID.exec(text);
    if (!m) return undefined;
    at += m[0].length;
    return m[0];
  };
  while (at < text.length) {
    while (text[at] === " ") at++;
    if (at >= text.length) break;
    const op = OPERATORS.find((o) => text.startsWith(o, at));
    if (op) {
      at += op.length;
      if (op === "+" && at > 1 && text[at - 2] === " ") return undefined; // a space before +
      tokens.push({ role: "operator", value: op });
      continue;
    }
    const ref = (["DocumentRef-", "LicenseRef-"] as const).find((r) => text.startsWith(r, at));
    if (ref) {
      at += ref.length;
      const id = readId();
      if (id === undefined) return undefined;
      tokens.push({ role: ref === "DocumentRef-" ? "documentRef" : "licenseRef", value: id });
      continue;
    }
    const id = readId();
    if (id === undefined) return undefined;
    let token = lookup(id);
    if (!token && id.endsWith("-only")) token = lookup(id.slice(0, -5));
    if (!token && text[at] === "+") {
      token = lookup(`${id}-or-later`);
      if (token) at++;
    }
    if (!token && id.endsWith("-or-later")) {
      token = lookup(id.slice(0, -9));
      // go-spdx rewrites `X-or-later` to `X+` and, in doing so, drops the character after it.
      if (token) {
        text = `${text.slice(0, at - 9)}+${at < text.length ? text.slice(at + 1) : ""}`;
        at -= 9;
      }
    }
    if (!token && DEPRECATED.has(id.toUpperCase()))
      token = { role: "license", value: DEPRECATED.get(id.toUpperCase())! };
    if (!token) return undefined;
    tokens.push(token);
  }
  return tokens;
}

/** go-spdx's recursive-descent parser, reduced to "does it parse". */
function parses(tokens: Token[]): boolean {
  let i = 0;
  const isOp = (v: string) => tokens[i]?.role === "operator" && tokens[i]?.value === v;
  const take = (v: string) => {
    if (!isOp(v)) return false;
    i++;
    return true;
  };
  const atom = (): boolean => {
    if (i >= tokens.length) return false;
    if (take("(")) return expression() && take(")");
    const t = tokens[i]!;
    if (t.role === "documentRef") {
      i++;
      if (!take(":") || tokens[i]?.role !== "licenseRef") return false;
      i++;
      return true;
    }
    if (t.role === "licenseRef") {
      i++;
      return true;
    }
    if (t.role !== "license") return false;
    i++;
    take("+");
    if (take("WITH")) {
      if (tokens[i]?.role !== "exception") return false;
      i++;
    }
    return true;
  };
  const and = (): boolean => atom() && (!take("AND") || (i < tokens.length && and()));
  const expression = (): boolean => and() && (!take("OR") || (i < tokens.length && expression()));
  return tokens.length > 0 && expression() && i === tokens.length;
}

/** True when melange (go-spdx's ValidateLicenses) accepts `license` as an SPDX expression. */
export function isValidSpdxExpression(license: string): boolean {
  if (license.toUpperCase() === "MIT") return true;
  const text = license.trim();
  if (text === "") return false;
  if (!text.includes(" ")) {
    const upper = text.toUpperCase();
    if (ACTIVE.has(upper) || DEPRECATED.has(upper)) return true;
  } else {
    const parts = text.split(/\s+/);
    if (parts.length === 3 && parts[1]!.toUpperCase() === "WITH") {
      const lic = parts[0]!.toUpperCase();
      return EXCEPTIONS.has(parts[2]!.toUpperCase()) && (ACTIVE.has(lic) || DEPRECATED.has(lic));
    }
  }
  const tokens = scan(text);
  if (tokens === undefined) return false;
  try {
    return parses(tokens);
  } catch (e) {
    // Thousands of nested parentheses exhaust our stack (Go's grows): not a license either way.
    if (e instanceof RangeError) return false;
    throw e;
  }
}

/**
 * melange's LicenseRef for a non-SPDX license: letters, digits, `.` and `-` kept, spaces and
 * underscores turned into `-`, anything else dropped; a name with nothing left is named by the
 * first 8 bytes of its SHA-256.
 */
export function toLicenseRef(license: string): string {
  let sanitized = "";
  for (const ch of license) {
    if (/^[A-Za-z0-9.-]$/.test(ch)) sanitized += ch;
    else if (ch === " " || ch === "_") sanitized += "-";
  }
  if (sanitized === "") sanitized = createHash("sha256").update(license, "utf8").digest("hex").slice(0, 16);
  return `LicenseRef-${sanitized}`;
}

/** A `copyright[].license` as the SBOM names it: kept when valid, else its LicenseRef. */
export function spdxLicenseId(license: string): string {
  if (license === "") return "";
  return isValidSpdxExpression(license) ? license : toLicenseRef(license);
}

/** Every copyright entry, groups' members included (a group is our extension of melange's list). */
export function copyrightEntries(list: readonly Copyright[]): Copyright[] {
  return list.flatMap((c) => [c, ...copyrightEntries(c.licenses ?? [])]);
}

/**
 * The SBOM's licenseDeclared: melange joins the entries' licenses, each valid one kept and each
 * other one as its LicenseRef, with AND; for groups, our grouping of the same normalized ids.
 */
export function sbomLicenseExpression(copyright: readonly Copyright[]): string {
  if (copyright.every((c) => c.license !== undefined))
    return copyright.map((c) => spdxLicenseId(c.license!)).join(" AND ");
  const normalized = (list: readonly Copyright[]): Copyright[] =>
    list.map((c) => ({
      ...c,
      ...(c.license !== undefined ? { license: spdxLicenseId(c.license) } : {}),
      ...(c.licenses ? { licenses: normalized(c.licenses) } : {}),
    }));
  return licenseExpression(normalized(copyright));
}
