import { DistrolessError } from "../util/errors";
import type { ContentRef } from "./content-store";

/**
 * The image's file system while it is assembled: metadata only. Regular file bodies live in the
 * content store (or inline when tiny); hardlinked paths share one `Inode`.
 */
export interface NodeMeta {
  /** Permission bits including setuid/setgid/sticky (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  xattrs?: Record<string, Buffer>;
}

export interface Inode {
  content: ContentRef;
  size: number;
  /** Hex SHA-1 of the body. */
  sha1: string;
}

export interface DirNode {
  kind: "dir";
  meta: NodeMeta;
  children: Map<string, TreeNode>;
}

export interface FileNode {
  kind: "file";
  meta: NodeMeta;
  inode: Inode;
  /** The package that installed it (undefined: written by the assembler). */
  owner?: string;
}

export interface SymlinkNode {
  kind: "symlink";
  meta: NodeMeta;
  target: string;
  owner?: string;
}

export interface DeviceNode {
  kind: "chardev";
  meta: NodeMeta;
  major: number;
  minor: number;
  owner?: string;
}

export type TreeNode = DirNode | FileNode | SymlinkNode | DeviceNode;
export type LeafNode = FileNode | SymlinkNode | DeviceNode;

/** Where a path lands once its parent directories are resolved (symlinks followed inside the tree). */
export interface ResolvedParent {
  dir: DirNode;
  /** Canonical path of `dir` ("" = the root). */
  dirPath: string;
  name: string;
  /** Canonical path of the entry itself. */
  path: string;
}

const MAX_SYMLINK_HOPS = 40;

export function joinPath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

export function newDir(meta: NodeMeta): DirNode {
  return { kind: "dir", meta, children: new Map() };
}

/**
 * Depth-first, bytewise-sorted walk (the order of the layer tar); the root itself is not yielded.
 * Names are compared as UTF-8 bytes, as Go's tar writers and apk do.
 */
export function* walkTree(dir: DirNode, prefix = ""): Generator<[string, TreeNode]> {
  const names = [...dir.children.keys()].sort(compareNames);
  for (const name of names) {
    const node = dir.children.get(name)!;
    const p = joinPath(prefix, name);
    yield [p, node];
    if (node.kind === "dir") yield* walkTree(node, p);
  }
}

const SURROGATE = /[\uD800-\uDFFF]/;

