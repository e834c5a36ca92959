/**
 * apk version semantics: `digit{.digit}...{letter}{_suffix{N}}...{~hash}{-rN}`.
 *
 * Comparison walks both versions token by token, the way apk-tools does, so every line of apk-tools'
 * own version.data holds (test/apk/version.test.ts). Notable rules:
 * - a numeric component after a dot with a leading zero on either side compares as a string
 *   (Gentoo-style `1.01` < `1.1`);
 * - when one version runs out first, the longer one is greater unless what follows is a pre-release
 *   suffix (`_alpha`, `_beta`, `_pre`, `_rc`);
 * - an invalid tail ends the walk as TOKEN_INVALID, which ranks above every valid token kind.
 */

enum Token {
  InitialDigit = 0,
  Digit = 1,
  Letter = 2,
  Suffix = 3,
  SuffixNumber = 4,
  CommitHash = 5,
  Revision = 6,
  End = 7,
  Invalid = 8,
}

// Ordered: pre-release suffixes rank below "no suffix" (NONE), post-release ones above it.
const SUFFIX_RANK: Record<string, number> = {
  alpha: 1,
  beta: 2,
  pre: 3,
  rc: 4,
  cvs: 6,
  svn: 7,
  git: 8,
  hg: 9,
  p: 10,
};
const SUFFIX_NONE = 5;

interface TokenState {
  token: Token;
  /** The token's raw text (digits, letter, suffix name or hash). */
  value: string;
  suffix: number;
  pos: number;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 97 && c <= 102);
}

function parseDigits(t: TokenState, s: string): void {
  const start = t.pos;
  while (t.pos < s.length && isDigit(s.charCodeAt(t.pos))) t.pos++;
  t.value = s.slice(start, t.pos);
  if (t.value.length === 0) t.token = Token.Invalid;
}

function first(s: string): TokenState {
  const t: TokenState = { token: Token.InitialDigit, value: "", suffix: 0, pos: 0 };
  parseDigits(t, s);
  return t;
}

function next(t: TokenState, s: string): void {
  if (t.pos >= s.length) {
    t.token = Token.End;
    return;
  }
  const c = s.charCodeAt(t.pos);
  if (isLower(c)) {
    if (t.token > Token.Digit) {
      invalid(t);
      return;
    }
    t.value = s[t.pos]!;
    t.token = Token.Letter;
    t.pos++;
    return;
  }
  if (c === 46 /* . */ || isDigit(c)) {
    if (c === 46) {
      if (t.token > Token.Digit) {
        invalid(t);
        return;
      }
      t.pos++;
    }
    if (t.token === Token.InitialDigit || t.token === Token.Digit) t.token = Token.Digit;
    else if (t.token === Token.Suffix) t.token = Token.SuffixNumber;
    else {
      invalid(t);
      return;
    }
    parseDigits(t, s);
    return;
  }
  if (c === 95 /* _ */) {
    if (t.token > Token.SuffixNumber) {
      invalid(t);
      return;
    }
    t.pos++;
    const start = t.pos;
    while (t.pos < s.length && isLower(s.charCodeAt(t.pos))) t.pos++;
    t.value = s.slice(start, t.pos);
    const rank = SUFFIX_RANK[t.value];
    if (rank === undefined) {
      invalid(t);
      return;
    }
    t.suffix = rank;
    t.token = Token.Suffix;
    return;
  }
  if (c === 126 /* ~ */) {
    if (t.token >= Token.CommitHash) {
      invalid(t);
      return;
    }
    t.pos++;
    const start = t.pos;
    while (t.pos < s.length && isHex(s.charCodeAt(t.pos))) t.pos++;
    t.value = s.slice(start, t.pos);
    if (t.value.length === 0) {
      invalid(t);
      return;
    }
    t.token = Token.CommitHash;
    return;
  }
  if (c === 45 /* - */) {
    if (t.token >= Token.Revision || s.charCodeAt(t.pos + 1) !== 114 /* r */) {
      invalid(t);
      return;
    }
    t.pos += 2;
    t.token = Token.Revision;
    parseDigits(t, s);
    return;
  }
  invalid(t);
}

