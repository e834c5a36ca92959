import { type ApkDataEntry, type ApkDataSummary, type ApkHead, scanApkData } from "../apk/apk-reader";
import { parseDependency } from "../apk/dependency";
import type { PkgInfo } from "../apk/pkginfo";
import { DamagedPackError, type PackWriter, type UnpackedCache } from "../repository/unpacked-cache";
import type { UnpackedEntry } from "../repository/unpacked-format";
import { DistrolessError } from "../util/errors";
import { newHash, q1Decode } from "../util/hash";
import { type ContentStore, PackedInode, type PendingBody, type StoredContent } from "./content-store";
import { type DbEntry, PackageEntries } from "./install-entries";
import type { PlannedPackage } from "./install-plan";
import type { FsTree, LeafNode, NodeMeta, ResolvedParent, TreeNode } from "./tree";

export type { DbEntry } from "./install-entries";

/** A package after installation: what the installed database, scripts.tar and the SBOM need. */
export interface InstalledPackage {
  planned: PlannedPackage;
  pkginfo: PkgInfo;
  head: ApkHead;
  /** `C:`: `Q1` + base64 SHA-1 of the control segment. */
  checksum: string;
  /** SHA-256 of the data segment as read (equal to `.PKGINFO` datahash). */
  datahash: string;
  /** What the installed database lists for it (dropped once the database is written). */
  entries: PackageEntries;
}

/** The names a package replaces (`replaces = foo<2` counts as `foo`). */
function replacedNames(info: PkgInfo): Set<string> {
  const out = new Set<string>();
  for (const r of info.replaces) {
    for (const word of r.split(/\s+/).filter(Boolean)) {
      try {
        out.add(parseDependency(word).name);
      } catch {
        out.add(word);
      }
    }
  }
  return out;
}

/** A recorded checksum in either form apk tools write (hex, or `Q1` + base64) as hex. */
export function recordedHex(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (value.startsWith("Q1")) return q1Decode(value)?.toString("hex");
  return /^[0-9a-fA-F]{40}$/.test(value) ? value.toLowerCase() : undefined;
}

function identity(node: TreeNode): string | undefined {
  if (node.kind === "file") return `f:${node.inode.sha1}`;
  if (node.kind === "symlink") return `l:${node.target}`;
  return undefined;
}

function label(p: InstalledPackage | undefined, fallback: string): string {
  return p ? `${p.pkginfo.pkgname}-${p.pkginfo.pkgver}` : fallback;
}

/** One data-segment entry as the installer places it (from an .apk scan or an unpacked copy). */
export interface EntryToInstall {
  path: string;
  /** The tar type; anything but directory, file, symlink and hardlink is refused. */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  /** Hex SHA-1 the package recorded (files: their body's, verified while read). */
  sha1?: string;
  xattrs?: Record<string, Buffer>;
}

/** A regular file waiting for its body: where it goes and what the database will say. */
interface FileSlot {
  at: ResolvedParent;
  meta: NodeMeta;
  db: DbEntry;
}

/**
 * Places one package's entries into the tree with apk's rules for files two packages both ship:
 * identical content keeps the first; the current owner replacing the newcomer keeps the current
 * file; the newcomer replacing the owner (or both sharing an origin) overwrites it; anything else is
 * an E_CONFLICT naming both packages and the path. Each path has one owner at a time, so the
 * installed database lists every file under exactly one package. Synchronous: a file's body is
 * given separately (`file`), once the caller has it.
 */
class PackagePlacer {
  readonly entries = new PackageEntries();
  private readonly subject: string;
  private readonly replaces: Set<string>;
  private readonly metas = new Map<string, NodeMeta>();
  private lastMeta: NodeMeta | undefined;

  constructor(
    private readonly tree: FsTree,
    private readonly planned: PlannedPackage,
    private readonly info: PkgInfo,
    private readonly installed: ReadonlyMap<string, InstalledPackage>,
  ) {
    this.subject = `${info.pkgname}-${info.pkgver}`;
    this.replaces = replacedNames(info);
  }

  /** The package's one frozen NodeMeta with `mode` and the rest of `meta` (which has no xattrs). */
  private sharedMeta(mode: number, meta: NodeMeta): NodeMeta {
    const { uid, gid, mtime } = meta;
    const last = this.lastMeta;
    if (last && last.mode === mode && last.uid === uid && last.gid === gid && last.mtime === mtime)
      return last;
    const key = `${mode}:${uid}:${gid}:${mtime}`;
    let shared = this.metas.get(key);
    if (!shared) {
      shared = Object.freeze({ mode, uid, gid, mtime });
      this.metas.set(key, shared);
    }
    this.lastMeta = shared;
    return shared;
  }

