import { createReadStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import { DistrolessError, isDistrolessError } from "../util/errors";
import { repositoryScope } from "./auth";
import { type RepositoryHandle, repoSubject, sendTo } from "./client";
import {
  checkContentDigest,
  locationOf,
  RegistryStatusError,
  statusOf,
  unexpectedResponse,
} from "./responses";
import { backoffDelay, isRetryableNetworkError, isRetryableStatus, networkErrorCode, sleep } from "./retry";
import { header, type RegistryResponse } from "./wire";

/** A blob to upload: its digest, size, and a way to stream any byte range of it (never all in memory). */
export interface BlobSource {
  digest: string;
  size: number;
  /** Bytes [start, end) of the blob. */
  open(start: number, end: number): Readable;
}

export function fileBlobSource(file: string, digest: string, size: number): BlobSource {
  return {
    digest,
    size,
    open: (start, end) =>
      end <= start
        ? createReadStream(file, { start: 0, end: -1 })
        : createReadStream(file, { start, end: end - 1, highWaterMark: 1 << 20 }),
  };
}

export function bufferBlobSource(data: Buffer, digest: string): BlobSource {
  return {
    digest,
    size: data.length,
    open: (start, end) => Readable.from([data.subarray(start, end)]),
  };
}

export interface UploadOptions {
  /** Repositories on the same registry that may hold the blob: tried as cross-repository mounts first. */
  mountFrom?: string[];
  /** Blobs larger than this go up in PATCH chunks of this size (default 64 MiB). */
  chunkSize?: number;
  /** Bytes sent so far for this blob (may go back when an upload restarts). */
  onBytes?: (sent: number) => void;
  /** Told when an upload is retried or resumed, for progress and tests. */
  onRetry?: (what: string) => void;
}

export type UploadOutcome = "uploaded" | "mounted";

const DEFAULT_CHUNK = 64 << 20;

/** HEAD the blob: true when the repository has it (with the size we expect). */
export async function blobExists(repo: RepositoryHandle, digest: string, size?: number): Promise<boolean> {
  const op = `HEAD blob ${digest}`;
  const res = await sendTo(repo, {
    method: "HEAD",
    url: `/v2/${repo.repository}/blobs/${digest}`,
    operation: op,
  });
  if (res.status === 404) return false;
  if (res.status !== 200) throw unexpectedResponse(repo, op, res);
  checkContentDigest(repo, op, res, digest);
  const length = header(res, "content-length");
  if (size !== undefined && length !== undefined && Number(length) !== size) {
    throw new DistrolessError("E_CHECKSUM", `${op}: the registry has ${length} bytes, the layout ${size}`, {
      subject: repoSubject(repo),
    });
  }
  return true;
}

/** Uploads `blob` unless the repository already has it. */
export async function ensureBlob(repo: RepositoryHandle, blob: BlobSource): Promise<void> {
  if (!(await blobExists(repo, blob.digest, blob.size))) await uploadBlob(repo, blob);
}

/**
 * Uploads one blob: a cross-repository mount when a candidate repository has it, else a monolithic
 * POST+PUT (small blobs) or chunked PATCHes (large ones). Transient failures retry with backoff (a
 * `Retry-After` wins), each retry told through `onRetry`; a chunked upload asks the registry how much
 * it kept (the session's `Range`) and resumes from there, or starts over when the registry has lost
 * the session. CNCF distribution drops a session whose stored size no longer matches its state
 * token, which is what a connection cut after part of a chunk arrived leaves behind: there a cut
 * between chunks resumes, and a cut inside one restarts the blob.
 */
export async function uploadBlob(
  repo: RepositoryHandle,
  blob: BlobSource,
  options: UploadOptions = {},
): Promise<UploadOutcome> {
  let session: string | undefined;
  for (const from of options.mountFrom ?? []) {
    if (from === repo.repository) continue;
    const mount = await tryMount(repo, blob.digest, from);
    if (mount === "mounted") return "mounted";
    if (mount !== undefined) {
      session = mount.session; // the registry opened a normal upload instead; use it
      break;
    }
  }

  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK;
  const chunked = blob.size > chunkSize;
  const policy = repo.client.retry;
  let offset = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      if (!session) {
        session = await startUpload(repo, blob.digest);
        offset = 0;
      }
      if (chunked) {
        while (offset < blob.size) {
          const end = Math.min(offset + chunkSize, blob.size);
          const next = await patchChunk(repo, blob, session, offset, end, options.onBytes);
          session = next.location;
          offset = next.offset;
        }
        await finishUpload(repo, blob, session, undefined, options.onBytes);
      } else {
        await finishUpload(repo, blob, session, blob.size, options.onBytes);
      }
      return "uploaded";
    } catch (err) {
      const status = statusOf(err);
      // 404 and 416 mean the registry lost or disagrees with the session: start a new one.
      const transient =
        isRetryableNetworkError(err) ||
        (status !== undefined && (isRetryableStatus(status) || status === 416 || status === 404));
      if (!transient || attempt >= policy.attempts) throw err;
      const wait = backoffDelay(policy, attempt, retryAfterOf(err));
      options.onRetry?.(
        `upload of ${blob.digest} failed (${failureText(err)}); trying again in ${Math.round(wait)} ms (attempt ${attempt + 1} of ${policy.attempts})`,
      );
      await sleep(wait);
      // The failure may have hit only the answer to a completed upload.
      if (await blobExists(repo, blob.digest, blob.size).catch(() => false)) return "uploaded";
      // Where the registry says it is (the Range of the session's status) is where we go on from.
      const resumed =
        chunked && session ? await uploadStatus(repo, session).catch(() => undefined) : undefined;
      if (resumed && resumed.offset <= blob.size) {
        session = resumed.location;
        offset = resumed.offset;
        options.onRetry?.(`resuming upload of ${blob.digest} at byte ${offset} (the registry's Range)`);
      } else {
        session = undefined;
        options.onRetry?.(
          chunked
            ? `restarting upload of ${blob.digest} from byte 0 (the registry dropped the session)`
            : `restarting upload of ${blob.digest} (a single request; it cannot resume)`,
        );
      }
    }
  }
}

