import { DistrolessError } from "../util/errors";
import type { ContentStore } from "./content-store";
import type { InstalledPackage } from "./install";
import type { FsTree } from "./tree";

const BUSYBOX = "bin/busybox";

/**
 * Busybox applet links, as apko makes them when `/bin/busybox` exists: the package named busybox
 * (or one providing something with busybox in its name) ships its applet list as
 * `etc/busybox-paths.d/<package>`; each listed path becomes a symlink to /bin/busybox (parents
 * 0755), except paths that already exist as a symlink or a regular file. apko falls back to a
 * built-in table per busybox version when the list is missing; we have no such table and return
 * the reason instead, so the caller can warn.
 */
export async function installBusyboxLinks(
  tree: FsTree,
  store: ContentStore,
  packages: InstalledPackage[],
): Promise<{ links: number; warning?: string }> {
  if (!tree.stat(BUSYBOX)) return { links: 0 };
  const pkgName = packages.find(
    (p) => p.pkginfo.pkgname === "busybox" || p.pkginfo.provides.some((x) => x.includes("busybox")),
  )?.pkginfo.pkgname;
  if (!pkgName) return { links: 0, warning: "/bin/busybox exists but no installed package is busybox" };
  const list = tree.stat(`etc/busybox-paths.d/${pkgName}`);
  if (list?.node.kind !== "file") {
    return { links: 0, warning: `${pkgName} ships no etc/busybox-paths.d/${pkgName}; no applet links made` };
  }
  const text = (await store.read(list.node.inode.content, list.node.inode.size, list.path)).toString("utf8");
  let links = 0;
  for (const raw of text.split("\n")) {
    const link = raw.trim();
    if (link === "" || link === `/${BUSYBOX}`) continue;
    const rel = link.replace(/^\/+/, "");
    const dir = rel.includes("/") ? rel.slice(0, rel.lastIndexOf("/")) : "";
    if (dir) tree.mkdirAll(dir, { mode: 0o755, uid: 0, gid: 0, mtime: 0 }, link);
    const existing = tree.lookup(rel, link);
    if (existing) {
      if (existing.kind === "symlink" || existing.kind === "file") continue;
      throw new DistrolessError(
        "E_CONFLICT",
        `busybox applet link ${link}: a ${existing.kind} is already there`,
      );
    }
    tree.setLeaf(
      rel,
      { kind: "symlink", meta: { mode: 0o777, uid: 0, gid: 0, mtime: 0 }, target: `/${BUSYBOX}` },
      link,
    );
    links++;
  }
  return { links };
}