  /** Decides whether the newcomer may take `path` from its current occupant; throws on conflict. */
  private mayOverwrite(resolved: string, existing: TreeNode, incoming: string | undefined): boolean {
    const { info, subject } = this;
    if (existing.kind === "dir") {
      throw new DistrolessError(
        "E_CONFLICT",
        `${subject} installs a file at ${resolved}, where a directory already is`,
        { subject: this.planned.apkPath },
      );
    }
    if (incoming !== undefined && identity(existing) === incoming) return false;
    const ownerName = existing.owner;
    if (ownerName === undefined || ownerName === info.pkgname) return true;
    const owner = this.installed.get(ownerName);
    if (owner && replacedNames(owner.pkginfo).has(info.pkgname)) return false;
    if (this.replaces.has(ownerName)) return true;
    if (owner && owner.pkginfo.origin !== "" && owner.pkginfo.origin === info.origin) return true;
    throw new DistrolessError(
      "E_CONFLICT",
      `${subject} and ${label(owner, ownerName)} both install ${resolved}; neither replaces the other and ` +
        `their origins differ (add "replaces" to one of them, or remove one)`,
      { subject: this.planned.apkPath },
    );
  }

  /** Puts `node` where the entry resolved to, unless the path's current occupant stays. */
  private place(at: ResolvedParent, node: LeafNode, incoming: string | undefined): void {
    const existing = at.dir.children.get(at.name);
    if (existing && !this.mayOverwrite(at.path, existing, incoming)) return;
    at.dir.children.set(at.name, node);
  }

  /**
   * Installs `e`, except a regular file's body: for a file that needs one, returns the slot to
   * hand to `file` with it (undefined when the path already holds identical content).
   */
  begin(e: EntryToInstall): FileSlot | undefined {
    const { tree, subject, info, entries } = this;
    // The layer takes apko's ownership and modes, checked against the real apko by
    // test/conformance: apko's installer creates every package entry owned by root (0:0), and
    // directories with their permission bits only (it makes them with MkdirAll(mode.Perm()), so
    // setuid/setgid/sticky on a package directory are dropped; docs/conformance.md says why we keep
    // those). The installed db keeps the package's own owner and mode (`a:`/`M:`), as apko's does.
    // One exception, on purpose: a setuid/setgid entry owned by someone other than root keeps its
    // owner, or the package's setuid-user binary would become setuid root.
    const special = (e.mode & 0o6000) !== 0 && (e.uid !== 0 || e.gid !== 0);
    const meta: NodeMeta = {
      mode: e.mode & 0o7777,
      uid: special ? e.uid : 0,
      gid: special ? e.gid : 0,
      mtime: e.mtime,
    };
    const xattrs = e.xattrs && Object.keys(e.xattrs).length > 0;
    if (xattrs) meta.xattrs = e.xattrs;
    // A leaf's metadata is never changed in place (paths.ts replaces it), so the leaves of a
    // package share one frozen object per distinct mode/owner/mtime (a directory keeps its own:
    // a later package stamps its mtime on it).
    const leafMeta = (mode: number) => (xattrs ? { ...meta, mode } : this.sharedMeta(mode, meta));
    // Resolve parents first: this is where a write through an escaping symlink is refused.
    const at = tree.resolveParent(e.path, `${subject}: ${e.path}`, dirDefaults(e.mtime))!;
    const existing = at.dir.children.get(at.name);
    // One string for both when the path resolved to itself (the usual case): kept per file until
    // the installed database is written, a second copy costs memory on images of many files.
    const resolved = at.path === e.path ? e.path : at.path;
    const db = (type: DbEntry["type"], sha1?: string): DbEntry => {
      const d: DbEntry = { path: e.path, resolved, type, mode: e.mode & 0o7777, uid: e.uid, gid: e.gid };
      if (sha1) d.sha1 = sha1;
      return d;
    };
    switch (e.type) {
      case "directory":
      case "dir": {
        if (!existing) at.dir.children.set(at.name, { kind: "dir", meta, children: new Map() });
        else if (existing.kind === "dir") {
          // apko keeps the first mode and owner of a directory but stamps every package's mtime and
          // xattrs on it (Chtimes/SetXattr after its MkdirAll), so the last package listing it wins.
          existing.meta.mtime = e.mtime;
          if (meta.xattrs) existing.meta.xattrs = { ...(existing.meta.xattrs ?? {}), ...meta.xattrs };
        } else {
          // apk accepts a directory entry where a symlink to a directory already is (usr-merge).
          const followed =
            existing.kind === "symlink" ? tree.stat(at.path, `${subject}: ${e.path}`) : undefined;
          if (followed?.node.kind !== "dir") {
            throw new DistrolessError(
              "E_CONFLICT",
              `${subject} installs a directory at ${at.path}, where ${label(this.installed.get(existing.owner ?? ""), "the image")} has a ${existing.kind}`,
              { subject: this.planned.apkPath },
            );
          }
        }
        entries.push(db("dir"), at.name);
        return undefined;
      }
      case "file": {
        const recorded = e.sha1;
        if (existing && recorded && existing.kind === "file" && existing.inode.sha1 === recorded) {
          // Identical content: keep the first copy; nothing to store.
          entries.push(db("file", recorded), at.name);
          return undefined;
        }
        if (existing?.kind === "dir") this.mayOverwrite(at.path, existing, undefined);
        return { at, meta: leafMeta(meta.mode), db: db("file") };
      }
      case "symlink": {
        const node: LeafNode = {
          kind: "symlink",
          meta: leafMeta(0o777),
          target: e.linkname,
          owner: info.pkgname,
        };
        this.place(at, node, `l:${e.linkname}`);
        entries.push(db("symlink", e.sha1), at.name);
        return undefined;
      }
      case "hardlink": {
        const target = tree.lookup(e.linkname, `${subject}: ${e.path}`);
        if (target?.kind !== "file") {
          throw new DistrolessError(
            "E_FORMAT",
            `${subject}: hardlink ${e.path} points at ${JSON.stringify(e.linkname)}, which is not a file installed before it`,
            { subject: this.planned.apkPath },
          );
        }
        const node: LeafNode = {
          kind: "file",
          meta: leafMeta(meta.mode),
          inode: target.inode,
          owner: info.pkgname,
        };
        this.place(at, node, `f:${target.inode.sha1}`);
        entries.push(db("hardlink", e.sha1), at.name);
        return undefined;
      }
      default:
        throw new DistrolessError(
          "E_FORMAT",
          `${subject}: ${e.path} is a ${e.type} entry; apk packages may only hold files, directories and links`,
          { subject: this.planned.apkPath },
        );
    }
  }

