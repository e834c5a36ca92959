import { createWriteStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip, HashingCounter } from "../archive/gzip-stream";
import {
  END_OF_ARCHIVE,
  encodeHeader,
  newHeader,
  paddingFor,
  type TarHeader,
  xattrRecordValue,
} from "../archive/tar-header";
import { tempPathFor } from "../util/fs";
import type { ContentStore } from "./content-store";
import type { FsTree, Inode, TreeNode } from "./tree";
import { walkTree } from "./tree";

export interface LayerNames {
  users: ReadonlyMap<number, string>;
  groups: ReadonlyMap<number, string>;
}

/** One tar entry of the layer: the header, and where its body comes from (regular files only). */
export interface LayerEntry {
  header: TarHeader;
  inode?: Inode;
  /** The package that installed the path (files, symlinks): which layer it goes to when layering. */
  owner?: string;
}

/**
 * The layer's entries, in the order image-layout.md fixes: depth-first, bytewise by name, root
 * skipped. Regular files whose inode was already written become tar hardlinks to the first path
 * (so package hardlinks stay hardlinks even when the tree moved them). Pure: no I/O.
 */
export function* layerEntries(tree: FsTree, names: LayerNames): Generator<LayerEntry> {
  const firstPath = new Map<Inode, string>();
  for (const [p, node] of walkTree(tree.root)) {
    const entry = entryFor(p, node, names, firstPath);
    if (node.kind !== "dir" && node.owner !== undefined) entry.owner = node.owner;
    yield entry;
  }
}

function entryFor(p: string, node: TreeNode, names: LayerNames, firstPath: Map<Inode, string>): LayerEntry {
  const m = node.meta;
  const base = {
    name: p,
    mode: m.mode & 0o7777,
    uid: m.uid,
    gid: m.gid,
    mtime: m.mtime,
    uname: names.users.get(m.uid) ?? "",
    gname: names.groups.get(m.gid) ?? "",
  };
  const pax: Record<string, string> = {};
  if ((node.kind === "file" || node.kind === "dir") && m.xattrs) {
    for (const [k, v] of Object.entries(m.xattrs)) pax[`SCHILY.xattr.${k}`] = xattrRecordValue(v);
  }
  switch (node.kind) {
    case "dir":
      return { header: newHeader({ ...base, type: "directory", pax }) };
    case "symlink":
      return { header: newHeader({ ...base, type: "symlink", mode: 0o777, linkname: node.target }) };
    case "chardev":
      return { header: newHeader({ ...base, type: "chardev", devmajor: node.major, devminor: node.minor }) };
    case "file": {
      const first = firstPath.get(node.inode);
      if (first !== undefined)
        return { header: newHeader({ ...base, type: "hardlink", linkname: first, pax }) };
      firstPath.set(node.inode, p);
      return { header: newHeader({ ...base, type: "file", size: node.inode.size, pax }), inode: node.inode };
    }
  }
}

/** Coalesces small writes (headers, tiny files) into larger chunks before they enter the streams. */
class Chunker {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = 256 << 10) {}
  add(b: Buffer): Buffer | undefined {
    this.parts.push(b);
    this.size += b.length;
    return this.size >= this.limit ? this.flush() : undefined;
  }
  flush(): Buffer | undefined {
    if (this.size === 0) return undefined;
    const out = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    return out;
  }
}

/** The uncompressed layer tar as a byte stream (bodies streamed from the content store). */
export function layerTar(tree: FsTree, store: ContentStore, names: LayerNames): AsyncGenerator<Buffer> {
  return entriesTar(layerEntries(tree, names), store);
}

