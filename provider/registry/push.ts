import { isIndexMediaType } from "../image/oci-types";
import { DistrolessError } from "../util/errors";
import { formatBytes } from "../util/log";
import { blobExists, fileBlobSource, uploadBlob } from "./blobs";
import { type RegistryClient, type RegistryOptions, snapshotStats, statsSince, withClient } from "./client";
import { mapLimit } from "./concurrency";
import { headManifest, putManifest } from "./manifests";
import { type PlannedManifest, planLayoutPush } from "./plan";
import { isValidTag, parseReference, repositoryName } from "./reference";
import type { RequestStats } from "./wire";

export interface PushLayoutOptions extends RegistryOptions {
  /** An OCI image layout directory (`oci-layout`, `index.json`, `blobs/`). */
  layoutDir: string;
  /**
   * Where to push: `host[:port]/repo[:tag][@sha256:...]`. A tag here is pushed like one in `tags`;
   * a digest must equal the layout's, or nothing is pushed.
   */
  reference: string;
  /** More tags to point at the image, set after everything else is in place. */
  tags?: string[];
  /** Which `index.json` entry to push when it holds several (`org.opencontainers.image.ref.name`). */
  layoutRef?: string;
  /** Other repositories on the same registry to mount blobs from instead of uploading them. */
  mountFrom?: string[];
  /** Blob uploads in flight at once (default 3). */
  concurrency?: number;
  /** Blobs above this size upload in PATCH chunks of this size (default 64 MiB). */
  chunkSize?: number;
  /** Reuse a client (its tokens, connections, and knowledge of where blobs live). */
  client?: RegistryClient;
  /** Fine-grained events (per-blob bytes, retries), for progress bars and tests. */
  onEvent?: (event: PushEvent) => void;
}

export type PushEvent =
  | { type: "blob-bytes"; digest: string; sent: number; size: number }
  | { type: "blob-done"; digest: string; size: number; outcome: "uploaded" | "mounted" | "present" }
  | { type: "retry"; message: string }
  | { type: "manifest"; digest: string; outcome: "pushed" | "present" }
  | { type: "tag"; tag: string; outcome: "pushed" | "unchanged" };

export interface ByteCount {
  blobs: number;
  bytes: number;
}

export interface PushResult {
  /** Digest of what the tags point at: the image index (or the manifest, for a single-manifest layout). */
  indexDigest: string;
  mediaType: string;
  /** `host/repo@sha256:...`: the immutable reference to deploy. */
  imageRef: string;
  /** `host/repo`. */
  repository: string;
  /** Tags now pointing at `indexDigest`. */
  tags: string[];
  /** Platform (`amd64`, `arm64`, `arm/v7`) -> manifest digest. */
  platforms: Record<string, string>;
  uploaded: ByteCount;
  skipped: ByteCount;
  mounted: ByteCount;
  /** Manifests (and the index) written; 0 on a no-op re-push. */
  manifestsPushed: number;
  /** Requests this push made (on a shared client, concurrent operations blur this). */
  requests: RequestStats;
}

/** HEAD requests in flight at once (the transport keeps 8 connections per registry). */
const HEAD_CONCURRENCY = 8;

/**
 * Pushes an OCI layout so the registry is never inconsistent: blobs first (HEAD, skipping those
 * present; mounting from known repositories; uploading the rest a few at a time, streamed from
 * the layout's files), then the per-platform manifests by digest, then the index by digest, and the
 * tags last. A push cut off midway leaves every tag where it was.
 */