  /** Completes a file `begin` left open, with its body's place and hash. */
  file(slot: FileSlot, stored: StoredContent): void {
    const ref = stored.ref;
    const node: LeafNode = {
      kind: "file",
      meta: slot.meta,
      inode:
        ref.kind === "packed"
          ? new PackedInode(ref.pack, ref.offset, stored.size, stored.sha1)
          : { content: ref, size: stored.size, sha1: stored.sha1 },
      owner: this.info.pkgname,
    };
    this.place(slot.at, node, `f:${stored.sha1}`);
    slot.db.sha1 = stored.sha1;
    this.entries.push(slot.db, slot.at.name);
  }
}

function scannedEntry(entry: ApkDataEntry): EntryToInstall {
  const h = entry.header;
  const e: EntryToInstall = {
    path: entry.path,
    type: h.type,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    mtime: h.mtime,
    linkname: h.linkname,
  };
  const sha1 = recordedHex(entry.recordedSha1);
  if (sha1) e.sha1 = sha1;
  if (Object.keys(entry.xattrs).length > 0) e.xattrs = entry.xattrs;
  return e;
}

/**
 * Installs one verified package into the tree. With an unpacked cache, a package already unpacked
 * there is installed from it (no inflating, no re-verifying: its seal and block hashes stand for
 * the verification done when it was written); any other is scanned from its .apk, verified, and
 * unpacked into the cache on the way. A damaged cache entry is reported to `notice`, removed, and
 * the package installed from its .apk.
 */
export async function installPackage(
  tree: FsTree,
  store: ContentStore,
  planned: PlannedPackage,
  head: ApkHead,
  installed: ReadonlyMap<string, InstalledPackage>,
  unpacked?: { cache: UnpackedCache; notice: (message: string) => void },
): Promise<InstalledPackage> {
  const info = head.pkginfo;
  const placer = new PackagePlacer(tree, planned, info, installed);
  const result: InstalledPackage = {
    planned,
    pkginfo: info,
    head,
    checksum: head.controlChecksum,
    datahash: "",
    entries: placer.entries,
  };
  if (!unpacked) {
    result.datahash = await installFromApk(
      placer,
      head,
      storeBodies(store, `${info.pkgname}-${info.pkgver}`),
    );
    return result;
  }
  const label = `${info.pkgname}-${info.pkgver} (${info.arch})`;
  let cached: ReturnType<UnpackedCache["read"]>;
  try {
    cached = unpacked.cache.read(head.controlChecksum, label);
    if (cached && cached.meta.datahash !== info.datahash) {
      unpacked.cache.discard(head.controlChecksum);
      throw new DamagedPackError(head.controlChecksum, "its datahash is not the package's", label);
    }
  } catch (err) {
    if (!(err instanceof DamagedPackError)) throw err;
    cached = undefined;
    unpacked.notice(`${err.message}; installing it from its .apk again`);
  }
  if (cached) {
    const pack = cached.handle;
    for (const e of cached.entries) {
      const slot = placer.begin(e);
      if (slot)
        placer.file(slot, { sha1: e.sha1!, size: e.size, ref: { kind: "packed", pack, offset: e.offset } });
    }
    result.datahash = cached.meta.datahash;
    return result;
  }
  const writer = unpacked.cache.writer(head.controlChecksum, label);
  try {
    result.datahash = await installFromApk(placer, head, packBodies(writer));
    writer.finish(result.datahash);
  } catch (err) {
    writer.abort();
    throw err;
  }
  return result;
}

