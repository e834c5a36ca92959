import { DistrolessError } from "../util/errors";
import type { RepositoryContext } from "./context";

/** How a remote document was obtained. */
export type FetchOutcome = "downloaded" | "not-modified" | "offline-cache";

interface FetchMeta {
  url: string;
  sha256: string;
  etag?: string;
  lastModified?: string;
  fetchedAt: string;
}

/**
 * One conditional GET when the cache knows the document (If-None-Match / If-Modified-Since), a
 * plain GET otherwise; the body goes into the content-addressed cache. On 304 the body is not read
 * at all: its digest comes from the cache metadata. Offline, only the cache answers. Used for
 * indexes and security databases alike.
 */
export async function fetchRevalidated(
  ctx: Pick<RepositoryContext, "cache" | "http" | "options">,
  url: string,
  shown: string,
  what: string,
  maxBytes: number,
  force: boolean,
): Promise<{ data?: Buffer; sha256: string; fetch: FetchOutcome }> {
  const metaFile = ctx.cache.metaPath(shown);
  const meta = force ? undefined : await ctx.cache.readJson<FetchMeta>(metaFile);
  if (ctx.options.offline) {
    const cached = meta ?? (await ctx.cache.readJson<FetchMeta>(metaFile));
    const data = cached ? await ctx.cache.readBlob(cached.sha256) : undefined;
    if (!cached || !data) {
      throw new DistrolessError(
        "E_MISSING",
        `offline, and the cache (${ctx.cache.dir}) holds no ${what}${cached ? " (its cached copy was missing or corrupt)" : ""}`,
        { subject: shown },
      );
    }
    return { data, sha256: cached.sha256, fetch: "offline-cache" };
  }
  const headers: Record<string, string> = {};
  if (meta?.etag) headers["if-none-match"] = meta.etag;
  if (meta?.lastModified) headers["if-modified-since"] = meta.lastModified;
  const res = await ctx.http.getBuffer(url, { headers, maxBytes, what });
  if (res.status === 304 && meta) return { sha256: meta.sha256, fetch: "not-modified" };
  if (!res.value) {
    // A 304 we did not ask for: start over without conditions.
    return fetchRevalidated(ctx, url, shown, what, maxBytes, true);
  }
  const data = res.value;
  const sha256 = await ctx.cache.writeBlob(data);
  const next: FetchMeta = { url: shown, sha256, fetchedAt: new Date().toISOString() };
  if (res.etag) next.etag = res.etag;
  if (res.lastModified) next.lastModified = res.lastModified;
  await ctx.cache.writeJson(metaFile, next);
  return { data, sha256, fetch: "downloaded" };
}