function retryAfterOf(err: unknown): number | undefined {
  return err instanceof RegistryStatusError ? err.retryAfterMs : undefined;
}

/** A short reason for a retry message: the HTTP status, or the network error's code. */
function failureText(err: unknown): string {
  const status = statusOf(err);
  if (status !== undefined) return `HTTP ${status}`;
  return networkErrorCode(err) ?? (err instanceof Error ? err.message : String(err));
}

async function tryMount(
  repo: RepositoryHandle,
  digest: string,
  from: string,
): Promise<"mounted" | { session: string } | undefined> {
  const op = `mount blob ${digest} from ${from}`;
  let res: RegistryResponse;
  try {
    res = await sendTo(repo, {
      method: "POST",
      url: `/v2/${repo.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scopes: [...repo.scopes, repositoryScope(from, ["pull"])],
      operation: op,
      headers: { "content-length": "0" },
    });
  } catch (err) {
    // No pull access to the source repository is not fatal: upload instead.
    if (isDistrolessError(err, "E_AUTH")) return undefined;
    throw err;
  }
  if (res.status === 201) {
    checkContentDigest(repo, op, res, digest);
    return "mounted";
  }
  if (res.status === 202) return { session: locationOf(repo, op, res) };
  return undefined;
}

async function startUpload(repo: RepositoryHandle, digest: string): Promise<string> {
  const op = `start upload of ${digest}`;
  const res = await sendTo(repo, {
    method: "POST",
    url: `/v2/${repo.repository}/blobs/uploads/`,
    operation: op,
    retry: false,
    headers: { "content-length": "0" },
  });
  if (res.status !== 202) throw unexpectedResponse(repo, op, res);
  return locationOf(repo, op, res);
}

async function patchChunk(
  repo: RepositoryHandle,
  blob: BlobSource,
  session: string,
  start: number,
  end: number,
  onBytes: ((sent: number) => void) | undefined,
): Promise<{ location: string; offset: number }> {
  const op = `upload bytes ${start}-${end - 1} of ${blob.digest}`;
  const res = await sendTo(repo, {
    method: "PATCH",
    url: session,
    operation: op,
    retry: false,
    headers: {
      "content-type": "application/octet-stream",
      "content-range": `${start}-${end - 1}`,
      "content-length": String(end - start),
    },
    body: () => counted(blob.open(start, end), start, onBytes),
  });
  if (res.status !== 202) throw unexpectedResponse(repo, op, res);
  const received = parseRangeEnd(header(res, "range"));
  if (received !== undefined && received !== end && !(received === 0 && end === 1)) {
    throw new RegistryStatusError(
      "E_REGISTRY",
      `${op}: the registry has ${received} bytes, expected ${end}`,
      416,
      repoSubject(repo),
    );
  }
  return { location: locationOf(repo, op, res), offset: end };
}

/** PUT `?digest=`: with the whole blob as body (monolithic), or empty after the last PATCH. */
async function finishUpload(
  repo: RepositoryHandle,
  blob: BlobSource,
  session: string,
  bodySize: number | undefined,
  onBytes: ((sent: number) => void) | undefined,
): Promise<void> {
  const op = `upload blob ${blob.digest}`;
  const url = new URL(session);
  url.searchParams.set("digest", blob.digest);
  const res = await sendTo(repo, {
    method: "PUT",
    url: url.toString(),
    operation: op,
    retry: false,
    headers: { "content-type": "application/octet-stream", "content-length": String(bodySize ?? 0) },
    body: bodySize ? () => counted(blob.open(0, blob.size), 0, onBytes) : () => Buffer.alloc(0),
  });
  if (res.status !== 201) throw unexpectedResponse(repo, op, res);
  checkContentDigest(repo, op, res, blob.digest);
}

/** GET on an upload session: how many bytes the registry kept, and the URL to continue with. */
async function uploadStatus(
  repo: RepositoryHandle,
  session: string,
): Promise<{ location: string; offset: number } | undefined> {
  const op = "upload status";
  const res = await sendTo(repo, { method: "GET", url: session, operation: op, retry: false });
  if (res.status !== 204 && res.status !== 200) return undefined;
  const end = parseRangeEnd(header(res, "range"));
  return { location: header(res, "location") ? locationOf(repo, op, res) : session, offset: end ?? 0 };
}

/**
 * `Range: 0-<last byte>` as upload responses carry it, as the count of bytes held. Distribution
 * says `0-0` for an empty upload too; treating that as 0 costs at most one resent byte, which the
 * registry then refuses with 416 and the upload restarts.
 */
function parseRangeEnd(value: string | undefined): number | undefined {
  const m = value ? /^(?:bytes=)?0-(\d+)$/.exec(value.trim()) : null;
  if (!m) return undefined;
  const last = Number(m[1]);
  return last === 0 ? 0 : last + 1;
}

/** Reports bytes as they stream out, without buffering. */
function counted(source: Readable, base: number, onBytes: ((sent: number) => void) | undefined): Readable {
  if (!onBytes) return source;
  let sent = base;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      sent += chunk.length;
      onBytes(sent);
      cb(null, chunk);
    },
  });
  source.on("error", (err) => counter.destroy(err));
  counter.on("close", () => {
    if (!source.destroyed) source.destroy();
  });
  return source.pipe(counter);
}
