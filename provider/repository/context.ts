import type { Keyring } from "../apk/keys";
import type { Progress } from "../util/log";
import type { HostCredentials } from "./auth";
import type { RepositoryCache } from "./cache";
import type { HttpClient, RetryPolicy } from "./http";

/** Options shared by index loading, key fetching and package fetching. */
export interface RepositoryOptions {
  /** Cache directory (default `$XDG_CACHE_HOME/pulumi-distroless` or `~/.cache/pulumi-distroless`). */
  cacheDir?: string;
  /**
   * The file holding the key that seals parsed indexes in the cache (see cache-seal.ts); default
   * `$XDG_STATE_HOME/pulumi-distroless/cache-seal.key`. `PULUMI_DISTROLESS_CACHE_KEY` in `env` wins.
   */
  cacheSealKeyFile?: string;
  /** Use only what the cache holds; anything missing is an error naming what is missing. */
  offline?: boolean;
  /** Trusted keys for index signatures. */
  keyring?: Keyring;
  /** Accept indexes without a signature from a trusted key (a warning is still reported). */
  allowUntrusted?: boolean;
  /** Basic-auth credentials by host; merged over `HTTP_AUTH` from `env`. */
  credentials?: HostCredentials;
  /** Environment to read `HTTP_AUTH` and the default cache location from (default process.env). */
  env?: NodeJS.ProcessEnv;
  retry?: RetryPolicy;
  /** Idle timeout per HTTP request (default 60 s). */
  timeoutMs?: number;
  /** Size cap for one index archive (default 256 MiB). */
  maxIndexBytes?: number;
  /** Size cap for one package when the index gives no size (default 2 GiB). */
  maxPackageBytes?: number;
  progress?: Progress;
}

/** What the loaders share inside one client. */
export interface RepositoryContext {
  http: HttpClient;
  cache: RepositoryCache;
  options: RepositoryOptions;
  progress: Progress;
  /** In-flight requests by key, so concurrent callers share one fetch. */
  inflight: Map<string, Promise<unknown>>;
  /** Cache writes nobody waits for (see `RepositoryClient.flush`). */
  background: Set<Promise<unknown>>;
}

export const DEFAULT_MAX_INDEX_BYTES = 256 << 20;
export const DEFAULT_MAX_PACKAGE_BYTES = 2 ** 31;

/** Runs `fn` once per key at a time; callers arriving meanwhile get the same promise. */
export function shared<T>(ctx: RepositoryContext, key: string, fn: () => Promise<T>): Promise<T> {
  const existing = ctx.inflight.get(key) as Promise<T> | undefined;
  if (existing) return existing;
  const p = fn().finally(() => ctx.inflight.delete(key));
  ctx.inflight.set(key, p);
  return p;
}
