/**
 * The interpreter a script names on its `#!` line, as melange reads it: `/usr/bin/env foo` means
 * `foo`, `/usr/bin/env -S foo args` means `foo`. Interpreters that every base image has through a
 * symlink nothing provides as a command (sh, python, python3, awk) are ignored.
 */

const IGNORED = new Set(["sh", "python", "python3", "awk"]);

export type ShebangResult = { interpreter?: string; warning?: string };

/** Reads the interpreter from the first bytes of a file (melange looks at the first 80). */
export function parseShebang(head: Buffer): ShebangResult {
  if (head.length < 2 || head[0] !== 0x23 || head[1] !== 0x21) return {};
  let line = head.subarray(2).toString("latin1");
  const nl = line.indexOf("\n");
  if (nl >= 0) line = line.slice(0, nl);
  const tokens = line.trim().split(/\s+/).filter(Boolean);
  if (tokens.length === 0) return {};
  let bin = tokens[0]!;
  if (bin === "/usr/bin/env") {
    if (tokens.length === 1) return { warning: "a #! of only /usr/bin/env" };
    if (tokens.length === 2) bin = tokens[1]!;
    else if (tokens[1] === "-S" && !tokens[2]!.startsWith("-")) bin = tokens[2]!;
    else return { warning: `a #! of /usr/bin/env with several arguments (${tokens.join(" ")})` };
  }
  const base = bin.slice(bin.lastIndexOf("/") + 1);
  if (!base || IGNORED.has(base)) return {};
  return { interpreter: bin };
}
