import type { EntryType } from "../archive/tar-header";

/** One entry of a package's (or image's) file tree, before it is written into a tar. */
export interface DataEntry {
  /** Relative, normalized (`usr/bin/x`). */
  path: string;
  type: Extract<EntryType, "file" | "directory" | "symlink" | "hardlink" | "chardev" | "blockdev" | "fifo">;
  mode: number;
  uid: number;
  gid: number;
  /**
   * Owner names for the tar header; "root" when absent. melange names owners from its build
   * guest's /etc/passwd and /etc/group, and leaves a name empty when no account has the id.
   */
  uname?: string;
  gname?: string;
  /** Symlink target, or the path a hardlink points at. */
  linkname?: string;
  /** Regular files: the content, in memory or as a file to stream from. */
  content?: Buffer | { file: string; size: number };
  xattrs?: Record<string, Buffer>;
  devmajor?: number;
  devminor?: number;
  /** Per-entry mtime; writers override it with SOURCE_DATE_EPOCH when one is set. */
  mtime?: number;
}

export function contentSize(entry: DataEntry): number {
  const c = entry.content;
  if (!c) return 0;
  return Buffer.isBuffer(c) ? c.length : c.size;
}
