import { DistrolessError } from "../util/errors";
import type { RepositoryHandle } from "./client";
import { type RegistryResponse, registryErrorText } from "./transport";

/** One header's value (the first, when a header repeats). */
export function header(res: RegistryResponse, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
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
): DistrolessError {
  const detail = registryErrorText(res.body);
  const code = res.status === 401 || res.status === 403 ? "E_AUTH" : "E_REGISTRY";
  const hint =
    res.status === 403
      ? " (the credentials lack permission for this repository)"
      : res.status === 429
        ? " (rate limited)"
        : "";
  return new DistrolessError(code, `${operation}: HTTP ${res.status}${detail ? ` ${detail}` : ""}${hint}`, {
    subject: `${repo.client.registry}/${repo.repository}`,
  });
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
      { subject: `${repo.client.registry}/${repo.repository}` },
    );
  }
}

/** Resolves a `Location` header against the URL of the request that returned it. */
export function locationOf(repo: RepositoryHandle, operation: string, res: RegistryResponse): string {
  const loc = header(res, "location");
  if (!loc) {
    throw new DistrolessError("E_REGISTRY", `${operation}: HTTP ${res.status} without a Location header`, {
      subject: `${repo.client.registry}/${repo.repository}`,
    });
  }
  return new URL(loc, res.url).toString();
}
