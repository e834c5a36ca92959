import type { Keyring } from "../apk/keys";
import { silentProgress } from "../util/log";
import { credentialsFromEnv } from "./auth";
import { defaultCacheDir, RepositoryCache } from "./cache";
import type { RepositoryContext, RepositoryOptions } from "./context";
import { HttpClient } from "./http";
import { type LoadedIndex, loadIndex } from "./index-loader";
import { type KeySource, loadKeyring } from "./keys";
import type { FetchedPackage, FetchPackageOptions, PackageRef } from "./package-fetcher";
import { fetchRevalidated } from "./revalidated";
import { type RepositorySource, redactUrl } from "./source";

/**
 * The fetch side of repositories: indexes (verified, cached, revalidated), keys, and packages
 * (verified, cached). One client per configuration; cheap to create. Parsed indexes are also
 * shared process-wide by content digest.
 */
export class RepositoryClient {
  private readonly ctx: RepositoryContext;

  constructor(options: RepositoryOptions = {}) {
    const env = options.env ?? process.env;
    const credentials = { ...credentialsFromEnv(env), ...options.credentials };
    this.ctx = {
      http: new HttpClient({
        credentials,
        ...(options.retry ? { retry: options.retry } : {}),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      }),
      cache: new RepositoryCache(options.cacheDir ?? defaultCacheDir(env), {
        env,
        ...(options.cacheSealKeyFile ? { keyFile: options.cacheSealKeyFile } : {}),
      }),
      options,
      progress: options.progress ?? silentProgress,
      inflight: new Map(),
      background: new Set(),
    };
    void this.ctx.cache.sweepStaging();
  }

  get cacheDir(): string {
    return this.ctx.cache.dir;
  }

  get keyring(): Keyring | undefined {
    return this.ctx.options.keyring;
  }

  /** Loads `<repo>/<arch>/APKINDEX.tar.gz`, verified against the keyring unless untrusted is allowed. */
  loadIndex(source: RepositorySource, arch: string): Promise<LoadedIndex> {
    return loadIndex(this.ctx, source, arch);
  }

  /** Loads the given keys (files or URLs) into the client's keyring (creating one if needed). */
  async addKeys(keys: KeySource[]): Promise<Keyring> {
    const ring = await loadKeyring(this.ctx, keys, this.ctx.options.keyring);
    this.ctx.options = { ...this.ctx.options, keyring: ring };
    return ring;
  }

  /**
   * A document from a URL (a security database, say), cached and revalidated like an index, with
   * the same credentials, retries and offline rules. Its content is not verified: callers use it
   * for what needs no signature.
   */
  async fetchDocument(url: string, what: string, maxBytes: number): Promise<Buffer> {
    const shown = redactUrl(url);
    const got = await fetchRevalidated(this.ctx, url, shown, what, maxBytes, false);
    const data = got.data ?? (await this.ctx.cache.readBlob(got.sha256));
    if (data) return data;
    // The metadata outlived its body (a damaged or cleaned cache): fetch it whole again.
    const again = await fetchRevalidated(this.ctx, url, shown, what, maxBytes, true);
    return again.data ?? (await this.ctx.cache.readBlob(again.sha256))!;
  }

  /** Waits for background cache writes (parsed indexes) to finish. */
  async flush(): Promise<void> {
    while (this.ctx.background.size > 0) await Promise.all([...this.ctx.background]);
  }

  fetchPackage(ref: PackageRef, options?: FetchPackageOptions): Promise<FetchedPackage> {
    // Loaded on first use: resolving (`lock`, preview) reads indexes only, never a package.
    const { fetchPackage } = require("./package-fetcher") as typeof import("./package-fetcher");
    return fetchPackage(this.ctx, ref, options);
  }
}
