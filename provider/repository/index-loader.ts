import { readIndexArchive } from "../apk/index-archive";
import type { CompactIndex } from "../apk/index-compact";
import type { IndexEntry } from "../apk/index-text";
import type { SignatureAlgorithm } from "../apk/signature";
import { DistrolessError, errorMessage } from "../util/errors";
import { readFileCapped } from "../util/fs";
import { sha256Hex } from "../util/hash";
import { DEFAULT_MAX_INDEX_BYTES, type RepositoryContext, shared } from "./context";
import { stillTrusted, type TrustRecord, verifyIndexSignature } from "./index-trust";
import { decodeParsed, encodeParsed, type ParsedRecord } from "./parsed-index";
import { fetchRevalidated } from "./revalidated";
import { displayLocation, indexLocation, type RepositorySource } from "./source";

/** One repository's index for one arch, verified and parsed. */
export interface LoadedIndex {
  source: RepositorySource;
  arch: string;
  /** The index URL or path (credentials removed). */
  location: string;
  /** SHA-256 of the archive bytes: the identity of this index content. */
  sha256: string;
  /** The records in compact form (what the resolver reads). */
  index: CompactIndex;
  /** The records as plain objects, built on first access (costs heap on large indexes). */
  readonly entries: IndexEntry[];
  description: string;
  signatures: { algorithm: SignatureAlgorithm; keyName: string }[];
  /** The trusted key that signed it; absent when accepted through `allowUntrusted`. */
  verifiedBy?: TrustRecord;
  /** How the parsed entries were obtained: reused in this process, read from the cache, or parsed now. */
  parse: "memory" | "cache" | "parsed";
  /** How the archive was obtained. */
  fetch: "local" | "downloaded" | "not-modified" | "offline-cache";
}

/**
 * Parsed indexes by archive digest, shared by every client in this process. Content-addressed, so
 * sharing is safe; bounded so a long-lived provider process does not grow without limit.
 */
const memo = new Map<string, ParsedRecord>();
const MEMO_LIMIT = 24;

function remember(record: ParsedRecord): void {
  memo.delete(record.sha256);
  memo.set(record.sha256, record);
  while (memo.size > MEMO_LIMIT) memo.delete(memo.keys().next().value!);
}

/** Forgets the in-process parsed indexes (tests and benches use it to measure the cold paths). */
export function clearIndexMemo(): void {
  memo.clear();
}

export function loadIndex(
  ctx: RepositoryContext,
  source: RepositorySource,
  arch: string,
): Promise<LoadedIndex> {
  const location = indexLocation(source, arch);
  return shared(ctx, `index:${location}`, () => loadIndexUncached(ctx, source, arch, location));
}

