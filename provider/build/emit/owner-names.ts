/**
 * The owner names melange writes into a package's tar headers: it looks each (remapped) uid and
 * gid up in its build guest's /etc/passwd and /etc/group (the last line for an id wins) and leaves
 * the name empty when no account has it. Our guests are made by the same installer rules, so the
 * same files give the same names.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";

export interface OwnerNames {
  users: Map<number, string>;
  groups: Map<number, string>;
}

/** `name:x:id:...` lines -> id -> name; malformed lines are skipped, as melange's reader does. */
function idNames(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of text.split("\n")) {
    const fields = line.split(":");
    if (fields.length < 3 || fields[0] === "" || !/^\d+$/.test(fields[2]!)) continue;
    out.set(Number(fields[2]), fields[0]!);
  }
  return out;
}

async function readOptional(file: string): Promise<string> {
  try {
    return await fsp.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw err;
  }
}

/** The names a build guest's account files give; empty maps when it has none. */
export async function readOwnerNames(guestRoot: string): Promise<OwnerNames> {
  return {
    users: idNames(await readOptional(path.join(guestRoot, "etc", "passwd"))),
    groups: idNames(await readOptional(path.join(guestRoot, "etc", "group"))),
  };
}
