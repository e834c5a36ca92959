import { type Progress, silentProgress } from "../util/log";
import { repositoryScope } from "./auth";
import { lookupCredentials, type RegistryAuth, type ResolvedCredentials } from "./credentials";
import { repositoryName } from "./reference";
import { type RetryPolicy, retryPolicy } from "./retry";
import { RegistryTransport } from "./transport";
import type { RegistryRequest, RegistryResponse, RequestStats } from "./wire";

/** How to reach and authenticate to a registry; shared by every registry function. */
export interface RegistryOptions {
  /** Explicit credentials; when absent, `~/.docker/config.json` (or `$DOCKER_CONFIG`) is consulted. */
  auth?: RegistryAuth;
  /** Directory holding docker's `config.json` (default `$DOCKER_CONFIG`, else `~/.docker`). */
  dockerConfigDir?: string;
  /** Environment used for `DOCKER_CONFIG`, `HOME` and the `PATH` of `docker-credential-*` helpers. */
  env?: NodeJS.ProcessEnv;
  /** Extra trusted CA certificates (PEM), added to the system roots. */
  caBundle?: string | Buffer;
  /**
   * Allow plain HTTP and unverified TLS for this registry. Without it, only loopback hosts
   * (127.0.0.0/8, ::1, localhost) may fall back to plain HTTP, and TLS is always verified.
   */
  insecure?: boolean;
  retry?: Partial<RetryPolicy>;
  /**
   * How long a request may wait for the response headers, and between two chunks of a response
   * body, before it fails as a (retried) timeout. Default 60 s; undici's own default is 300 s.
   */
  timeoutMs?: number;
  progress?: Progress;
  userAgent?: string;
}

export type RepositoryAccess = "pull" | "push" | "delete";

/** A repository on a client, with the token scope its requests ask for. */
export interface RepositoryHandle {
  client: RegistryClient;
  repository: string;
  scopes: string[];
}

/** Sends a request about `repo`: its token scopes (unless the request names more) and its name for errors. */
export function sendTo(
  repo: RepositoryHandle,
  req: Omit<RegistryRequest, "scopes" | "repository"> & { scopes?: string[] },
): Promise<RegistryResponse> {
  return repo.client.transport.send({ scopes: repo.scopes, repository: repo.repository, ...req });
}

/** `registry/repository`: what errors about `repo` name as their subject. */
export function repoSubject(repo: RepositoryHandle): string {
  return repositoryName({ registry: repo.client.registry, repository: repo.repository });
}

/**
 * One registry: its transport (TLS, auth, token cache, retries, request counts) and what this
 * process has learnt about where blobs live, so later pushes can mount instead of upload.
 * Reuse one client for many operations on a registry to share tokens and connections.
 */
export class RegistryClient {
  readonly transport: RegistryTransport;
  readonly retry: RetryPolicy;
  readonly progress: Progress;
  private readonly blobHomes: Map<string, Set<string>>;

  constructor(
    readonly registry: string,
    options: RegistryOptions = {},
  ) {
    this.blobHomes = blobHomesOf(registry);
    this.retry = retryPolicy(options.retry);
    this.progress = options.progress ?? silentProgress;
    const explicit = options.auth;
    const credentials = async (): Promise<ResolvedCredentials | undefined> => {
      if (
        explicit &&
        (explicit.username || explicit.password || explicit.identityToken || explicit.registryToken)
      ) {
        return { ...explicit, source: "explicit auth input" };
      }
      return lookupCredentials(registry, {
        ...(options.dockerConfigDir ? { dockerConfigDir: options.dockerConfigDir } : {}),
        ...(options.env ? { env: options.env } : {}),
      });
    };
    this.transport = new RegistryTransport({
      registry,
      credentials,
      ...(options.caBundle ? { caBundle: options.caBundle } : {}),
      ...(options.insecure ? { insecure: true } : {}),
      retry: this.retry,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      progress: this.progress,
      userAgent: options.userAgent ?? "pulumi-distroless",
    });
  }

  get stats(): RequestStats {
    return this.transport.stats;
  }

  repository(repository: string, access: RepositoryAccess[] = ["pull"]): RepositoryHandle {
    return { client: this, repository, scopes: [repositoryScope(repository, access)] };
  }

  rememberBlob(digest: string, repository: string): void {
    let homes = this.blobHomes.get(digest);
    if (!homes) {
      if (this.blobHomes.size >= MAX_REMEMBERED_BLOBS) {
        const oldest = this.blobHomes.keys().next().value;
        if (oldest !== undefined) this.blobHomes.delete(oldest);
      }
      homes = new Set();
      this.blobHomes.set(digest, homes);
    }
    homes.add(repository);
  }

  /** Repositories other than `except` this client has seen holding `digest`. */
  knownHomes(digest: string, except: string): string[] {
    return [...(this.blobHomes.get(digest) ?? [])].filter((r) => r !== except);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/**
 * Where blobs live, per registry, for the whole process: a Pulumi program pushing several images
 * to one registry mounts shared layers instead of uploading them again. Knowledge can go stale
 * (a repository deleted); a failed mount just falls back to an upload.
 */
const blobHomesByRegistry = new Map<string, Map<string, Set<string>>>();
const MAX_REMEMBERED_BLOBS = 10_000;

function blobHomesOf(registry: string): Map<string, Set<string>> {
  let homes = blobHomesByRegistry.get(registry);
  if (!homes) {
    homes = new Map();
    blobHomesByRegistry.set(registry, homes);
  }
  return homes;
}

/** A snapshot of request counts, to report what one operation cost on a shared client. */
export function statsSince(now: RequestStats, before: RequestStats): RequestStats {
  const byMethod: Record<string, number> = {};
  for (const [m, n] of Object.entries(now.byMethod)) {
    const d = n - (before.byMethod[m] ?? 0);
    if (d > 0) byMethod[m] = d;
  }
  return {
    total: now.total - before.total,
    byMethod,
    tokenRequests: now.tokenRequests - before.tokenRequests,
  };
}

export function snapshotStats(s: RequestStats): RequestStats {
  return { total: s.total, byMethod: { ...s.byMethod }, tokenRequests: s.tokenRequests };
}

/** Runs `fn` with the given client, or with a new one closed afterwards. */
export async function withClient<T>(
  registry: string,
  options: RegistryOptions & { client?: RegistryClient },
  fn: (client: RegistryClient) => Promise<T>,
): Promise<T> {
  if (options.client && options.client.registry === registry) return fn(options.client);
  const client = new RegistryClient(registry, options);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
