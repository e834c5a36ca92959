import { DistrolessError } from "../util/errors";
import { sha1Hex } from "../util/hash";
import type { FileNode, FsTree, Inode, NodeMeta } from "./tree";
import { normalizeWithin } from "./tree";

/**
 * The skeleton apko lays down before any package (image-layout.md "The layer, in order of
 * creation", steps 1-4), and the `lib/apk` link after them (step 6). Everything the assembler
 * creates itself is root-owned with mtime 0; contents are set again once known (world, db files).
 */

export const DB_DIR = "usr/lib/apk/db";
export const INSTALLED_PATH = `${DB_DIR}/installed`;
export const SCRIPTS_PATH = `${DB_DIR}/scripts.tar`;
export const TRIGGERS_PATH = `${DB_DIR}/triggers`;
export const WORLD_PATH = "etc/apk/world";
export const REPOSITORIES_PATH = "etc/apk/repositories";

const meta = (mode: number, mtime = 0): NodeMeta => ({ mode, uid: 0, gid: 0, mtime });

function inlineInode(data: Buffer | string): Inode {
  const body = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return { content: { kind: "inline", data: body }, size: body.length, sha1: sha1Hex(body) };
}

/** A root-owned file written by the assembler: content held inline (these are all small). */
export function putFile(
  tree: FsTree,
  path: string,
  data: Buffer | string,
  mode: number,
  options: { mtime?: number } = {},
): FileNode {
  const node: FileNode = { kind: "file", meta: meta(mode, options.mtime), inode: inlineInode(data) };
  tree.setLeaf(path, node, path);
  return node;
}

/** Replaces a file's content in place, keeping its mode, ownership and owning package. */
export function rewriteFile(tree: FsTree, path: string, data: Buffer | string): FileNode {
  const node = tree.lookup(path);
  if (node?.kind !== "file") {
    throw new DistrolessError("E_INTERNAL", `${path} is not a file to rewrite`);
  }
  const next: FileNode = { ...node, inode: inlineInode(data) };
  tree.setLeaf(path, next);
  return next;
}

const BASE_DIRS: [string, number][] = [
  ["tmp", 0o1777],
  ["dev", 0o755],
  ["etc", 0o755],
  ["opt", 0o755],
  ["proc", 0o555],
  ["var", 0o755],
  ["usr", 0o755],
  ["etc/apk", 0o755],
  ["etc/apk/keys", 0o755],
  ["usr/lib", 0o755],
  ["usr/lib/apk", 0o755],
  [DB_DIR, 0o755],
  ["usr/lib/apk/exec", 0o755],
  ["var/cache", 0o755],
  ["var/cache/apk", 0o755],
  ["var/cache/misc", 0o755],
];

const DEVICES: [string, number, number, number][] = [
  ["dev/zero", 0o666, 1, 5],
  ["dev/urandom", 0o666, 1, 9],
  ["dev/null", 0o666, 1, 3],
  ["dev/random", 0o666, 1, 8],
  ["dev/console", 0o620, 5, 1],
];

/** Steps 1-4: base directories, the apk database files (placeholders), devices, scripts.tar. */
export function initBaseLayout(tree: FsTree, apkArch: string): void {
  for (const [p, mode] of BASE_DIRS) tree.mkdirAll(p, meta(mode));
  putFile(tree, WORLD_PATH, "\n", 0o644);
  putFile(tree, REPOSITORIES_PATH, "\n", 0o644);
  putFile(tree, `${DB_DIR}/lock`, "", 0o600);
  putFile(tree, TRIGGERS_PATH, "", 0o644);
  putFile(tree, INSTALLED_PATH, "", 0o644);
  putFile(tree, "etc/apk/arch", `${apkArch}\n`, 0o644);
  installDevices(tree);
  putFile(tree, SCRIPTS_PATH, Buffer.alloc(1024), 0o644);
}

/** The character devices apko creates (again after everything else, so packages cannot remove them). */
export function installDevices(tree: FsTree): void {
  for (const [p, mode, major, minor] of DEVICES) {
    if (tree.lookup(p)) continue;
    tree.setLeaf(p, { kind: "chardev", meta: meta(mode), major, minor }, p);
  }
}

/** Step 5 (before the packages): signing keys, repositories, world. */
export function writeApkConfig(
  tree: FsTree,
  keys: { name: string; content: string | Buffer }[],
  repositories: string[],
  world: string,
): void {
  for (const key of keys) {
    if (key.name.includes("/") || key.name === "" || key.name === "." || key.name === "..") {
      throw new DistrolessError("E_CONFIG", `invalid key file name ${JSON.stringify(key.name)}`);
    }
    putFile(tree, `etc/apk/keys/${key.name}`, key.content, 0o644);
  }
  rewriteFile(tree, REPOSITORIES_PATH, repositories.length > 0 ? `${repositories.join("\n")}\n` : "\n");
  rewriteFile(tree, WORLD_PATH, world);
}

/**
 * Step 6: `lib/apk -> ../usr/lib/apk`, unless `lib` (or `lib/apk`) already points into usr (a
 * usr-merged base). An existing `lib/apk` directory is replaced only when it holds nothing but empty
 * directories, as apko does.
 */
export function linkLibApk(tree: FsTree): void {
  const pointsAt = (p: string, want: string): boolean => {
    const node = tree.lookup(p);
    if (node?.kind !== "symlink") return false;
    const base = p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "";
    const target = node.target.startsWith("/") ? node.target : `${base}/${node.target}`;
    try {
      return normalizeWithin(target, p, p) === want;
    } catch {
      return false;
    }
  };
  if (pointsAt("lib", "usr/lib") || pointsAt("lib/apk", "usr/lib/apk")) return;
  if (!tree.lookup("lib")) tree.mkdirAll("lib", meta(0o755));
  const existing = tree.lookup("lib/apk");
  if (existing?.kind === "dir") {
    for (const [name, child] of existing.children) {
      if (child.kind !== "dir") {
        throw new DistrolessError("E_CONFLICT", `/lib/apk contains file ${name}, refusing to replace it`);
      }
      if (child.children.size > 0) {
        throw new DistrolessError("E_CONFLICT", `/lib/apk/${name} is not empty, refusing to replace it`);
      }
    }
    tree.remove("lib/apk");
  } else if (existing) {
    throw new DistrolessError("E_CONFLICT", `/lib/apk exists as a ${existing.kind}, refusing to replace it`);
  }
  tree.setLeaf("lib/apk", { kind: "symlink", meta: meta(0o777), target: "../usr/lib/apk" }, "lib/apk");
}
