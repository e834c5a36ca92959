import { DistrolessError } from "../util/errors";

/**
 * Normalizes a tar entry name to a clean relative path (`usr/bin/x`): strips `./` and trailing `/`,
 * and refuses anything that could land outside the root: absolute names, `..` components, NUL bytes,
 * or an empty name. Archives from the outside world pass through here before any path is used.
 */
export function safeEntryPath(name: string, subject?: string): string {
  if (name.includes("\0")) throw hostile(name, "contains a NUL byte", subject);
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

function hostile(name: string, why: string, subject?: string): DistrolessError {
  const shown = JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}...` : name);
  return new DistrolessError("E_HOSTILE", `archive entry ${shown} ${why}`, subject ? { subject } : undefined);
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