async function loadIndexUncached(
  ctx: RepositoryContext,
  source: RepositorySource,
  arch: string,
  location: string,
  refetch = false,
): Promise<LoadedIndex> {
  const shown = displayLocation({ kind: source.kind, location });
  const what = `index of repository ${displayLocation(source)} for ${arch}`;
  const maxBytes = ctx.options.maxIndexBytes ?? DEFAULT_MAX_INDEX_BYTES;
  let data: Buffer | undefined;
  let sha256: string;
  let fetch: LoadedIndex["fetch"];
  if (source.kind === "local") {
    data = await readFileCapped(location, maxBytes).catch((err: unknown) => {
      if (err instanceof DistrolessError && err.code === "E_MISSING") {
        throw new DistrolessError("E_MISSING", `no ${what} (expected ${location})`, { subject: location });
      }
      throw err;
    });
    sha256 = sha256Hex(data);
    fetch = "local";
  } else {
    ({ data, sha256, fetch } = await fetchRevalidated(ctx, location, shown, what, maxBytes, refetch));
  }

  let parse: LoadedIndex["parse"] = "memory";
  let record = memo.get(sha256);
  if (!record) {
    // The seal says we parsed these bytes; whether they are signed is checked again now, against
    // the archive itself (a verification remembered on disk is not evidence: it is not stored).
    record = decodeParsed(await ctx.cache.readParsed(sha256), sha256, ctx.cache.parsedPath(sha256));
    parse = "cache";
  }
  const keyring = ctx.options.keyring;
  let verifiedBy = record && stillTrusted(record.trust, keyring);
  // The archive's bytes are needed to parse it, or to verify a parse no trusted key vouches for yet.
  if (!data && (!record || (!verifiedBy && keyring && record.index.signatures.length > 0))) {
    data = await ctx.cache.readBlob(sha256);
    if (!data) {
      // Only a remote index comes without its bytes (a 304): the cached archive went missing or was
      // corrupt, so fetch it again, unconditionally. Content that changed meanwhile is parsed afresh.
      const again = await fetchRevalidated(ctx, location, shown, what, maxBytes, true);
      data = again.data!; // an unconditional fetch always carries the bytes
      fetch = again.fetch;
      if (again.sha256 !== sha256) {
        sha256 = again.sha256;
        record = undefined;
      }
    }
  }
  if (!record) {
    const archive = await readIndexArchive(data!, { allowUntrusted: true, subject: shown, sha256 });
    record = { sha256, index: archive.index, trust: [] };
    parse = "parsed";
  }

  let trustError: unknown;
  if (!verifiedBy && keyring && record.index.signatures.length > 0) {
    try {
      verifiedBy = await verifyIndexSignature(data!, keyring, shown);
      // Kept in memory only (the in-process memo); the disk copy never vouches for itself.
      record.trust = [...record.trust.filter((t) => t.keyName !== verifiedBy!.keyName), verifiedBy];
    } catch (err) {
      trustError = err;
    }
  }
  if (!verifiedBy && keyring && fetch === "not-modified" && !refetch) {
    // The cache's record of what the server sent (index-meta) named bytes that do not verify: the
    // cache was damaged or written by someone else. What the server serves now decides.
    ctx.progress.warn(`${shown}: the cached copy of the index does not verify; fetching it again`);
    return loadIndexUncached(ctx, source, arch, location, true);
  }
  if (!verifiedBy) {
    const why = untrustedReason(record, ctx, trustError, shown);
    if (!ctx.options.allowUntrusted) {
      throw new DistrolessError("E_SIGNATURE", `the ${what} is not trusted: ${why}`, { subject: shown });
    }
    ctx.progress.warn(
      `${shown}: using an untrusted index (${why}) because untrusted repositories are allowed`,
    );
  }
  if (parse === "parsed") {
    await ctx.cache.ensureRoot();
    saveParsed(ctx, record);
  }
  remember(record);
  warnOnForeignArch(ctx, record.index, arch, shown);

  const index = record.index;
  const loaded: LoadedIndex = {
    source,
    arch,
    location: shown,
    sha256,
    index,
    get entries() {
      return index.entries();
    },
    description: index.description,
    signatures: index.signatures,
    parse,
    fetch,
  };
  if (verifiedBy) loaded.verifiedBy = verifiedBy;
  return loaded;
}

/**
 * Writes the parsed form in the background: the caller has its entries already, and encoding plus
 * writing a large index costs about as much as parsing it. `RepositoryClient.flush()` waits.
 */
function saveParsed(ctx: RepositoryContext, record: ParsedRecord): void {
  const write = new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => ctx.cache.writeParsed(record.sha256, encodeParsed(record)))
    .catch((err: unknown) =>
      ctx.progress.warn(`could not write the parsed-index cache: ${errorMessage(err)}`),
    )
    .finally(() => ctx.background.delete(write));
  ctx.background.add(write);
}

function untrustedReason(record: ParsedRecord, ctx: RepositoryContext, err: unknown, shown: string): string {
  const signatures = record.index.signatures;
  if (signatures.length === 0) return "it carries no signature";
  if (err) {
    const m = errorMessage(err);
    return m.startsWith(`${shown}: `) ? m.slice(shown.length + 2) : m;
  }
  const names = signatures.map((s) => s.keyName).join(", ");
  return ctx.options.keyring
    ? `signed with ${names}`
    : `signed with ${names}, but no trusted keys were given`;
}

function warnOnForeignArch(ctx: RepositoryContext, index: CompactIndex, arch: string, shown: string): void {
  let foreign = 0;
  let example = "";
  for (const [a, n] of index.arches) {
    if (a === arch || a === "noarch") continue;
    foreign += n;
    example ||= a;
  }
  if (foreign > 0) {
    ctx.progress.warn(
      `${shown}: the ${arch} index lists ${foreign} package(s) built for another arch (e.g. ${example})`,
    );
  }
}
