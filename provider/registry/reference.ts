import { DistrolessError } from "../util/errors";

/**
 * An image reference split the way docker splits it: `registry.example.com/team/app:tag`,
 * `localhost:5000/x@sha256:...`, `alpine` (= `docker.io/library/alpine`).
 */
export interface ImageReference {
  /** The registry as the user names it (`docker.io` for Docker Hub), with its port if any. */
  registry: string;
  /** The repository path inside the registry (`library/alpine`, `team/app`). */
  repository: string;
  tag?: string;
  digest?: string;
}

const DOCKER_HUB = "docker.io";
/** Docker Hub's API lives on another host than the name users write. */
const DOCKER_HUB_API = "registry-1.docker.io";

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** Parses a docker-style reference; a malformed one is an `E_CONFIG` naming it. */
export function parseReference(input: string): ImageReference {
  const bad = (why: string) =>
    new DistrolessError("E_CONFIG", `invalid image reference: ${why}`, { subject: input });
  let rest = input.trim();
  if (rest === "" || /\s/.test(rest)) throw bad("empty or contains spaces");
  if (/^[a-z]+:\/\//i.test(rest)) throw bad("write it without a URL scheme (host/repository[:tag])");

  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST.test(digest)) throw bad(`"${digest}" is not a sha256 digest`);
  }

  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }

  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf("/");
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes(".") || first.includes(":") || first === "localhost" || first.startsWith("[")) {
      registry = first;
      repository = rest.slice(slash + 1);
    }
  }
  if (!HOST.test(registry)) throw bad(`"${registry}" is not a registry host`);
  // Host names are case-insensitive (RFC 3986); one spelling keeps credentials, tokens and blob
  // mounts from splitting over `LOCALHOST:5000` vs `localhost:5000`. Addresses stay as written
  // (`127.1` is not `127.0.0.1` for credentials, as in docker).
  registry = registry.toLowerCase();
  if (registry === "index.docker.io" || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes("/")) repository = `library/${repository}`;
  for (const part of repository.split("/")) {
    if (!PATH_COMPONENT.test(part)) {
      throw bad(`repository "${repository}" must be lowercase letters, digits and separators (. _ __ -)`);
    }
  }
  if (repository.length > 255) throw bad("repository name is longer than 255 characters");

  const ref: ImageReference = { registry, repository };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `registry/repository` (no tag or digest). */
export function repositoryName(ref: Pick<ImageReference, "registry" | "repository">): string {
  return `${ref.registry}/${ref.repository}`;
}

/** `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${repositoryName(ref)}${ref.tag ? `:${ref.tag}` : ""}${ref.digest ? `@${ref.digest}` : ""}`;
}

/** The host the HTTP API is served on (Docker Hub's differs from its name). */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** The keys `~/.docker/config.json` may use for this registry, most specific first. */
export function credentialKeys(registry: string): string[] {
  const host = registry.toLowerCase();
  if (host === DOCKER_HUB) {
    return ["https://index.docker.io/v1/", "index.docker.io", "docker.io", DOCKER_HUB_API];
  }
  return [host];
}

/**
 * True for 127.0.0.0/8 (also in the short forms `127.1` and `127.0.1` the resolver accepts), ::1
 * and localhost: the only hosts plain HTTP is allowed for by default.
 */
export function isLoopbackHost(registry: string): boolean {
  const host = hostOnly(registry).toLowerCase();
  return host === "localhost" || host === "::1" || /^127(?:\.\d{1,3}){1,3}$/.test(host);
}

/** The host part of `host[:port]` / `[v6]:port`. */
function hostOnly(hostPort: string): string {
  if (hostPort.startsWith("[")) return hostPort.slice(1, hostPort.indexOf("]"));
  const colon = hostPort.lastIndexOf(":");
  return colon >= 0 ? hostPort.slice(0, colon) : hostPort;
}

export function isDigest(s: string): boolean {
  return DIGEST.test(s);
}

export function isValidTag(s: string): boolean {
  return TAG.test(s);
}
