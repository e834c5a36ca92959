import type { Dispatcher } from "undici";
import { DistrolessError, errorMessage } from "../util/errors";
import { request } from "../util/undici-lean";
import { basicAuthHeader, credentialsFor, type HostCredentials } from "./auth";
import { redactUrl } from "./source";

export interface RetryPolicy {
  /** Total tries per request, first one included (default 4). */
  attempts?: number;
  /** First backoff delay; doubles each retry, with jitter (default 250 ms). */
  baseDelayMs?: number;
  /** Cap on one delay, `Retry-After` included (default 10 s). */
  maxDelayMs?: number;
}

export interface HttpClientOptions {
  credentials?: HostCredentials;
  retry?: RetryPolicy;
  /** Idle timeout for headers and for each body chunk (default 60 s). */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  userAgent?: string;
}

export interface FetchOptions {
  headers?: Record<string, string>;
  /** The response body may not exceed this many bytes. */
  maxBytes: number;
  /** What is being fetched, for messages ("index of <repo> for x86_64"). */
  what: string;
}

export interface FetchResult<T> {
  status: number;
  etag?: string;
  lastModified?: string;
  /** Undefined for 304 Not Modified. */
  value?: T;
  /** The URL that answered, after redirects (credentials removed). */
  finalUrl: string;
}

/** Consumes one response body; called again from scratch when the request is retried. */
export type BodyConsumer<T> = (body: AsyncIterable<Buffer>) => Promise<T>;

const RETRYABLE_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);
const MAX_REDIRECTS = 5;

/** A marker for failures worth another try (connection trouble, 429, 5xx). */
class Retryable extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * GETs over undici with what a package client needs and nothing more: basic auth per host (never
 * forwarded to another host on redirect), retries with exponential backoff on connection errors,
 * 429 and 5xx (honouring `Retry-After`), a byte cap per response, and errors that name the URL
 * without its credentials.
 */
export class HttpClient {
  private readonly credentials: HostCredentials;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher | undefined;
  private readonly userAgent: string;

  constructor(options: HttpClientOptions = {}) {
    this.credentials = options.credentials ?? {};
    this.attempts = Math.max(1, options.retry?.attempts ?? 4);
    this.baseDelayMs = options.retry?.baseDelayMs ?? 250;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 10_000;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.dispatcher = options.dispatcher;
    this.userAgent = options.userAgent ?? "pulumi-distroless";
  }

