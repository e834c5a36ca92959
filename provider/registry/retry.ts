/**
 * When and how long to wait before trying a registry request again. Registries drop connections
 * under load, answer 429 with `Retry-After`, and return 5xx during deploys; all of those are worth
 * another try. Everything else (4xx) is an answer, not a hiccup.
 */
export interface RetryPolicy {
  /** Tries in total, the first included (default 5). */
  attempts: number;
  /** First backoff in ms, doubled each time (default 250). */
  baseDelayMs: number;
  /** Longest single wait in ms, also the cap on a server's `Retry-After` (default 10 000). */
  maxDelayMs: number;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 10_000 };

export function retryPolicy(partial?: Partial<RetryPolicy>): RetryPolicy {
  return { ...DEFAULT_RETRY, ...partial };
}

/** Statuses that mean "try again later" rather than "no". */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

/** The `code`s down an error's `cause` chain, outermost first. */
function causeCodes(err: unknown): string[] {
  const codes: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; depth < 6 && cur && typeof cur === "object"; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    cur = (cur as { cause?: unknown }).cause;
  }
  return codes;
}

/**
 * The errno-style code of a network error. undici wraps the socket's error (`ECONNRESET`, a TLS
 * failure) in its own (`UND_ERR_SOCKET`, "fetch failed"), so the most specific code down the
 * `cause` chain wins.
 */
export function networkErrorCode(err: unknown): string | undefined {
  const codes = causeCodes(err);
  return codes.find((c) => !c.startsWith("UND_ERR")) ?? codes[0];
}

/** A dropped or refused connection: the request may not have reached the registry; try again. */
export function isRetryableNetworkError(err: unknown): boolean {
  return causeCodes(err).some((c) => RETRYABLE_CODES.has(c));
}

/** Seconds or an HTTP date, as `Retry-After` allows; undefined when absent or unparseable. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The wait before try number `attempt` (1-based: the wait after the first failure is attempt 1). */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const exp = policy.baseDelayMs * 2 ** (attempt - 1);
  // Jitter keeps concurrent uploads that failed together from retrying in lockstep.
  const jitter = exp * 0.2 * Math.random();
  return Math.min(exp + jitter, policy.maxDelayMs);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
