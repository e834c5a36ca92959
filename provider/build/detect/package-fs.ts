/**
 * The view of a package's files that dependency detection needs: the entries (type, mode, link
 * target) and bounded reads of regular files. Backed by a directory (a build's output dir, or an apk
 * extracted for tests). Symlinks are never followed out of the tree: a link is only looked up by name
 * inside the package trees, so a hostile `usr/lib/x.so -> /etc/shadow` reads nothing from the host.
 */
import type { Stats } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { DataEntry } from "../../apk/data-entry";
import { type CollectOptions, entriesOfWalk, type WalkedPath, walkTree } from "../../apk/tree";
import { type ElfInfo, readElfFile } from "./elf";

export interface PackageFsEntry {
  /** Relative, `usr/bin/x`. */
  path: string;
  type: "file" | "directory" | "symlink" | "other";
  /** Permission bits (0o7777). */
  mode: number;
  size: number;
  linkname?: string;
}

export interface PackageFs {
  /** Every entry, depth-first in bytewise order. */
  entries(): Promise<PackageFsEntry[]>;
  /** The entry at a relative path (symlinks not followed). */
  lookup(relPath: string): Promise<PackageFsEntry | undefined>;
  /** ELF facts of a regular file, `undefined` for anything else. */
  elf(relPath: string): Promise<ElfInfo | undefined>;
  /** Up to `length` leading bytes of a regular file. */
  head(relPath: string, length: number): Promise<Buffer>;
  /** A whole regular file, refused above `maxBytes` (returns undefined). */
  read(relPath: string, maxBytes: number): Promise<Buffer | undefined>;
  /**
   * The package's data tar entries from the same walk as `entries()` (the output dir is walked
   * once for detection, linting and packaging).
   */
  dataEntries(options: CollectOptions): Promise<DataEntry[]>;
}

function entryOf(rel: string, st: Stats, linkname?: string): PackageFsEntry {
  const type = st.isDirectory()
    ? "directory"
    : st.isSymbolicLink()
      ? "symlink"
      : st.isFile()
        ? "file"
        : "other";
  const e: PackageFsEntry = { path: rel, type, mode: st.mode & 0o7777, size: st.size };
  if (linkname !== undefined) e.linkname = linkname;
  return e;
}

/** A PackageFs over a directory on disk. */
export function directoryPackageFs(root: string): PackageFs {
  let listing: Promise<PackageFsEntry[]> | undefined;
  const abs = (rel: string) => {
    const p = path.join(root, rel);
    const back = path.relative(root, p);
    if (back.startsWith("..") || path.isAbsolute(back)) throw new Error(`path ${rel} leaves the package`);
    return p;
  };
  const regular = async (rel: string) => {
    const st = await fsp.lstat(abs(rel)).catch(() => undefined);
    return st?.isFile() ? abs(rel) : undefined;
  };
  let walked: Promise<WalkedPath[]> | undefined;
  const walk = () => {
    walked ??= walkTree(root).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    });
    return walked;
  };
  const list = async (): Promise<PackageFsEntry[]> => {
    const out: PackageFsEntry[] = [];
    for (const w of await walk())
      out.push(entryOf(w.rel, w.st, w.st.isSymbolicLink() ? await fsp.readlink(w.abs) : undefined));
    return out;
  };
  return {
    entries: () => {
      listing ??= list();
      return listing;
    },
    dataEntries: async (options) => entriesOfWalk(await walk(), options),
    lookup: async (rel) => {
      const p = abs(rel);
      const st = await fsp.lstat(p).catch(() => undefined);
      if (!st) return undefined;
      return entryOf(rel, st, st.isSymbolicLink() ? await fsp.readlink(p) : undefined);
    },
    elf: async (rel) => {
      const p = await regular(rel);
      return p ? readElfFile(p) : undefined;
    },
    head: async (rel, length) => {
      const p = await regular(rel);
      if (!p) return Buffer.alloc(0);
      const fh = await fsp.open(p, "r");
      try {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, 0);
        return buf.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    read: async (rel, maxBytes) => {
      const p = await regular(rel);
      if (!p) return undefined;
      const st = await fsp.stat(p);
      if (st.size > maxBytes) return undefined;
      return fsp.readFile(p);
    },
  };
}
