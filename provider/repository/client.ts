import type { Keyring } from "../apk/keys";
import { silentProgress } from "../util/log";
import { credentialsFromEnv } from "./auth";
import { defaultCacheDir, RepositoryCache } from "./cache";
import type { RepositoryContext, RepositoryOptions } from "./context";
import { HttpClient } from "./http";
import { type LoadedIndex, loadIndex } from "./index-loader";
import { type KeySource, loadKeyring } from "./keys";
import {
  type FetchedPackage,
  type FetchPackageOptions,
  fetchPackage,
  type PackageRef,
} from "./package-fetcher";
import type { RepositorySource } from "./source";

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

  /** Waits for background cache writes (parsed indexes) to finish. */
  async flush(): Promise<void> {
    while (this.ctx.background.size > 0) await Promise.all([...this.ctx.background]);
  }

  fetchPackage(ref: PackageRef, options?: FetchPackageOptions): Promise<FetchedPackage> {
    return fetchPackage(this.ctx, ref, options);
  }
}
