import { constants } from "node:fs";
import { access } from "node:fs/promises";
import * as path from "node:path";

/** Finds an executable on PATH (`undefined` when absent), without spawning a shell. */
export async function findOnPath(
  program: string,
  envPath = process.env.PATH ?? "",
): Promise<string | undefined> {
  for (const dir of envPath.split(":")) {
    if (!dir) continue;
    const p = path.join(dir, program);
    try {
      await access(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}
