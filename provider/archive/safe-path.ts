import { DistrolessError } from "../util/errors";

/**
 * apk-tools refuses an entry whose name or link target reaches PATH_MAX - 10 bytes (4086 on Linux)
 * with ENAMETOOLONG, "File name too long" (tar.c); longer names are refused here with that meaning.
 */
export const MAX_ENTRY_NAME_BYTES = 4096 - 10 - 1;

/**
 * Normalizes a tar entry name to a clean relative path (`usr/bin/x`): strips `./` and trailing `/`,
 * and refuses anything that could land outside the root (absolute names, `..` components) or that
 * could forge records in line-based files downstream (the installed db is `R:<name>\n` per file):
 * control characters (NUL, newline, ESC, DEL...) are refused as apk-tools does ("ignoring malicious
 * file"), and so are names of 4086 bytes or more ("File name too long"). Archives from the outside
 * world pass through here before any path is used.
 */
export function safeEntryPath(name: string, subject?: string): string {
  if (name.includes("\0")) throw hostile(name, "contains a NUL byte", subject);
  if (hasControlCharacter(name)) {
    throw hostile(name, "contains a control character (apk-tools ignores it as a malicious file)", subject);
  }
  const bytes = Buffer.byteLength(name);
  if (bytes > MAX_ENTRY_NAME_BYTES) {
    throw hostile(
      name,
      `is ${bytes} bytes long: File name too long (the limit is ${MAX_ENTRY_NAME_BYTES})`,
      subject,
    );
  }
  if (name.startsWith("/")) throw hostile(name, "is absolute", subject);
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") throw hostile(name, "climbs out of the root with ..", subject);
    parts.push(part);
  }
  if (parts.length === 0) return "";
  return parts.join("/");
}

/** C0 controls and DEL: what apk-tools' contains_control_character() refuses in a file name. */
export function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/**
 * A name as it may be shown on a terminal or in a message: C0/C1 controls, DEL and backslash
 * escaped (`\x1b`, `\n`), so a package cannot drive the terminal or fake extra output lines.
 */
export function printableName(s: string, max = 200): string {
  const cut = s.length > max ? `${s.slice(0, max)}...` : s;
  let out = "";
  for (const ch of cut) {
    const c = ch.codePointAt(0)!;
    if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0)) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c >= 0xdc80 && c <= 0xdcff)
      out += `\\x${(c - 0xdc00).toString(16)}`; // a raw byte (raw-names.ts)
    else out += ch;
  }
  return out;
}

function hostile(name: string, why: string, subject?: string): DistrolessError {
  return new DistrolessError(
    "E_HOSTILE",
    `archive entry "${printableName(name)}" ${why}`,
    subject ? { subject } : undefined,
  );
}

/** Bytewise, component-by-component order: the depth-first order apk and apko write trees in. */
export function comparePaths(a: string, b: string): number {
  const pa = a.split("/");
  const pb = b.split("/");
  const n = Math.min(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    if (pa[i] !== pb[i]) return Buffer.compare(Buffer.from(pa[i]!), Buffer.from(pb[i]!));
  }
  return pa.length - pb.length;
}
