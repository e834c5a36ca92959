import { lstatSync, readdirSync, type Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { comparePaths } from "../archive/safe-path";
import { DistrolessError } from "../util/errors";
import type { DataEntry } from "./data-entry";

export interface CollectOptions {
  /** Map owner ids (melange: the build user 1000 becomes root). Default: everything 0:0. */
  mapOwner?: (uid: number, gid: number) => { uid: number; gid: number };
}

/** One path of a walked tree with its lstat. */
export interface WalkedPath {
  rel: string;
  st: Stats;
  abs: string;
}

/**
 * Walks a directory into package entries: regular files (streamed later from disk), directories,
 * symlinks, hardlinks (the second and later paths of an inode become tar hardlinks to the first in
 * sorted order), devices and FIFOs. Sockets cannot be packaged and are an error naming the path.
 */
export async function collectTree(root: string, options: CollectOptions = {}): Promise<DataEntry[]> {
  return entriesOfWalk(await walkTree(root), options);
}

/**
 * Every path under root with its lstat, in bytewise order (one walk others can share).
 * Synchronous calls: an async lstat per file is a thread-pool round trip each, several times
 * slower over thousands of files on a busy machine.
 */
export async function walkTree(root: string): Promise<WalkedPath[]> {
  const found: WalkedPath[] = [];
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const abs = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      found.push({ rel: r, st, abs });
      if (st.isDirectory()) walk(abs, r);
    }
  };
  walk(root, "");
  return found.sort((a, b) => comparePaths(a.rel, b.rel));
}

/** The package entries of a walk (see collectTree). */
export async function entriesOfWalk(found: WalkedPath[], options: CollectOptions = {}): Promise<DataEntry[]> {
  const mapOwner = options.mapOwner ?? (() => ({ uid: 0, gid: 0 }));
  const firstPathOfInode = new Map<string, string>();
  const entries: DataEntry[] = [];
  for (const { rel, st, abs } of found) {
    const owner = mapOwner(st.uid, st.gid);
    const base = { path: rel, mode: st.mode & 0o7777, uid: owner.uid, gid: owner.gid };
    if (st.isDirectory()) entries.push({ ...base, type: "directory" });
    else if (st.isSymbolicLink())
      entries.push({ ...base, type: "symlink", mode: 0o777, linkname: await fsp.readlink(abs) });
    else if (st.isFile()) {
      const inode = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? firstPathOfInode.get(inode) : undefined;
      if (first) entries.push({ ...base, type: "hardlink", linkname: first });
      else {
        if (st.nlink > 1) firstPathOfInode.set(inode, rel);
        entries.push({ ...base, type: "file", content: { file: abs, size: st.size } });
      }
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      entries.push({
        ...base,
        type: st.isCharacterDevice() ? "chardev" : "blockdev",
        devmajor: Math.floor(st.rdev / 256),
        devminor: st.rdev % 256,
      });
    } else if (st.isFIFO()) entries.push({ ...base, type: "fifo" });
    else throw new DistrolessError("E_BUILD", "cannot package a socket", { subject: abs });
  }
  return entries;
}
