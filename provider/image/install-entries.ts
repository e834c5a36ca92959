/** One entry of a package as the installed database records it (package path, package modes). */
export interface DbEntry {
  /** The path as the package names it. */
  path: string;
  /** Where it landed in the tree (differs when a parent is a symlink, e.g. lib -> usr/lib). */
  resolved: string;
  type: "dir" | "file" | "symlink" | "hardlink";
  mode: number;
  uid: number;
  gid: number;
  /** Hex SHA-1 for the `Z:` line, when the package recorded (or we computed) one. */
  sha1?: string;
}

const TYPES: readonly DbEntry["type"][] = ["dir", "file", "symlink", "hardlink"];

/**
 * A package's installed-database entries, kept column by column until its record is written.
 *
 * Why not an array of DbEntry: an image of 100,000 files kept an object and a whole path string
 * per entry (~130 bytes) through the whole install, the phase whose heap sets the process's peak.
 * Here an entry costs a few array slots: its directory is one string per directory (shared by its
 * files), its name is the string the tree already holds as the child's key, and type, mode and
 * owner are small integers. DbEntry objects are made again only for one package at a time, when
 * its record is formatted (`list`), and are garbage right after.
 */
export class PackageEntries {
  /** The path up to and with its last "/" ("" for a top-level name), one string per directory. */
  private readonly dirs: string[] = [];
  private readonly names: string[] = [];
  /** `type index << 16 | mode` (mode is at most 0o7777). */
  private readonly kinds: number[] = [];
  private readonly uids: number[] = [];
  private readonly gids: number[] = [];
  private readonly sha1s: (string | undefined)[] = [];
  /** `resolved` of the few entries whose path did not resolve to itself, by index. */
  private readonly moved = new Map<number, string>();
  private readonly dirStrings = new Map<string, string>();

  get length(): number {
    return this.names.length;
  }

  /**
   * Records an entry. `name`, when given, is the tree's string for the last path component (equal
   * to the path's own last component): kept instead of a copy of it.
   */
  push(e: DbEntry, name?: string): void {
    const cut = e.path.lastIndexOf("/");
    const own = e.path.slice(cut + 1);
    const dir = e.path.slice(0, cut + 1);
    let shared = this.dirStrings.get(dir);
    if (shared === undefined) {
      shared = dir;
      this.dirStrings.set(dir, dir);
    }
    if (e.resolved !== e.path) this.moved.set(this.names.length, e.resolved);
    this.dirs.push(shared);
    this.names.push(name !== undefined && name === own ? name : own);
    this.kinds.push((TYPES.indexOf(e.type) << 16) | (e.mode & 0o7777));
    this.uids.push(e.uid);
    this.gids.push(e.gid);
    this.sha1s.push(e.sha1);
  }

  /** Entry `i` as a DbEntry (a new object). */
  at(i: number): DbEntry {
    const dir = this.dirs[i]!;
    const name = this.names[i]!;
    const path = dir + name;
    const kind = this.kinds[i]!;
    const e: DbEntry = {
      path,
      resolved: this.moved.get(i) ?? path,
      type: TYPES[kind >>> 16]!,
      mode: kind & 0xffff,
      uid: this.uids[i]!,
      gid: this.gids[i]!,
    };
    const sha1 = this.sha1s[i];
    if (sha1 !== undefined) e.sha1 = sha1;
    return e;
  }

  /** Every entry, in the order they were recorded (new objects). */
  list(): DbEntry[] {
    const out: DbEntry[] = [];
    for (let i = 0; i < this.names.length; i++) out.push(this.at(i));
    return out;
  }
}
