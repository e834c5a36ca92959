import { MEDIA_TYPES } from "../image/oci-types";
import { DistrolessError } from "../util/errors";
import { ociDigest } from "../util/hash";
import { type RepositoryHandle, repoSubject, sendTo } from "./client";
import { isDigest } from "./reference";
import { checkContentDigest, unexpectedResponse } from "./responses";
import { header, type RegistryResponse } from "./wire";

/**
 * Every manifest type we read. Distribution answers 404 for an OCI manifest the client did not list
 * in `Accept`, so HEAD and GET always send all of them.
 */
const MANIFEST_ACCEPT = [
  MEDIA_TYPES.index,
  MEDIA_TYPES.manifest,
  MEDIA_TYPES.dockerManifestList,
  MEDIA_TYPES.dockerManifest,
].join(", ");

/** What a manifest reference points at. */
export interface ManifestInfo {
  digest: string;
  mediaType: string;
  size: number;
}

export interface FetchedManifest extends ManifestInfo {
  bytes: Buffer;
}

/** Registries cap manifests at 4 MiB; we read at most that much. */
const MAX_MANIFEST_BYTES = 4 << 20;

/** HEAD or GET a manifest by tag or digest, asking for every manifest type we read. */
function fetchManifest(
  repo: RepositoryHandle,
  method: "HEAD" | "GET",
  reference: string,
  operation: string,
): Promise<RegistryResponse> {
  return sendTo(repo, {
    method,
    url: `/v2/${repo.repository}/manifests/${reference}`,
    headers: { accept: MANIFEST_ACCEPT },
    operation,
    maxBodyBytes: MAX_MANIFEST_BYTES,
  });
}

/** The media type a response names, without parameters (`; charset=...`). */
function contentType(res: RegistryResponse): string {
  return (header(res, "content-type") ?? "").split(";")[0]!.trim();
}

/** HEAD a manifest by tag or digest; undefined when the registry does not have it. */
export async function headManifest(
  repo: RepositoryHandle,
  reference: string,
): Promise<ManifestInfo | undefined> {
  const op = `HEAD manifest ${reference}`;
  const res = await fetchManifest(repo, "HEAD", reference, op);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw unexpectedResponse(repo, op, res);
  const digest = header(res, "docker-content-digest");
  if (isDigest(reference)) checkContentDigest(repo, op, res, reference);
  if (!digest && !isDigest(reference)) {
    // Some registries leave the digest off HEAD answers; the content tells it.
    const full = await getManifest(repo, reference);
    return full ? { digest: full.digest, mediaType: full.mediaType, size: full.size } : undefined;
  }
  return {
    digest: digest ?? reference,
    mediaType: contentType(res),
    size: Number(header(res, "content-length") ?? "0"),
  };
}

/** GET a manifest; by digest, the bytes must hash to it; by tag, to the digest the registry names. */
export async function getManifest(
  repo: RepositoryHandle,
  reference: string,
): Promise<FetchedManifest | undefined> {
  const op = `GET manifest ${reference}`;
  const res = await fetchManifest(repo, "GET", reference, op);
  if (res.status === 404) return undefined;
  if (res.status !== 200) throw unexpectedResponse(repo, op, res);
  const digest = ociDigest(res.body);
  if (isDigest(reference) && digest !== reference) {
    throw new DistrolessError("E_CHECKSUM", `${op}: the content hashes to ${digest}`, {
      subject: repoSubject(repo),
    });
  }
  checkContentDigest(repo, op, res, digest);
  let mediaType = contentType(res);
  try {
    const parsed = JSON.parse(res.body.toString("utf8")) as { mediaType?: unknown };
    if (typeof parsed.mediaType === "string") mediaType = parsed.mediaType;
  } catch {
    throw new DistrolessError("E_FORMAT", `${op}: the manifest is not JSON`, {
      subject: repoSubject(repo),
    });
  }
  return { digest, mediaType, size: res.body.length, bytes: res.body };
}

/** PUT a manifest under a digest or tag; returns its digest, checked against the registry's. */
export async function putManifest(
  repo: RepositoryHandle,
  reference: string,
  bytes: Buffer,
  mediaType: string,
): Promise<{ digest: string; subjectHeader: string | undefined }> {
  const digest = ociDigest(bytes);
  if (isDigest(reference) && reference !== digest) {
    throw new DistrolessError("E_INTERNAL", `manifest bytes hash to ${digest}, not ${reference}`);
  }
  const op = `PUT manifest ${reference}`;
  const res = await sendTo(repo, {
    method: "PUT",
    url: `/v2/${repo.repository}/manifests/${reference}`,
    headers: { "content-type": mediaType, "content-length": String(bytes.length) },
    body: () => bytes,
    operation: op,
  });
  if (res.status !== 201 && res.status !== 200) throw unexpectedResponse(repo, op, res);
  checkContentDigest(repo, op, res, digest);
  return { digest, subjectHeader: header(res, "oci-subject") };
}

/** DELETE a manifest by digest (202); false when it was already gone (404). */
export async function deleteManifest(repo: RepositoryHandle, reference: string): Promise<boolean> {
  const op = `DELETE manifest ${reference}`;
  const res = await sendTo(repo, {
    method: "DELETE",
    url: `/v2/${repo.repository}/manifests/${reference}`,
    operation: op,
  });
  if (res.status === 202 || res.status === 200 || res.status === 204) return true;
  if (res.status === 404) return false;
  throw unexpectedResponse(repo, op, res);
}

/** All tags of a repository (following `Link` pagination); [] when the repository does not exist. */
export async function listTags(repo: RepositoryHandle): Promise<string[]> {
  const tags: string[] = [];
  let url: string | undefined = `/v2/${repo.repository}/tags/list?n=1000`;
  for (let page = 0; url && page < 1000; page++) {
    const op = "list tags";
    const res = await sendTo(repo, { method: "GET", url, operation: op });
    if (res.status === 404) return tags;
    if (res.status !== 200) throw unexpectedResponse(repo, op, res);
    const parsed = JSON.parse(res.body.toString("utf8")) as { tags?: string[] | null };
    tags.push(...(parsed.tags ?? []));
    const link = header(res, "link");
    const next = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
    url = next ? new URL(next[1]!, res.url).toString() : undefined;
  }
  return tags;
}