export async function pushLayout(options: PushLayoutOptions): Promise<PushResult> {
  const ref = parseReference(options.reference);
  const tags = [...new Set([...(ref.tag ? [ref.tag] : []), ...(options.tags ?? [])])];
  for (const t of tags) {
    if (!isValidTag(t))
      throw new DistrolessError("E_CONFIG", `invalid tag "${t}"`, { subject: options.reference });
  }
  const plan = await planLayoutPush(options.layoutDir, options.layoutRef);
  if (ref.digest && ref.digest !== plan.root.digest) {
    throw new DistrolessError(
      "E_CONFIG",
      `the reference asks for ${ref.digest} but the layout's image is ${plan.root.digest}`,
      { subject: options.reference },
    );
  }

  return withClient(ref.registry, options, async (client) => {
    const before = snapshotStats(client.stats);
    const repo = client.repository(ref.repository, ["pull", "push"]);
    const emit = options.onEvent ?? (() => {});
    const progress = client.progress;
    const where = repositoryName(ref);
    const totalBytes = plan.blobs.reduce((n, b) => n + b.size, 0);
    progress.info(`pushing ${plan.blobs.length} blobs (${formatBytes(totalBytes)}) to ${where}`);

    const uploaded: ByteCount = { blobs: 0, bytes: 0 };
    const skipped: ByteCount = { blobs: 0, bytes: 0 };
    const mounted: ByteCount = { blobs: 0, bytes: 0 };
    const uploads = options.concurrency ?? 3;

    // Every HEAD goes out at once (bounded; they are tiny) before any write: a no-op re-push costs
    // one round of requests, not one per blob and manifest. Writes keep their order below (blobs,
    // then manifests children first, then tags), so a push cut off midway moves no tag. The first
    // tag's HEAD doubles as the root's: a tag already on the root proves the root is there.
    const firstTag = tags[0] !== undefined ? headManifest(repo, tags[0]) : Promise.resolve(undefined);
    firstTag.catch(() => {}); // awaited below; a failure is not unhandled meanwhile
    const probes: (() => Promise<boolean>)[] = [
      ...plan.blobs.map((b) => () => blobExists(repo, b.digest, b.size)),
      ...plan.manifests.map((m) => async () => (await headManifest(repo, m.digest)) !== undefined),
    ];
    // Failures are collected, and the first in order (blobs first) is thrown: the same error for
    // the same fault whichever answer comes back first.
    const outcomes = await mapLimit(probes, Math.max(uploads, HEAD_CONCURRENCY), (probe) =>
      probe().then(
        (ok) => ({ ok }),
        (err: unknown) => ({ err }),
      ),
    );
    const failed = outcomes.find((o) => "err" in o);
    if (failed && "err" in failed) throw failed.err;
    const present = outcomes.map((o) => "ok" in o && o.ok);
    const blobPresent = present.slice(0, plan.blobs.length);
    const manifestPresent = new Set(plan.manifests.filter((_, i) => present[plan.blobs.length + i]));

    await mapLimit(plan.blobs, uploads, async (blob, i) => {
      if (blobPresent[i]) {
        skipped.blobs++;
        skipped.bytes += blob.size;
        client.rememberBlob(blob.digest, ref.repository);
        emit({ type: "blob-done", digest: blob.digest, size: blob.size, outcome: "present" });
        return;
      }
      const mountFrom = [
        ...new Set([...(options.mountFrom ?? []), ...client.knownHomes(blob.digest, ref.repository)]),
      ];
      const outcome = await uploadBlob(repo, fileBlobSource(blob.file, blob.digest, blob.size), {
        mountFrom,
        ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
        onBytes: blobBytesListener(blob.digest, blob.size, progress, options.onEvent),
        onRetry: (message) => {
          progress.warn(`${where}: ${message}`);
          emit({ type: "retry", message });
        },
      });
      const count = outcome === "mounted" ? mounted : uploaded;
      count.blobs++;
      count.bytes += blob.size;
      client.rememberBlob(blob.digest, ref.repository);
      emit({ type: "blob-done", digest: blob.digest, size: blob.size, outcome });
      progress.info(`${outcome} ${blob.digest.slice(0, 19)} (${formatBytes(blob.size)})`);
    });

    let manifestsPushed = 0;
    const ensureManifest = async (m: PlannedManifest): Promise<void> => {
      if (manifestPresent.has(m) || (m === plan.root && (await headManifest(repo, m.digest)))) {
        emit({ type: "manifest", digest: m.digest, outcome: "present" });
        return;
      }
      await putManifest(repo, m.digest, m.bytes, m.mediaType);
      manifestsPushed++;
      emit({ type: "manifest", digest: m.digest, outcome: "pushed" });
    };
    // Children before parents: the registry checks that what an index lists exists.
    for (const level of levels(plan.manifests)) await mapLimit(level, uploads, ensureManifest);
    const tagDigests = new Map<string, string | undefined>();
    if (tags[0] !== undefined) tagDigests.set(tags[0], (await firstTag)?.digest);
    if (tagDigests.get(tags[0] ?? "") !== plan.root.digest) await ensureManifest(plan.root);

    for (const tag of tags) {
      const current = tagDigests.has(tag) ? tagDigests.get(tag) : (await headManifest(repo, tag))?.digest;
      if (current === plan.root.digest) {
        emit({ type: "tag", tag, outcome: "unchanged" });
        continue;
      }
      await putManifest(repo, tag, plan.root.bytes, plan.root.mediaType);
      emit({ type: "tag", tag, outcome: "pushed" });
    }

    const result: PushResult = {
      indexDigest: plan.root.digest,
      mediaType: plan.root.mediaType,
      imageRef: `${where}@${plan.root.digest}`,
      repository: where,
      tags,
      platforms: plan.platforms,
      uploaded,
      skipped,
      mounted,
      manifestsPushed,
      requests: statsSince(client.stats, before),
    };
    progress.info(
      `pushed ${result.imageRef}: uploaded ${uploaded.blobs} blobs (${formatBytes(uploaded.bytes)}), ` +
        `skipped ${skipped.blobs} (${formatBytes(skipped.bytes)}), mounted ${mounted.blobs}`,
    );
    return result;
  });
}

/**
 * What an upload tells per chunk: the progress's byte callback (a label made once per blob) and the
 * caller's events. Undefined when nobody listens, so the upload does not count at all.
 */
function blobBytesListener(
  digest: string,
  size: number,
  progress: { bytes?(label: string, done: number, total: number): void },
  onEvent: ((event: PushEvent) => void) | undefined,
): ((sent: number) => void) | undefined {
  const bytes = progress.bytes?.bind(progress);
  if (!bytes && !onEvent) return undefined;
  const label = `uploading ${digest.slice(0, 19)}`;
  return (sent) => {
    bytes?.(label, sent, size);
    onEvent?.({ type: "blob-bytes", digest, sent, size });
  };
}

/**
 * Groups manifests (listed children-first) into levels that can be pushed concurrently: nested
 * indexes are rare, so this is usually one level of per-platform manifests.
 */
function levels(manifests: PlannedManifest[]): PlannedManifest[][] {
  const out: PlannedManifest[][] = [];
  let current: PlannedManifest[] = [];
  for (const m of manifests) {
    if (isIndexMediaType(m.mediaType)) {
      if (current.length) out.push(current);
      out.push([m]);
      current = [];
    } else {
      current.push(m);
    }
  }
  if (current.length) out.push(current);
  return out;
}
