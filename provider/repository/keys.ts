import * as path from "node:path";
import { Keyring } from "../apk/keys";
import { DistrolessError } from "../util/errors";
import { readFileCapped, writeFileAtomic } from "../util/fs";
import type { RepositoryContext } from "./context";
import { redactUrl } from "./source";

/** A trusted key as configured: a local file or a URL; `name` is the name signatures refer to. */
export interface KeySource {
  kind: "url" | "local";
  location: string;
  /** The key's file name (`<keyname>.rsa.pub`); defaults to the last path segment. */
  name?: string;
}

const MAX_KEY_BYTES = 64 << 10;

/**
 * Builds a keyring from files and URLs. A key fetched from a URL is kept in the cache and reused
 * (keys are trust anchors named by the user; they do not change under a URL), so an offline run
 * works once a key has been seen.
 */
export async function loadKeyring(
  ctx: RepositoryContext,
  keys: KeySource[],
  into = new Keyring(),
): Promise<Keyring> {
  for (const key of keys) {
    const name =
      key.name ?? path.basename(key.kind === "url" ? new URL(key.location).pathname : key.location);
    if (key.kind === "local") {
      into.add(name, await readFileCapped(key.location, MAX_KEY_BYTES));
      continue;
    }
    const shown = redactUrl(key.location);
    const file = ctx.cache.keyPath(shown);
    let pem = await readFileCapped(file, MAX_KEY_BYTES).catch(() => undefined);
    if (!pem) {
      if (ctx.options.offline) {
        throw new DistrolessError(
          "E_MISSING",
          `offline, and the cache (${ctx.cache.dir}) does not hold this key`,
          {
            subject: shown,
          },
        );
      }
      const res = await ctx.http.getBuffer(key.location, { maxBytes: MAX_KEY_BYTES, what: `key ${name}` });
      pem = res.value!;
      into.add(name, pem); // parse before caching: a bad download is an error, not a cache entry
      await writeFileAtomic(file, pem);
      continue;
    }
    into.add(name, pem);
  }
  return into;
}
