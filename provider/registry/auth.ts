import { DistrolessError } from "../util/errors";
import type { AuthChallenge } from "./challenge";
import type { ResolvedCredentials } from "./credentials";

/** How the registry wants requests authorized, learnt from its first 401. */
export type AuthMode =
  | { kind: "unknown" }
  | { kind: "basic" }
  | { kind: "bearer"; realm: string; service: string | undefined };

/** What a token endpoint answers (docker token spec; `access_token` is the OAuth2 spelling). */
interface TokenResponse {
  token?: string;
  access_token?: string;
  expires_in?: number;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** A minimal HTTP call the token cache needs, so it stays testable and shares the transport's TLS. */
export type TokenFetch = (
  url: string,
  init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string },
) => Promise<{ status: number; body: Buffer }>;

/** Tokens live shorter than they say: a token that expires mid-upload costs a whole re-send. */
const EXPIRY_MARGIN_MS = 30_000;
/** The docker token spec's default lifetime when the server does not say. */
const DEFAULT_LIFETIME_S = 60;

/**
 * Bearer tokens per scope set. Concurrent requests that need the same scopes share one token
 * request (single flight); a token the registry refused is dropped and fetched again once.
 */
export class TokenCache {
  private readonly tokens = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly fetch: TokenFetch,
    private readonly credentials: () => ResolvedCredentials | undefined,
    private readonly registry: string,
  ) {}

  private static key(scopes: string[]): string {
    return [...new Set(scopes)].sort().join(" ");
  }

  /**
   * A token for `scopes` (the cache key), fetched with `extraScopes` too when given (what a challenge
   * asked for beyond them), so the next request with the same scopes finds it.
   */
  async get(
    mode: Extract<AuthMode, { kind: "bearer" }>,
    scopes: string[],
    options: { force?: boolean; extraScopes?: string[] } = {},
  ): Promise<string> {
    const key = TokenCache.key(scopes);
    const existing = this.tokens.get(key);
    if (existing && !options.force) {
      const t = await existing.catch(() => undefined);
      if (t && t.expiresAt > Date.now()) return t.token;
    }
    const extra = (options.extraScopes ?? []).filter((s) => !coveredBy(s, scopes));
    const pending = this.request(mode, [...new Set([...scopes, ...extra])]);
    this.tokens.set(key, pending);
    pending.catch(() => {
      if (this.tokens.get(key) === pending) this.tokens.delete(key);
    });
    return (await pending).token;
  }

  private async request(mode: Extract<AuthMode, { kind: "bearer" }>, scopes: string[]): Promise<CachedToken> {
    const creds = this.credentials();
    const url = new URL(mode.realm);
    const headers: Record<string, string> = { accept: "application/json" };
    let method: "GET" | "POST" = "GET";
    let body: string | undefined;
    if (creds?.identityToken) {
      // OAuth2 refresh-token grant: how docker uses an identity token.
      method = "POST";
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: creds.identityToken,
        client_id: "pulumi-distroless",
      });
      if (mode.service) form.set("service", mode.service);
      if (scopes.length > 0) form.set("scope", scopes.join(" "));
      body = form.toString();
      headers["content-type"] = "application/x-www-form-urlencoded";
    } else {
      if (mode.service) url.searchParams.set("service", mode.service);
      for (const s of scopes) url.searchParams.append("scope", s);
      if (creds?.username !== undefined && creds.password !== undefined) {
        headers.authorization = basicHeader(creds.username, creds.password);
        url.searchParams.set("account", creds.username);
      }
    }
    const res = await this.fetch(
      url.toString(),
      body === undefined ? { method, headers } : { method, headers, body },
    );
    const where = `token service ${url.origin}${url.pathname}`;
    if (res.status === 401 || res.status === 403) {
      throw new DistrolessError(
        "E_AUTH",
        creds
          ? `${where} rejected the credentials (from ${creds.source}; HTTP ${res.status})`
          : `${where} refused an anonymous token (HTTP ${res.status}); credentials are needed`,
        { subject: this.registry },
      );
    }
    if (res.status !== 200) {
      throw new DistrolessError("E_AUTH", `${where} answered HTTP ${res.status}`, { subject: this.registry });
    }
    let parsed: TokenResponse;
    try {
      parsed = JSON.parse(res.body.toString("utf8")) as TokenResponse;
    } catch {
      throw new DistrolessError("E_AUTH", `${where} did not answer JSON`, { subject: this.registry });
    }
    const token = parsed.token ?? parsed.access_token;
    if (!token)
      throw new DistrolessError("E_AUTH", `${where} answered without a token`, { subject: this.registry });
    const lifetime =
      typeof parsed.expires_in === "number" && parsed.expires_in > 0 ? parsed.expires_in : DEFAULT_LIFETIME_S;
    return { token, expiresAt: Date.now() + Math.max(lifetime * 1000 - EXPIRY_MARGIN_MS, lifetime * 500) };
  }
}

export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/** The auth mode a challenge asks for; Bearer wins when a registry offers both. */
export function modeFromChallenges(challenges: AuthChallenge[]): AuthMode | undefined {
  const bearer = challenges.find((c) => c.scheme === "bearer" && c.params.realm);
  if (bearer) return { kind: "bearer", realm: bearer.params.realm!, service: bearer.params.service };
  if (challenges.some((c) => c.scheme === "basic")) return { kind: "basic" };
  return undefined;
}

/** The scopes a challenge names (space-separated list in one `scope` param). */
export function challengeScopes(challenges: AuthChallenge[]): string[] {
  const bearer = challenges.find((c) => c.scheme === "bearer");
  const scope = bearer?.params.scope;
  return scope ? scope.split(" ").filter((s) => s.length > 0) : [];
}

/** True when `scope` asks for nothing beyond what one of `held` grants (same resource, subset of actions). */
function coveredBy(scope: string, held: string[]): boolean {
  const split = (s: string) => {
    const i = s.lastIndexOf(":");
    return { resource: s.slice(0, i), actions: new Set(s.slice(i + 1).split(",")) };
  };
  const want = split(scope);
  return held.some((h) => {
    const have = split(h);
    return have.resource === want.resource && [...want.actions].every((a) => have.actions.has(a));
  });
}

/** `repository:<name>:<actions>`: the scope string registries expect. */
export function repositoryScope(repository: string, actions: ("pull" | "push" | "delete")[]): string {
  return `repository:${repository}:${actions.join(",")}`;
}
