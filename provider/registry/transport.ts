import type { Agent } from "undici";
import { DistrolessError } from "../util/errors";
import { newAgent, request } from "../util/undici-lean";
import { type AuthMode, basicHeader, challengeScopes, modeFromChallenges, TokenCache } from "./auth";
import { parseChallenges } from "./challenge";
import type { ResolvedCredentials } from "./credentials";
import { apiHost, isLoopbackHost } from "./reference";
import {
  backoffDelay,
  isRetryableNetworkError,
  isRetryableStatus,
  networkErrorCode,
  parseRetryAfter,
  sleep,
} from "./retry";
import type { RegistryRequest, RegistryResponse, RequestStats, TransportOptions } from "./wire";
import { header, registryErrorText } from "./wire";

/**
 * A registry that accepted a connection and then says nothing is retried after this long instead of
 * undici's 300 s. Uploads are not cut short by it: undici restarts the headers timer whenever body
 * bytes go out and once the body is sent, so it bounds only the registry's silence.
 */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** TLS failures that mean "this server does not speak TLS": the cue to fall back to plain HTTP. */
const NOT_TLS = new Set(["ERR_SSL_WRONG_VERSION_NUMBER", "EPROTO", "ERR_SSL_PACKET_LENGTH_TOO_LONG"]);
const CERT_ERRORS =
  /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_GET_ISSUER|HOSTNAME_MISMATCH/;

/**
 * The CAs a connection to the registry trusts; undefined: Node's defaults. Unverified (insecure)
 * TLS trusts none: an empty list spares Node building its store of ~140 root CAs for the https probe
 * of a plain-HTTP registry (~40 ms of CPU on Node 20) when no certificate is checked anyway.
 * node:tls only with a CA bundle: undici loads it itself for https, a plain-HTTP push never does.
 */
function trustedCas(options: TransportOptions): string[] | undefined {
  if (options.insecure) return [];
  if (!options.caBundle) return undefined;
  return [
    ...(require("node:tls") as typeof import("node:tls")).rootCertificates,
    options.caBundle.toString(),
  ];
}

/**
 * HTTP to one registry: picks https (or http for loopback/insecure), authorizes requests the way
 * the registry asked (Basic, or Bearer tokens cached per scope), retries transient failures, counts
 * requests, and turns failures into `DistrolessError`s that name the registry and operation but
 * never a credential.
 */
export class RegistryTransport {
  readonly registry: string;
  readonly host: string;
  /**
   * The host as a URL spells it (`127.1:5000` becomes `127.0.0.1:5000`, names lower-case): what
   * request URLs are compared with before credentials go out.
   */
  private readonly urlHost: string;
  readonly stats: RequestStats = { total: 0, byMethod: {}, tokenRequests: 0 };
  private readonly agent: Agent;
  private scheme: "https" | "http" | undefined;
  private mode: AuthMode = { kind: "unknown" };
  /** The https attempt deciding the scheme, while it runs. */
  private schemeProbe: Promise<void> | undefined;
  private readonly tokens: TokenCache;
  private credentials: ResolvedCredentials | undefined;
  private credentialsLoaded: Promise<void> | undefined;

