import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { RepositoryClient } from "../repository/client";
import { redactUrl } from "../repository/source";
import { DistrolessError } from "../util/errors";
import { mergeSecurityDbs, parseSecurityDb, type SecurityDb } from "./secdb";

const MAX_BYTES = 256 << 20;

function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/**
 * Loads security databases from files (relative to `baseDir`) or URLs. A URL goes through the
 * repository client: cached and revalidated with one conditional request, like an index. A database
 * is advice (it only adds warnings and notes): it is not signed, so nothing about what gets
 * installed depends on it.
 */
export async function loadSecurityDbs(
  locations: readonly string[],
  client: RepositoryClient,
  baseDir = process.cwd(),
): Promise<SecurityDb> {
  const dbs: SecurityDb[] = [];
  for (const location of locations) {
    if (isUrl(location)) {
      const data = await client.fetchDocument(location, "security database", MAX_BYTES);
      dbs.push(parseSecurityDb(data.toString("utf8"), redactUrl(location)));
      continue;
    }
    const file = path.resolve(baseDir, location);
    const text = await fsp.readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new DistrolessError(
        "E_MISSING",
        `cannot read the security database: ${err.code ?? err.message}`,
        {
          subject: file,
        },
      );
    });
    dbs.push(parseSecurityDb(text, file));
  }
  return mergeSecurityDbs(dbs);
}