  /** Fetches into memory (indexes, keys). */
  async getBuffer(url: string, options: FetchOptions): Promise<FetchResult<Buffer>> {
    return this.get(url, options, async (body) => {
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk);
      return Buffer.concat(chunks);
    });
  }

  async get<T>(url: string, options: FetchOptions, consume: BodyConsumer<T>): Promise<FetchResult<T>> {
    const shown = redactUrl(url);
    let lastError = "";
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        return await this.once(url, options, consume);
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        lastError = err.message;
        if (attempt === this.attempts) break;
        await sleep(this.delay(attempt, err.retryAfterMs));
      }
    }
    throw new DistrolessError(
      "E_NETWORK",
      `fetching the ${options.what} failed after ${this.attempts} attempt(s): ${lastError}`,
      { subject: shown },
    );
  }

  private delay(attempt: number, retryAfterMs?: number): number {
    const backoff = this.baseDelayMs * 2 ** (attempt - 1) * (0.8 + Math.random() * 0.4);
    return Math.min(this.maxDelayMs, Math.max(backoff, retryAfterMs ?? 0));
  }

  private async once<T>(
    url: string,
    options: FetchOptions,
    consume: BodyConsumer<T>,
  ): Promise<FetchResult<T>> {
    let current = new URL(url);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = { "user-agent": this.userAgent, ...options.headers };
      const creds = credentialsFor(current, this.credentials);
      if (creds) headers.authorization = basicAuthHeader(creds);
      const target = new URL(current.href);
      target.username = "";
      target.password = "";
      const shown = redactUrl(current.href);
      let res: Dispatcher.ResponseData;
      try {
        res = await request(target, {
          method: "GET",
          headers,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
          highWaterMark: bodyBufferFor(options.maxBytes),
          ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
        });
      } catch (err) {
        throw networkError(err, shown);
      }
      const status = res.statusCode;
      // Only a 200 has a body we read; any other answer's body is drained so the connection is reused.
      if (status !== 200) await res.body.dump().catch(() => {});
      if (status >= 300 && status < 400 && status !== 304) {
        const location = header(res.headers, "location");
        if (!location)
          throw new DistrolessError("E_NETWORK", `HTTP ${status} without a Location`, { subject: shown });
        const next = new URL(location, target);
        // Credentials are for the host they were given for; user info never follows a redirect.
        if (next.host !== current.host) next.username = next.password = "";
        else if (current.username) {
          next.username = current.username;
          next.password = current.password;
        }
        current = next;
        continue;
      }
      if (status === 429 || status >= 500) {
        throw new Retryable(`HTTP ${status} from ${shown}`, retryAfter(header(res.headers, "retry-after")));
      }
      if (status === 401 || status === 403) {
        const host = current.host;
        throw new DistrolessError(
          "E_AUTH",
          creds
            ? `HTTP ${status}: the credentials for ${host} were refused`
            : `HTTP ${status}: ${host} requires credentials (set HTTP_AUTH=basic:${current.hostname}:USER:PASS or pass them to the provider)`,
          { subject: shown },
        );
      }
      if (status === 404) {
        throw new DistrolessError("E_MISSING", `${options.what} not found (HTTP 404)`, { subject: shown });
      }
      const result: FetchResult<T> = { status, finalUrl: shown };
      const etag = header(res.headers, "etag");
      const lastModified = header(res.headers, "last-modified");
      if (etag) result.etag = etag;
      if (lastModified) result.lastModified = lastModified;
      if (status === 304) return result;
      if (status !== 200) {
        throw new DistrolessError("E_NETWORK", `unexpected HTTP ${status} for the ${options.what}`, {
          subject: shown,
        });
      }
      const declared = Number(header(res.headers, "content-length") ?? Number.NaN);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        discard(res.body);
        throw tooLarge(options, shown);
      }
      try {
        result.value = await consume(capped(res.body, options, shown));
      } catch (err) {
        discard(res.body);
        if (err instanceof DistrolessError || err instanceof Retryable) throw err;
        throw networkError(err, shown);
      }
      return result;
    }
    throw new DistrolessError("E_NETWORK", `more than ${MAX_REDIRECTS} redirects`, {
      subject: redactUrl(url),
    });
  }
}

/**
 * The response body's buffer is sized to hold the whole capped body, so a slow consumer never makes
 * undici pause its HTTP/1 parser. undici 7 asserts `!paused` when a server closes the connection
 * (`Connection: close`, HTTP/1.0 servers such as `python3 -m http.server`) while the parser is
 * paused, an uncatchable crash (nodejs/undici#5360). The fix shipped in undici 8.5, which needs Node
 * >= 22.19 and does not load on Node 20; until Node 20 is dropped, backpressure stops at this buffer:
 * a download slower to write than to receive holds at most `maxBytes` (already the cap) in memory.
 */
export function bodyBufferFor(maxBytes: number): number {
  return Math.max(64 << 10, Math.min(maxBytes, Number.MAX_SAFE_INTEGER - 1) + 1);
}

async function* capped(
  body: AsyncIterable<Buffer>,
  options: FetchOptions,
  shown: string,
): AsyncIterable<Buffer> {
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > options.maxBytes) throw tooLarge(options, shown);
    yield chunk;
  }
}

function tooLarge(options: FetchOptions, shown: string): DistrolessError {
  return new DistrolessError(
    "E_HOSTILE",
    `the ${options.what} is larger than the ${options.maxBytes}-byte limit`,
    {
      subject: shown,
    },
  );
}

function networkError(err: unknown, shown: string): Error {
  if (err instanceof DistrolessError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? (err as { cause?: NodeJS.ErrnoException }).cause?.code;
  const message = `${code ? `${code}: ` : ""}${errorMessage(err)}`;
  if (code && RETRYABLE_CODES.has(code)) return new Retryable(`${message} (${shown})`);
  if (err instanceof TypeError && /fetch failed|other side closed|terminated/i.test(err.message)) {
    return new Retryable(`${message} (${shown})`);
  }
  return new DistrolessError("E_NETWORK", message, { subject: shown, cause: err });
}

/** Drops a response body we will not read; its late "aborted" error is expected, not a crash. */
function discard(body: Dispatcher.ResponseData["body"]): void {
  body.on("error", () => {});
  body.destroy();
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function retryAfter(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