export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  // Without surrogate pairs, UTF-16 code unit order is code point order, which is UTF-8 byte order.
  if (!SURROGATE.test(a) && !SURROGATE.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function splitPath(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/**
 * An in-memory directory tree with chroot semantics: absolute symlink targets resolve from the
 * image root, relative ones from the link's directory, and any resolution that climbs above the
 * root is refused (E_HOSTILE) rather than clamped, because a package that writes through such a
 * link is trying to place files somewhere it did not name.
 */
export class FsTree {
  readonly root: DirNode;

  constructor(rootMeta: NodeMeta = { mode: 0o755, uid: 0, gid: 0, mtime: 0 }) {
    this.root = newDir(rootMeta);
  }

  /**
   * Resolves every component of `path` but the last. Missing directories are created with
   * `createMissing` when given, else the result is undefined.
   */
  resolveParent(path: string, subject: string, createMissing?: NodeMeta): ResolvedParent | undefined {
    const parts = splitPath(path);
    if (parts.length === 0) throw new DistrolessError("E_INTERNAL", `${subject}: empty path`);
    if (parts.includes("..")) {
      throw new DistrolessError("E_HOSTILE", `${subject}: path ${JSON.stringify(path)} names ".."`);
    }
    const name = parts.pop()!;
    const at = this.resolveDir(parts, subject, path, createMissing, 0);
    if (!at) return undefined;
    return { dir: at.dir, dirPath: at.path, name, path: joinPath(at.path, name) };
  }

  private resolveDir(
    parts: string[],
    subject: string,
    original: string,
    createMissing: NodeMeta | undefined,
    hops: number,
    viaSymlink = false,
  ): { dir: DirNode; path: string } | undefined {
    let dir = this.root;
    let stack: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i]!;
      if (part === "..") {
        if (stack.length === 0) throw escapes(subject, original);
        stack = stack.slice(0, -1);
        dir = this.dirAt(stack, subject, original);
        continue;
      }
      const child = dir.children.get(part);
      if (!child) {
        if (!createMissing) return undefined;
        if (viaSymlink) {
          // Like the kernel: a write through a dangling symlink fails; we do not invent its target.
          throw new DistrolessError(
            "E_CONFLICT",
            `${subject}: ${original} goes through a symlink to ${joinPath(stack.join("/"), part)}, which does not exist`,
          );
        }
        const made = newDir({ ...createMissing });
        dir.children.set(part, made);
        dir = made;
        stack.push(part);
        continue;
      }
      if (child.kind === "dir") {
        dir = child;
        stack.push(part);
        continue;
      }
      if (child.kind === "symlink") {
        if (hops >= MAX_SYMLINK_HOPS) {
          throw new DistrolessError("E_HOSTILE", `${subject}: too many levels of symlinks in ${original}`);
        }
        const target = child.target;
        const base = target.startsWith("/") ? [] : [...stack];
        const resolved = this.resolveDir(
          [...base, ...target.split("/").filter((c) => c !== "" && c !== "."), ...parts.slice(i + 1)],
          subject,
          original,
          createMissing,
          hops + 1,
          true,
        );
        return resolved;
      }
      throw new DistrolessError(
        "E_CONFLICT",
        `${subject}: ${joinPath(stack.join("/"), part)} is not a directory (needed for ${original})`,
      );
    }
    return { dir, path: stack.join("/") };
  }

  private dirAt(stack: string[], subject: string, original: string): DirNode {
    let dir = this.root;
    for (const part of stack) {
      const next = dir.children.get(part);
      if (next?.kind !== "dir") {
        throw new DistrolessError("E_INTERNAL", `${subject}: lost directory while resolving ${original}`);
      }
      dir = next;
    }
    return dir;
  }

  /** The node at `path` (parents resolved; the last component itself is not followed). */
  lookup(path: string, subject = path): TreeNode | undefined {
    const parts = splitPath(path);
    if (parts.length === 0) return this.root;
    const at = this.resolveParent(path, subject);
    return at?.dir.children.get(at.name);
  }

  /** Like lookup, but a symlink at the end is followed too (what stat() does). */
  stat(path: string, subject = path, hops = 0): { node: TreeNode; path: string } | undefined {
    const parts = splitPath(path);
    if (parts.length === 0) return { node: this.root, path: "" };
    const at = this.resolveParent(path, subject);
    const node = at?.dir.children.get(at.name);
    if (!at || !node) return undefined;
    if (node.kind !== "symlink") return { node, path: at.path };
    if (hops >= MAX_SYMLINK_HOPS) {
      throw new DistrolessError("E_HOSTILE", `${subject}: too many levels of symlinks at ${path}`);
    }
    const target = node.target.startsWith("/") ? node.target : joinPath(at.dirPath, node.target);
    const normalized = normalizeWithin(target, subject, path);
    if (normalized === "") return { node: this.root, path: "" };
    return this.stat(normalized, subject, hops + 1);
  }

  /** Creates `path` and its missing parents as directories with `meta`; returns the directory. */
  mkdirAll(path: string, meta: NodeMeta, subject = path): DirNode {
    const parts = splitPath(path);
    if (parts.length === 0) return this.root;
    const at = this.resolveParent(path, subject, meta)!;
    const existing = at.dir.children.get(at.name);
    if (!existing) {
      const made = newDir({ ...meta });
      at.dir.children.set(at.name, made);
      return made;
    }
    if (existing.kind === "dir") return existing;
    const followed = this.stat(at.path, subject);
    if (followed?.node.kind === "dir") return followed.node;
    throw new DistrolessError("E_CONFLICT", `${subject}: ${at.path} exists and is not a directory`);
  }

  /** Places a leaf node at `path` (replacing whatever non-directory was there). */
  setLeaf(path: string, node: LeafNode, subject = path, parentMeta?: NodeMeta): string {
    const at = this.resolveParent(path, subject, parentMeta ?? { mode: 0o755, uid: 0, gid: 0, mtime: 0 })!;
    const existing = at.dir.children.get(at.name);
    if (existing?.kind === "dir") {
      throw new DistrolessError("E_CONFLICT", `${subject}: ${at.path} is a directory`);
    }
    at.dir.children.set(at.name, node);
    return at.path;
  }

  remove(path: string, subject = path): boolean {
    const at = this.resolveParent(path, subject);
    if (!at) return false;
    return at.dir.children.delete(at.name);
  }
}

/** Normalizes a root-relative path with `..`; refuses one that climbs above the root. */
export function normalizeWithin(p: string, subject: string, original: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) throw escapes(subject, original);
      out.pop();
    } else out.push(part);
  }
  return out.join("/");
}

function escapes(subject: string, original: string): DistrolessError {
  return new DistrolessError(
    "E_HOSTILE",
    `${subject}: ${JSON.stringify(original)} resolves through a symlink that points outside the image root`,
  );
}