/** Where the bodies of a scanned package go: called per entry, with its body for files. */
type BodySink = {
  /** Takes a file's body (all of it); returns where it now is. */
  file(e: EntryToInstall, body: AsyncIterable<Buffer>, size: number): Promise<StoredContent>;
  /** Every entry, after its body (the unpacked copy records its list). */
  entry?(e: EntryToInstall, stored?: StoredContent): void;
  /** The scan verified: the bodies may be used. */
  commit(): void;
  /** The scan failed: drop what was kept. */
  discard(): void;
};

/** Scans the .apk (verifying it whole), placing each entry; returns the verified datahash. */
async function installFromApk(placer: PackagePlacer, head: ApkHead, sink: BodySink): Promise<string> {
  const consume = async (entry: ApkDataEntry, body: AsyncIterable<Buffer>): Promise<void> => {
    const e = scannedEntry(entry);
    const slot = placer.begin(e);
    if (e.type !== "file") {
      sink.entry?.(e);
      return;
    }
    // A body every package copy keeps (the unpacked copy), or only when the tree needs it.
    if (!slot && !sink.entry) return;
    const stored = await sink.file(e, body, entry.header.size);
    sink.entry?.(e, stored);
    if (slot) placer.file(slot, stored);
  };
  let summary: ApkDataSummary;
  try {
    summary = await scanApkData(head, consume);
  } catch (err) {
    sink.discard();
    throw err;
  }
  sink.commit();
  return summary.datahash;
}

/** Bodies into the shared content store, adopted only once the whole data segment verified. */
function storeBodies(store: ContentStore, subject: string): BodySink {
  const pending: PendingBody[] = [];
  return {
    file: (e, body, size) => store.ingest(body, size, e.sha1, `${subject}: ${e.path}`, pending),
    commit: () => store.commit(pending),
    discard: () => store.discard(pending),
  };
}

/** Bodies appended to the package's unpacked copy (the writer is finished or aborted by the caller). */
function packBodies(writer: PackWriter): BodySink {
  return {
    async file(e, body, size) {
      const offset = writer.position;
      // The scanner checks a recorded SHA-1 itself; only a file without one is hashed here.
      const hash = e.sha1 ? undefined : newHash("sha1");
      for await (const chunk of body) {
        hash?.update(chunk);
        writer.append(chunk);
      }
      const written = writer.position - offset;
      if (written !== size) {
        throw new DistrolessError("E_FORMAT", `${e.path}: body is ${written} bytes, the header says ${size}`);
      }
      return {
        sha1: e.sha1 ?? hash!.digest("hex"),
        size,
        ref: { kind: "packed", pack: writer.handle, offset },
      };
    },
    entry(e, stored) {
      const type = e.type === "directory" ? "dir" : (e.type as UnpackedEntry["type"]);
      // Field by field, not spread from `e`: V8 keeps spread-made objects alive past young
      // collections (see layer.ts entryFor), one per entry of a package of many files.
      const out: UnpackedEntry = {
        path: e.path,
        type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        mtime: e.mtime,
        linkname: e.linkname,
        size: stored?.size ?? 0,
        offset: stored ? (stored.ref as { offset: number }).offset : 0,
      };
      const sha1 = stored?.sha1 ?? e.sha1;
      if (sha1 !== undefined) out.sha1 = sha1;
      if (e.xattrs) out.xattrs = e.xattrs;
      writer.addEntry(out);
    },
    commit() {},
    discard() {},
  };
}

function dirDefaults(mtime: number): NodeMeta {
  return { mode: 0o755, uid: 0, gid: 0, mtime };
}

/** The paths a package still owns at the end (what its installed-db record lists besides dirs). */
export function ownedEntries(tree: FsTree, pkg: InstalledPackage): DbEntry[] {
  return pkg.entries.list().filter((e) => {
    if (e.type === "dir") return true;
    const node = tree.lookup(e.resolved);
    return node !== undefined && node.kind !== "dir" && node.owner === pkg.pkginfo.pkgname;
  });
}