  constructor(private readonly options: TransportOptions) {
    this.registry = options.registry;
    this.host = apiHost(options.registry.toLowerCase());
    this.urlHost = new URL(`http://${this.host}`).host;
    this.agent = newAgent({
      connect: { ca: trustedCas(options), rejectUnauthorized: !options.insecure },
      connections: 8,
      keepAliveTimeout: 10_000,
      headersTimeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      bodyTimeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
    this.tokens = new TokenCache(
      (url, init) => this.tokenFetch(url, init),
      () => this.credentials,
      this.registry,
    );
  }

  private loadCredentials(): Promise<void> {
    this.credentialsLoaded ??= this.options.credentials().then((c) => {
      this.credentials = c;
    });
    return this.credentialsLoaded;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Sends a request, handling auth challenges and retries; returns whatever status it ends with. */
  async send(req: RegistryRequest): Promise<RegistryResponse> {
    const policy = this.options.retry;
    const retry = req.retry ?? true;
    for (let attempt = 1; ; attempt++) {
      let res: RegistryResponse;
      try {
        res = await this.sendAuthorized(req);
      } catch (err) {
        if (err instanceof DistrolessError) throw err;
        if (retry && attempt < policy.attempts && isRetryableNetworkError(err)) {
          const wait = backoffDelay(policy, attempt);
          this.options.progress.warn(
            `${req.operation}: ${networkErrorCode(err)} from ${this.registry}; retrying in ${Math.round(wait)} ms`,
          );
          await sleep(wait);
          continue;
        }
        throw this.networkError(req, err, attempt);
      }
      if (retry && attempt < policy.attempts && isRetryableStatus(res.status)) {
        const wait = backoffDelay(policy, attempt, parseRetryAfter(header(res, "retry-after")));
        this.options.progress.warn(
          `${req.operation}: HTTP ${res.status} from ${this.registry}; retrying in ${Math.round(wait)} ms`,
        );
        await sleep(wait);
        continue;
      }
      return res;
    }
  }

  /**
   * One try, plus the auth round trips a 401 asks for: learn the scheme, then send credentials or a
   * token; a token that was sent and refused (expired, revoked) is fetched anew once.
   */
  private async sendAuthorized(req: RegistryRequest): Promise<RegistryResponse> {
    let forceToken = false;
    let extraScopes: string[] = [];
    for (let round = 0; ; round++) {
      const auth = await this.authorization(req, forceToken, extraScopes);
      const res = await this.raw(req, auth);
      if (res.status !== 401) return res;
      await this.loadCredentials();
      const challenges = parseChallenges(res.headers["www-authenticate"]);
      const mode = modeFromChallenges(challenges);
      const sent = auth !== undefined && (auth.startsWith("Basic ") || this.credentials !== undefined);
      if (!mode || round >= 2) throw this.authError(req, res, sent);
      if (this.credentials?.registryToken) {
        if (auth !== undefined) throw this.authError(req, res, true);
      } else if (mode.kind === "basic") {
        const creds = this.credentials;
        if (!creds?.username || creds.password === undefined) throw this.authError(req, res, false);
        if (auth?.startsWith("Basic ")) throw this.authError(req, res, true);
      } else {
        if (auth?.startsWith("Bearer ")) {
          if (forceToken) throw this.authError(req, res, sent);
          forceToken = true;
        }
        extraScopes = challengeScopes(challenges);
      }
      this.mode = mode;
    }
  }

  private async authorization(
    req: RegistryRequest,
    forceToken: boolean,
    extraScopes: string[],
  ): Promise<string | undefined> {
    if (this.mode.kind !== "unknown") await this.loadCredentials();
    const creds = this.credentials;
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    if (this.mode.kind === "basic") {
      return creds?.username !== undefined && creds.password !== undefined
        ? basicHeader(creds.username, creds.password)
        : undefined;
    }
    if (this.mode.kind === "bearer") {
      const token = await this.tokens.get(this.mode, req.scopes, { force: forceToken, extraScopes });
      return `Bearer ${token}`;
    }
    return undefined;
  }

  /**
   * One HTTP exchange on the wire. For hosts that may speak plain HTTP (loopback, insecure), the first
   * request tries https alone while concurrent ones wait; a "this is not TLS" failure switches the
   * registry to http for good, as docker does for insecure registries.
   */
  private async raw(req: RegistryRequest, authorization: string | undefined): Promise<RegistryResponse> {
    if (this.scheme === undefined && !this.mayUsePlainHttp()) this.scheme = "https";
    while (this.scheme === undefined && this.schemeProbe) await this.schemeProbe;
    if (this.scheme !== undefined)
      return this.exchange(req, this.resolveUrl(req.url, this.scheme), authorization);

    let release = () => {};
    this.schemeProbe = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      const res = await this.exchange(req, this.resolveUrl(req.url, "https"), authorization);
      this.scheme = "https";
      return res;
    } catch (err) {
      const code = networkErrorCode(err);
      if (!code || !NOT_TLS.has(code)) throw err;
      this.scheme = "http";
      return this.exchange(req, this.resolveUrl(req.url, "http"), authorization);
    } finally {
      this.schemeProbe = undefined;
      release();
    }
  }

  private async exchange(
    req: RegistryRequest,
    url: string,
    authorization: string | undefined,
  ): Promise<RegistryResponse> {
    const headers: Record<string, string> = { "user-agent": this.options.userAgent, ...req.headers };
    // Credentials go only to the registry itself, never to a host an upload URL points elsewhere.
    if (authorization && new URL(url).host === this.urlHost) headers.authorization = authorization;
    const body = req.body?.();
    const count = () => {
      this.stats.total++;
      this.stats.byMethod[req.method] = (this.stats.byMethod[req.method] ?? 0) + 1;
    };
    const limit = req.maxBodyBytes ?? 8 << 20;
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(url, {
        dispatcher: this.agent,
        method: req.method,
        headers,
        // Room for the whole capped body: undici 7 crashes when a server closes the connection under
        // a paused parser (see bodyBufferFor in repository/http.ts).
        highWaterMark: limit + 1,
        ...(body !== undefined ? { body } : {}),
      });
      count();
    } catch (err) {
      // A TLS handshake refused by a plain-HTTP server never became an HTTP request.
      if (!NOT_TLS.has(networkErrorCode(err) ?? "")) count();
      throw err;
    } finally {
      // A stream the server stopped reading (an early 401, a dropped connection) must not keep its file open.
      if (body && !Buffer.isBuffer(body) && !body.readableEnded) body.destroy();
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        res.body.destroy();
        throw new DistrolessError("E_HOSTILE", `${req.operation}: response is over ${limit} bytes`, {
          subject: this.subject(req),
        });
      }
      chunks.push(chunk as Buffer);
    }
    return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), url };
  }

  private mayUsePlainHttp(): boolean {
    return this.options.insecure === true || isLoopbackHost(this.host);
  }

  private resolveUrl(url: string, scheme: "https" | "http"): string {
    if (!/^https?:\/\//.test(url)) return `${scheme}://${this.host}${url}`;
    const parsed = new URL(url);
    // Registries behind proxies sometimes hand out http:// upload URLs for an https endpoint.
    if (parsed.host === this.urlHost) parsed.protocol = `${scheme}:`;
    else if (parsed.protocol === "http:" && !this.options.insecure && !isLoopbackHost(parsed.host)) {
      throw new DistrolessError("E_REGISTRY", `the registry sent us to plain-HTTP ${parsed.host}`, {
        subject: this.registry,
      });
    }
    return parsed.toString();
  }

  /** Token endpoint requests share the agent (so custom CAs apply) but not the registry's auth. */
  private async tokenFetch(
    url: string,
    init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string },
  ): Promise<{ status: number; body: Buffer }> {
    const parsed = new URL(url);
    if (parsed.protocol !== "https:" && !this.options.insecure && !isLoopbackHost(parsed.host)) {
      throw new DistrolessError(
        "E_AUTH",
        `token realm ${parsed.origin} is not HTTPS; refusing to send credentials`,
        {
          subject: this.registry,
        },
      );
    }
    const policy = this.options.retry;
    for (let attempt = 1; ; attempt++) {
      this.stats.tokenRequests++;
      try {
        const res = await request(url, {
          dispatcher: this.agent,
          method: init.method,
          headers: { "user-agent": this.options.userAgent, ...init.headers },
          ...(init.body !== undefined ? { body: init.body } : {}),
        });
        const body = Buffer.from(await res.body.arrayBuffer());
        if (isRetryableStatus(res.statusCode) && attempt < policy.attempts) {
          const wait = backoffDelay(policy, attempt, parseRetryAfter(res.headers["retry-after"]?.toString()));
          this.options.progress.warn(
            `token request to ${parsed.origin}: HTTP ${res.statusCode}; retrying in ${Math.round(wait)} ms`,
          );
          await sleep(wait);
          continue;
        }
        return { status: res.statusCode, body };
      } catch (err) {
        if (isRetryableNetworkError(err) && attempt < policy.attempts) {
          const wait = backoffDelay(policy, attempt);
          this.options.progress.warn(
            `token request to ${parsed.origin}: ${networkErrorCode(err)}; retrying in ${Math.round(wait)} ms`,
          );
          await sleep(wait);
          continue;
        }
        throw new DistrolessError(
          "E_NETWORK",
          `cannot reach token service ${parsed.origin}${parsed.pathname} (${networkErrorCode(err) ?? (err as Error).message})`,
          { subject: this.registry, cause: err },
        );
      }
    }
  }

  private subject(req: Pick<RegistryRequest, "repository">): string {
    return req.repository ? `${this.registry}/${req.repository}` : this.registry;
  }

  private networkError(req: RegistryRequest, err: unknown, attempts: number): DistrolessError {
    const code = networkErrorCode(err) ?? "";
    let why = `${code || (err as Error).message}`;
    if (CERT_ERRORS.test(code)) {
      why += "; the registry's TLS certificate is not trusted (pass a CA bundle, e.g. --ca-file)";
    }
    return new DistrolessError(
      "E_NETWORK",
      `${req.operation}: cannot reach ${this.registry} (${why})${attempts > 1 ? ` after ${attempts} tries` : ""}`,
      { subject: this.subject(req), cause: err },
    );
  }

  private authError(req: RegistryRequest, res: RegistryResponse, sentCredentials: boolean): DistrolessError {
    const source = this.credentials?.source;
    const detail = registryErrorText(res.body);
    const message = sentCredentials
      ? `${req.operation}: the registry rejected the credentials (${source ? `from ${source}; ` : ""}HTTP 401${detail ? `, ${detail}` : ""})`
      : `${req.operation}: the registry requires credentials and none were found for ${this.registry} (explicit auth, docker config.json, credential helpers; keys are matched by host name as written, so ${this.registry} and another spelling of the same address are different keys) (HTTP 401)`;
    return new DistrolessError("E_AUTH", message, { subject: this.subject(req) });
  }
}
