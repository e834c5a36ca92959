import { type ApkDataEntry, type ApkDataSummary, type ApkHead, scanApkData } from "../apk/apk-reader";
import { parseDependency } from "../apk/dependency";
import type { PkgInfo } from "../apk/pkginfo";
import { DistrolessError } from "../util/errors";
import { q1Decode } from "../util/hash";
import type { ContentStore, PendingBody } from "./content-store";
import type { PlannedPackage } from "./install-plan";
import type { FsTree, LeafNode, NodeMeta, ResolvedParent, TreeNode } from "./tree";

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

/** A package after installation: what the installed database, scripts.tar and the SBOM need. */
export interface InstalledPackage {
  planned: PlannedPackage;
  pkginfo: PkgInfo;
  head: ApkHead;
  /** `C:`: `Q1` + base64 SHA-1 of the control segment. */
  checksum: string;
  /** SHA-256 of the data segment as read (equal to `.PKGINFO` datahash). */
  datahash: string;
  entries: DbEntry[];
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

/**
 * Installs one verified package into the tree with apk's rules for files two packages both ship:
 * identical content keeps the first; the current owner replacing the newcomer keeps the current
 * file; the newcomer replacing the owner (or both sharing an origin) overwrites it; anything else is
 * an E_CONFLICT naming both packages and the path. Each path has one owner at a time, so the
 * installed database lists every file under exactly one package.
 */
export async function installPackage(
  tree: FsTree,
  store: ContentStore,
  planned: PlannedPackage,
  head: ApkHead,
  installed: ReadonlyMap<string, InstalledPackage>,
): Promise<InstalledPackage> {
  const info = head.pkginfo;
  const subject = `${info.pkgname}-${info.pkgver}`;
  const replaces = replacedNames(info);
  const entries: DbEntry[] = [];
  const result: InstalledPackage = {
    planned,
    pkginfo: info,
    head,
    checksum: head.controlChecksum,
    datahash: "",
    entries,
  };

  /** Decides whether the newcomer may take `path` from its current occupant; throws on conflict. */
  const mayOverwrite = (resolved: string, existing: TreeNode, incoming: string | undefined): boolean => {
    if (existing.kind === "dir") {
      throw new DistrolessError(
        "E_CONFLICT",
        `${subject} installs a file at ${resolved}, where a directory already is`,
        { subject: planned.apkPath },
      );
    }
    if (incoming !== undefined && identity(existing) === incoming) return false;
    const ownerName = existing.owner;
    if (ownerName === undefined || ownerName === info.pkgname) return true;
    const owner = installed.get(ownerName);
    if (owner && replacedNames(owner.pkginfo).has(info.pkgname)) return false;
    if (replaces.has(ownerName)) return true;
    if (owner && owner.pkginfo.origin !== "" && owner.pkginfo.origin === info.origin) return true;
    throw new DistrolessError(
      "E_CONFLICT",
      `${subject} and ${label(owner, ownerName)} both install ${resolved}; neither replaces the other and ` +
        `their origins differ (add "replaces" to one of them, or remove one)`,
      { subject: planned.apkPath },
    );
  };

  /** Puts `node` where the entry resolved to, unless the path's current occupant stays. */
  const place = (at: ResolvedParent, node: LeafNode, incoming: string | undefined) => {
    const existing = at.dir.children.get(at.name);
    if (existing && !mayOverwrite(at.path, existing, incoming)) return;
    at.dir.children.set(at.name, node);
  };

  const consume = async (entry: ApkDataEntry, body: AsyncIterable<Buffer>): Promise<void> => {
    const h = entry.header;
    // The layer takes apko's ownership and modes, checked against the real apko by
    // test/conformance: apko's installer creates every package entry owned by root (0:0), and
    // directories with their permission bits only (it makes them with MkdirAll(mode.Perm()), so
    // setuid/setgid/sticky on a package directory are dropped; docs/conformance.md says why we keep
    // those). The installed db keeps the package's own owner and mode (`a:`/`M:`), as apko's does.
    // One exception, on purpose: a setuid/setgid entry owned by someone other than root keeps its
    // owner, or the package's setuid-user binary would become setuid root.
    const special = (h.mode & 0o6000) !== 0 && (h.uid !== 0 || h.gid !== 0);
    const meta: NodeMeta = {
      mode: h.mode & 0o7777,
      uid: special ? h.uid : 0,
      gid: special ? h.gid : 0,
      mtime: h.mtime,
    };
    if (Object.keys(entry.xattrs).length > 0) meta.xattrs = entry.xattrs;
    const dbBase = { path: entry.path, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid };
    // Resolve parents first: this is where a write through an escaping symlink is refused.
    const at = tree.resolveParent(entry.path, `${subject}: ${entry.path}`, dirDefaults(h.mtime))!;
    const existing = at.dir.children.get(at.name);
    // One string for both when the path resolved to itself (the usual case): kept per file until
    // the installed database is written, a second copy costs memory on images of many files.
    const resolved = at.path === entry.path ? entry.path : at.path;
    switch (h.type) {
      case "directory": {
        if (!existing) at.dir.children.set(at.name, { kind: "dir", meta, children: new Map() });
        else if (existing.kind === "dir") {
          // apko keeps the first mode and owner of a directory but stamps every package's mtime and
          // xattrs on it (Chtimes/SetXattr after its MkdirAll), so the last package listing it wins.
          existing.meta.mtime = h.mtime;
          if (meta.xattrs) existing.meta.xattrs = { ...(existing.meta.xattrs ?? {}), ...meta.xattrs };
        } else {
          // apk accepts a directory entry where a symlink to a directory already is (usr-merge).
          const followed =
            existing.kind === "symlink" ? tree.stat(at.path, `${subject}: ${entry.path}`) : undefined;
          if (followed?.node.kind !== "dir") {
            throw new DistrolessError(
              "E_CONFLICT",
              `${subject} installs a directory at ${at.path}, where ${label(installed.get(existing.owner ?? ""), "the image")} has a ${existing.kind}`,
              { subject: planned.apkPath },
            );
          }
        }
        entries.push({ ...dbBase, resolved, type: "dir" });
        return;
      }
      case "file": {
        const recorded = recordedHex(entry.recordedSha1);
        if (existing && recorded && existing.kind === "file" && existing.inode.sha1 === recorded) {
          // Identical content: keep the first copy; nothing to store.
          entries.push({ ...dbBase, resolved, type: "file", sha1: recorded });
          return;
        }
        if (existing?.kind === "dir") mayOverwrite(at.path, existing, undefined);
        const stored = await store.ingest(body, h.size, recorded, `${subject}: ${entry.path}`, pending);
        const node: LeafNode = {
          kind: "file",
          meta,
          inode: { content: stored.ref, size: stored.size, sha1: stored.sha1 },
          owner: info.pkgname,
        };
        place(at, node, `f:${stored.sha1}`);
        entries.push({ ...dbBase, resolved, type: "file", sha1: stored.sha1 });
        return;
      }
      case "symlink": {
        const node: LeafNode = {
          kind: "symlink",
          meta: { ...meta, mode: 0o777 },
          target: h.linkname,
          owner: info.pkgname,
        };
        place(at, node, `l:${h.linkname}`);
        const sha1 = recordedHex(entry.recordedSha1);
        entries.push({ ...dbBase, resolved, type: "symlink", ...(sha1 ? { sha1 } : {}) });
        return;
      }
      case "hardlink": {
        const target = tree.lookup(h.linkname, `${subject}: ${entry.path}`);
        if (target?.kind !== "file") {
          throw new DistrolessError(
            "E_FORMAT",
            `${subject}: hardlink ${entry.path} points at ${JSON.stringify(h.linkname)}, which is not a file installed before it`,
            { subject: planned.apkPath },
          );
        }
        const node: LeafNode = { kind: "file", meta, inode: target.inode, owner: info.pkgname };
        place(at, node, `f:${target.inode.sha1}`);
        const sha1 = recordedHex(entry.recordedSha1);
        entries.push({ ...dbBase, resolved, type: "hardlink", ...(sha1 ? { sha1 } : {}) });
        return;
      }
      default:
        throw new DistrolessError(
          "E_FORMAT",
          `${subject}: ${entry.path} is a ${h.type} entry; apk packages may only hold files, directories and links`,
          { subject: planned.apkPath },
        );
    }
  };

  // Bodies enter the shared store only once the whole data segment verified (datahash).
  const pending: PendingBody[] = [];
  let summary: ApkDataSummary;
  try {
    summary = await scanApkData(head, consume);
  } catch (err) {
    store.discard(pending);
    throw err;
  }
  store.commit(pending);
  result.datahash = summary.datahash;
  return result;
}

function dirDefaults(mtime: number): NodeMeta {
  return { mode: 0o755, uid: 0, gid: 0, mtime };
}

/** The paths a package still owns at the end (what its installed-db record lists besides dirs). */
export function ownedEntries(tree: FsTree, pkg: InstalledPackage): DbEntry[] {
  return pkg.entries.filter((e) => {
    if (e.type === "dir") return true;
    const node = tree.lookup(e.resolved);
    return node !== undefined && node.kind !== "dir" && node.owner === pkg.pkginfo.pkgname;
  });
}
