import type { Transform } from "node:stream";
import {
  type EntryType,
  newHeader,
  paddingFor,
  type TarHeader,
  xattrRecordValue,
} from "../archive/tar-header";
import type { ContentStore } from "./content-store";
import { LayerWriter } from "./layer-writer";
import type { DirNode, FsTree, Inode, TreeNode } from "./tree";
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
 * (so package hardlinks stay hardlinks even when the tree moved them). Pure: no I/O. Only inodes
 * that more than one path shares are remembered, so a big tree costs no per-file map.
 */
export function* layerEntries(tree: FsTree, names: LayerNames): Generator<LayerEntry> {
  const shared = sharedInodes(tree);
  const firstPath = new Map<Inode, string>();
  for (const [p, node] of walkTree(tree.root)) {
    const entry = entryFor(p, node, names, shared, firstPath);
    if (node.kind !== "dir" && node.owner !== undefined) entry.owner = node.owner;
    yield entry;
  }
}

/** The inodes more than one path of the tree holds (hardlinks). */
function sharedInodes(tree: FsTree): Set<Inode> {
  const seen = new Set<Inode>();
  const shared = new Set<Inode>();
  const visit = (dir: DirNode) => {
    for (const node of dir.children.values()) {
      if (node.kind === "dir") visit(node);
      else if (node.kind === "file") {
        if (seen.has(node.inode)) shared.add(node.inode);
        else seen.add(node.inode);
      }
    }
  };
  visit(tree.root);
  return shared;
}

function entryFor(
  p: string,
  node: TreeNode,
  names: LayerNames,
  shared: ReadonlySet<Inode>,
  firstPath: Map<Inode, string>,
): LayerEntry {
  const m = node.meta;
  // The header fields are passed one by one, not spread from a shared base: V8 keeps the objects
  // an object spread makes alive past young-generation collections, so a walk of 100,000 files
  // piled ~100 MB of dead headers into the old generation (measured in bench/assemble.ts --files).
  const mode = m.mode & 0o7777;
  const { uid, gid, mtime } = m;
  const uname = names.users.get(uid) ?? "";
  const gname = names.groups.get(gid) ?? "";
  const pax: Record<string, string> = {};
  if ((node.kind === "file" || node.kind === "dir") && m.xattrs) {
    for (const [k, v] of Object.entries(m.xattrs)) pax[`SCHILY.xattr.${k}`] = xattrRecordValue(v);
  }
  // pax is empty for symlinks and devices (xattrs are kept on files and dirs only).
  const header = (type: EntryType, x: Partial<TarHeader>): TarHeader =>
    newHeader({
      name: p,
      mode: x.mode ?? mode,
      uid,
      gid,
      mtime,
      uname,
      gname,
      type,
      pax,
      linkname: x.linkname,
      size: x.size,
      devmajor: x.devmajor,
      devminor: x.devminor,
    });
  switch (node.kind) {
    case "dir":
      return { header: header("directory", {}) };
    case "symlink":
      return { header: header("symlink", { mode: 0o777, linkname: node.target }) };
    case "chardev":
      return { header: header("chardev", { devmajor: node.major, devminor: node.minor }) };
    case "file": {
      const first = firstPath.get(node.inode);
      if (first !== undefined) return { header: header("hardlink", { linkname: first }) };
      if (shared.has(node.inode)) firstPath.set(node.inode, p);
      return { header: header("file", { size: node.inode.size }), inode: node.inode };
    }
  }
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

/**
 * writeLayer for entries already chosen. With a listener, the total is known before the first byte:
 * `total` when the caller computed it (a walk that keeps nothing), else the entries are listed.
 */
export async function writeLayerEntries(
  entries: Iterable<LayerEntry>,
  store: ContentStore,
  dir: string,
  compressor?: CompressorFactory,
  onBytes?: LayerBytesListener,
  total?: number,
): Promise<WrittenLayer> {
  const list = onBytes && total === undefined ? [...entries] : entries;
  const progress = onBytes && { total: total ?? estimatedTarSize(list), onBytes };
  const writer = await LayerWriter.open(dir, store, compressor, progress);
  try {
    for (const entry of list) await writer.add(entry);
    return await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** The tar's size give or take the pax records: a header block per entry, bodies padded to blocks. */
export function estimatedTarSize(entries: Iterable<LayerEntry>): number {
  let n = 1024; // the end-of-archive blocks
  for (const e of entries) n += estimatedEntrySize(e);
  return n;
}

/** One entry's share of estimatedTarSize. */
export function estimatedEntrySize(e: LayerEntry): number {
  return 512 + (e.inode ? e.inode.size + paddingFor(e.inode.size) : 0);
}
