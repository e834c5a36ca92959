/**
 * The shapes of one registry exchange (request, response, options, counters) and the registry's
 * error text: shared by the transport, the blob/manifest operations and their tests, without
 * loading the HTTP client.
 */
import type { Readable } from "node:stream";
import type { Progress } from "../util/log";
import type { ResolvedCredentials } from "./credentials";
import type { RetryPolicy } from "./retry";

export type HttpMethod = "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";

export interface RegistryRequest {
  method: HttpMethod;
  /** `/v2/...` on this registry, or an absolute URL the registry handed out (an upload `Location`). */
  url: string;
  headers?: Record<string, string>;
  /** Made anew for every try, so a retried or re-authorized upload streams from the start again. */
  body?: () => Buffer | Readable;
  /** Token scopes this request needs (`repository:team/app:pull,push`). */
  scopes: string[];
  /** What we were doing, for errors: "HEAD blob sha256:...", "PUT manifest". */
  operation: string;
  repository?: string;
  /** Retry network errors, 429 and 5xx here (default true); uploads handle their own resumption. */
  retry?: boolean;
  /** Largest response body read into memory (default 8 MiB; manifests are capped at 4 MiB by registries). */
  maxBodyBytes?: number;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** The absolute URL the request went to (to resolve a relative `Location`). */
  url: string;
}

/** One header's value (the first, when a header repeats). */
export function header(res: RegistryResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Requests put on the wire, by method: what the no-op re-push test and bench count. */
export interface RequestStats {
  total: number;
  byMethod: Record<string, number>;
  /** Token endpoint round trips (not registry API requests, so not in `total`). */
  tokenRequests: number;
}

export interface TransportOptions {
  /** Registry host as the user wrote it (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  /** Looked up only when the registry first asks (a credential helper is not run for anonymous pulls). */
  credentials: () => Promise<ResolvedCredentials | undefined>;
  /** PEM CA certificates trusted on top of the system roots. */
  caBundle?: string | Buffer;
  /** Allow plain HTTP to any host and skip TLS verification (docker's "insecure registry"). */
  insecure?: boolean;
  retry: RetryPolicy;
  /** Headers and body idle timeout per request (default DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
  progress: Progress;
  userAgent: string;
}

/** The registry's own error codes and messages (`{"errors":[{code,message}]}`), for error text. */
export function registryErrorText(body: Buffer): string {
  if (body.length === 0) return "";
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { errors?: { code?: string; message?: string }[] };
    if (Array.isArray(parsed.errors) && parsed.errors.length > 0) {
      return parsed.errors
        .map((e) => [e.code, e.message].filter(Boolean).join(": "))
        .join("; ")
        .slice(0, 300);
    }
  } catch {
    // not JSON: fall through to the raw text below
  }
  return body.toString("utf8").replace(/\s+/g, " ").trim().slice(0, 200);
}
