import { DistrolessError, type ErrorCode } from "../util/errors";
import { type RepositoryHandle, repoSubject } from "./client";
import { parseRetryAfter } from "./retry";
import { header, type RegistryResponse, registryErrorText } from "./wire";

/**
 * A registry's answer we did not expect, with its HTTP status kept: an upload tells "start a new
 * session" (404, 416) from "no", and a tag delete tells "cannot delete tags" (400, 405, 501) apart.
 */
export class RegistryStatusError extends DistrolessError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status: number,
    subject: string,
    /** The response's `Retry-After`, in ms, when it had one. */
    readonly retryAfterMs?: number,
  ) {
    super(code, message, { subject });
  }
}

/** The HTTP status a registry refused with, when `err` is such a refusal. */
export function statusOf(err: unknown): number | undefined {
  return err instanceof RegistryStatusError ? err.status : undefined;
}

/**
 * The error for a response we did not expect: status, registry error code and message, registry,
 * repository and operation. Response bodies of registries never echo credentials; URLs (which may
 * hold upload state) are left out.
 */
export function unexpectedResponse(
  repo: RepositoryHandle,
  operation: string,
  res: RegistryResponse,
): RegistryStatusError {
  const detail = registryErrorText(res.body);
  const code = res.status === 401 || res.status === 403 ? "E_AUTH" : "E_REGISTRY";
  const hint =
    res.status === 403
      ? " (the credentials lack permission for this repository)"
      : res.status === 429
        ? " (rate limited)"
        : "";
  return new RegistryStatusError(
    code,
    `${operation}: HTTP ${res.status}${detail ? ` ${detail}` : ""}${hint}`,
    res.status,
    repoSubject(repo),
    parseRetryAfter(header(res, "retry-after")),
  );
}

/** The registry's `Docker-Content-Digest` must name the content we sent or asked for. */
export function checkContentDigest(
  repo: RepositoryHandle,
  operation: string,
  res: RegistryResponse,
  expected: string,
): void {
  const got = header(res, "docker-content-digest");
  if (got !== undefined && got !== expected) {
    throw new DistrolessError(
      "E_CHECKSUM",
      `${operation}: the registry reports digest ${got}, but the content's digest is ${expected}`,
      { subject: repoSubject(repo) },
    );
  }
}

/** Resolves a `Location` header against the URL of the request that returned it. */
export function locationOf(repo: RepositoryHandle, operation: string, res: RegistryResponse): string {
  const loc = header(res, "location");
  if (!loc) {
    throw new DistrolessError("E_REGISTRY", `${operation}: HTTP ${res.status} without a Location header`, {
      subject: repoSubject(repo),
    });
  }
  return new URL(loc, res.url).toString();
}