/** A tar of the given entries, in order (bodies streamed from the content store). */
export async function* entriesTar(
  entries: Iterable<LayerEntry>,
  store: ContentStore,
): AsyncGenerator<Buffer> {
  const out = new Chunker();
  for (const { header, inode } of entries) {
    let full = out.add(encodeHeader(header));
    if (full) yield full;
    if (!inode || inode.size === 0) continue;
    if (inode.content.kind === "inline" || inode.size < 64 << 10) {
      for await (const chunk of store.open(inode.content, inode.size, header.name)) {
        full = out.add(chunk);
        if (full) yield full;
      }
    } else {
      const pending = out.flush();
      if (pending) yield pending;
      yield* store.open(inode.content, inode.size, header.name);
    }
    const pad = paddingFor(inode.size);
    if (pad > 0) {
      full = out.add(Buffer.alloc(pad));
      if (full) yield full;
    }
  }
  out.add(END_OF_ARCHIVE);
  yield out.flush()!;
}

export interface WrittenLayer {
  /** The gzip file (a temp path beside `dir`, to be adopted into a layout). */
  file: string;
  /** `sha256:` of the compressed bytes. */
  digest: string;
  size: number;
  /** `sha256:` of the uncompressed tar. */
  diffId: string;
  uncompressedSize: number;
}

/** A compressor factory: the gzip stream the layer goes through (default: the project's gzip, level 6). */
export type CompressorFactory = () => Transform;

/**
 * Streams the layer through gzip into a temp file in `dir`, hashing the tar (diff_id) and the
 * gzip (digest) on the way; nothing is held whole in memory. On failure the temp file is removed.
 */
export function writeLayer(
  tree: FsTree,
  store: ContentStore,
  names: LayerNames,
  dir: string,
  compressor?: CompressorFactory,
): Promise<WrittenLayer> {
  return writeLayerEntries(layerEntries(tree, names), store, dir, compressor);
}

/**
 * Told the uncompressed bytes of a layer written so far, of about `total` (headers estimated);
 * `done === total` once the layer is complete. For progress bars: called per chunk, keep it cheap.
 */
export type LayerBytesListener = (done: number, total: number) => void;

/** writeLayer for entries already chosen (one layer of a layered image). */
export async function writeLayerEntries(
  entries: Iterable<LayerEntry>,
  store: ContentStore,
  dir: string,
  compressor: CompressorFactory = () => createGzip(6),
  onBytes?: LayerBytesListener,
): Promise<WrittenLayer> {
  await fsp.mkdir(dir, { recursive: true });
  const file = tempPathFor(path.join(dir, "layer.tar.gz"));
  const tarHash = new HashingCounter("sha256");
  const gzHash = new HashingCounter("sha256");
  // Only a listener pays for the list: the total is known before the first byte.
  const list = onBytes ? [...entries] : entries;
  const total = onBytes ? estimatedTarSize(list as LayerEntry[]) : 0;
  const tar = onBytes ? countedTar(entriesTar(list, store), total, onBytes) : entriesTar(list, store);
  try {
    await pipeline(
      Readable.from(tar, { objectMode: false, highWaterMark: 1 << 20 }),
      tarHash,
      compressor(),
      gzHash,
      createWriteStream(file, { highWaterMark: 1 << 20 }),
    );
  } catch (err) {
    await fsp.rm(file, { force: true });
    throw err;
  }
  onBytes?.(total, total);
  return {
    file,
    digest: `sha256:${gzHash.digestHex()}`,
    size: gzHash.bytes,
    diffId: `sha256:${tarHash.digestHex()}`,
    uncompressedSize: tarHash.bytes,
  };
}

/** The tar's size give or take the pax records: a header block per entry, bodies padded to blocks. */
function estimatedTarSize(entries: readonly LayerEntry[]): number {
  let n = 1024; // the end-of-archive blocks
  for (const e of entries) n += 512 + (e.inode ? e.inode.size + paddingFor(e.inode.size) : 0);
  return n;
}

/** The tar stream, reporting its bytes (below the estimate until the end, which the writer reports). */
async function* countedTar(
  tar: AsyncGenerator<Buffer>,
  total: number,
  onBytes: LayerBytesListener,
): AsyncGenerator<Buffer> {
  let done = 0;
  for await (const chunk of tar) {
    done += chunk.length;
    onBytes(Math.min(done, total - 1), total);
    yield chunk;
  }
}