function invalid(t: TokenState): void {
  t.token = Token.Invalid;
}

/** Compares two unsigned decimal strings numerically, at any length. */
function compareNumeric(a: string, b: string): number {
  let i = 0;
  while (i < a.length - 1 && a.charCodeAt(i) === 48) i++;
  let j = 0;
  while (j < b.length - 1 && b.charCodeAt(j) === 48) j++;
  const la = a.length - i;
  const lb = b.length - j;
  if (la !== lb) return la < lb ? -1 : 1;
  for (; i < a.length; i++, j++) {
    const d = a.charCodeAt(i) - b.charCodeAt(j);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

function compareToken(a: TokenState, b: TokenState): number {
  switch (a.token) {
    case Token.Digit:
      if (a.value.charCodeAt(0) === 48 || b.value.charCodeAt(0) === 48) return compareBytes(a.value, b.value);
      return compareNumeric(a.value, b.value);
    case Token.InitialDigit:
    case Token.SuffixNumber:
    case Token.Revision:
      return compareNumeric(a.value, b.value);
    case Token.Letter:
      return compareBytes(a.value, b.value);
    case Token.Suffix:
      return a.suffix === b.suffix ? 0 : a.suffix < b.suffix ? -1 : 1;
    default:
      return compareBytes(a.value, b.value);
  }
}

function compareInternal(a: string, b: string, fuzzy: boolean): number {
  const ta = first(a);
  const tb = first(b);
  while (ta.token === tb.token && ta.token < Token.End) {
    const r = compareToken(ta, tb);
    if (r !== 0) return r;
    next(ta, a);
    next(tb, b);
  }
  if (ta.token === tb.token) return 0;
  if (fuzzy && tb.token === Token.End) return 0;
  if (ta.token === Token.Suffix && ta.suffix < SUFFIX_NONE) return -1;
  if (tb.token === Token.Suffix && tb.suffix < SUFFIX_NONE) return 1;
  if (ta.token > tb.token) return -1;
  if (tb.token > ta.token) return 1;
  return 0;
}

/** -1, 0 or 1, by apk rules. */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  return compareInternal(a, b, false);
}

/** True when `version` is a well-formed apk version (`1.2.3_rc1-r0`). */
export function isValidVersion(version: string): boolean {
  const t = first(version);
  while (t.token < Token.End) next(t, version);
  return t.token === Token.End;
}

/** The `-rN` revision split off: `1.2-r3` -> { version: "1.2", epoch: 3 }. */
export function splitRevision(fullVersion: string): { version: string; epoch: number } {
  const m = /^(.*)-r(\d+)$/.exec(fullVersion);
  return m ? { version: m[1]!, epoch: Number(m[2]) } : { version: fullVersion, epoch: 0 };
}

export type VersionOp = "=" | "<" | "<=" | ">" | ">=" | "~" | "<~" | ">~" | "><";

const LESS = 1;
const EQUAL = 2;
const GREATER = 4;

const OP_MASK: Record<VersionOp, number> = {
  "=": EQUAL,
  "<": LESS,
  "<=": LESS | EQUAL,
  ">": GREATER,
  ">=": GREATER | EQUAL,
  "~": EQUAL,
  "<~": LESS | EQUAL,
  ">~": GREATER | EQUAL,
  "><": 0,
};

/**
 * Does `version` satisfy `op constraintVersion`? `~` is apk's fuzzy match: `1.2.3` satisfies `~1.2`
 * (the constraint's components are a prefix of the version's).
 */
export function versionSatisfies(version: string, op: VersionOp, constraintVersion: string): boolean {
  const fuzzy = op === "~" || op === "<~" || op === ">~";
  const r = version === constraintVersion ? 0 : compareInternal(version, constraintVersion, fuzzy);
  const bit = r < 0 ? LESS : r > 0 ? GREATER : EQUAL;
  return (OP_MASK[op] & bit) !== 0;
}
