import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { HttpClient } from "../repository/http";
import { redactUrl } from "../repository/source";
import { DistrolessError } from "../util/errors";
import { writeFileAtomic } from "../util/fs";
import { sha256Hex } from "../util/hash";
import { mergeSecurityDbs, parseSecurityDb, type SecurityDb } from "./secdb";

export interface SecurityDbOptions {
  /** The cache root; databases from URLs live under `secdb/`, revalidated with ETag/Last-Modified. */
  cacheDir: string;
  /** Use only what the cache holds. */
  offline?: boolean;
  http?: HttpClient;
}

const MAX_BYTES = 256 << 20;

/**
 * Loads security databases from files or URLs. A URL is fetched once and then revalidated with a
 * conditional request, like an index. A database is advice (it only adds warnings and notes): it
 * is not signed, so nothing about what gets installed depends on it.
 */
export async function loadSecurityDbs(
  locations: readonly string[],
  options: SecurityDbOptions,
): Promise<SecurityDb> {
  const dbs: SecurityDb[] = [];
  for (const location of locations) dbs.push(await loadOne(location, options));
  return mergeSecurityDbs(dbs);
}

async function loadOne(location: string, options: SecurityDbOptions): Promise<SecurityDb> {
  if (!/^https?:\/\//i.test(location)) {
    const text = await fsp.readFile(location, "utf8").catch((err: NodeJS.ErrnoException) => {
      throw new DistrolessError(
        "E_MISSING",
        `cannot read the security database: ${err.code ?? err.message}`,
        {
          subject: location,
        },
      );
    });
    return parseSecurityDb(text, location);
  }
  const shown = redactUrl(location);
  const base = path.join(options.cacheDir, "secdb", sha256Hex(location).slice(0, 32));
  const cached = await fsp.readFile(`${base}.json`, "utf8").catch(() => undefined);
  const meta = JSON.parse((await fsp.readFile(`${base}.meta`, "utf8").catch(() => "{}")) || "{}") as {
    etag?: string;
    lastModified?: string;
  };
  if (options.offline) {
    if (cached === undefined) {
      throw new DistrolessError(
        "E_MISSING",
        `offline, and the cache (${options.cacheDir}) holds no copy of it`,
        {
          subject: shown,
        },
      );
    }
    return parseSecurityDb(cached, shown);
  }
  const headers: Record<string, string> = {};
  if (cached !== undefined && meta.etag) headers["if-none-match"] = meta.etag;
  if (cached !== undefined && meta.lastModified) headers["if-modified-since"] = meta.lastModified;
  const http = options.http ?? new HttpClient();
  const res = await http.getBuffer(location, { headers, maxBytes: MAX_BYTES, what: "security database" });
  if (res.status === 304 && cached !== undefined) return parseSecurityDb(cached, shown);
  const text = res.value!.toString("utf8");
  const db = parseSecurityDb(text, shown); // only a database that parses is cached
  await writeFileAtomic(`${base}.json`, text);
  await writeFileAtomic(`${base}.meta`, JSON.stringify({ etag: res.etag, lastModified: res.lastModified }));
  return db;
}
