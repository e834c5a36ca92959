/**
 * The build guest installed by the image installer (provider/image `buildRootfs`): the same file
 * conflict rules, installed database, accounts (the `build` user), busybox links and certificates
 * as an image made from the same packages. The in-memory tree is then written out to the guest
 * directory, since bubblewrap needs a real directory to mount.
 */
import { createWriteStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ApkHead } from "../../apk/apk-reader";
import { requireArch } from "../../image/config/arch";
import type { ApkoConfig } from "../../image/config/types";
import { ContentStore } from "../../image/content-store";
import type { PlannedPackage } from "../../image/install-plan";
import { buildRootfs } from "../../image/rootfs";
import { type DirNode, type FsTree, type Inode, joinPath } from "../../image/tree";
import { displayLocation } from "../../repository/source";
import type { GuestInstaller } from "./guest-root";

/**
 * Writes an image tree into `root` (an empty directory): directories, files (bodies from the
 * content store, verified while read), symlinks and hardlinks, with their modes and owners.
 * Device nodes are skipped: bubblewrap mounts its own /dev.
 */
export async function writeTreeToDirectory(tree: FsTree, store: ContentStore, root: string): Promise<void> {
  const firstPath = new Map<Inode, string>();
  const dirModes: [string, number][] = [];
  const visit = async (dir: DirNode, rel: string) => {
    for (const [name, node] of dir.children) {
      const p = joinPath(rel, name);
      const abs = path.join(root, p);
      switch (node.kind) {
        case "dir":
          await fsp.mkdir(abs, { mode: 0o755 });
          await fsp.chown(abs, node.meta.uid, node.meta.gid).catch(() => {});
          dirModes.push([abs, node.meta.mode]);
          await visit(node, p);
          break;
        case "file": {
          const linked = firstPath.get(node.inode);
          if (linked) {
            await fsp.link(linked, abs);
            break;
          }
          firstPath.set(node.inode, abs);
          await pipeline(
            Readable.from(store.open(node.inode.content, node.inode.size, p)),
            createWriteStream(abs, { mode: 0o600 }),
          );
          await fsp.chown(abs, node.meta.uid, node.meta.gid).catch(() => {});
          await fsp.chmod(abs, node.meta.mode & 0o7777);
          break;
        }
        case "symlink":
          await fsp.symlink(node.target, abs);
          await fsp.lchown(abs, node.meta.uid, node.meta.gid).catch(() => {});
          break;
        default:
          break; // chardev: /dev comes from bwrap
      }
    }
  };
  await visit(tree.root, "");
  // Modes last, so a read-only directory does not stop its own contents from being written.
  for (const [abs, mode] of dirModes.reverse()) await fsp.chmod(abs, mode & 0o7777);
}

/** A GuestInstaller over the image installer; `env` is the build environment's apko config. */
export function imageInstaller(env: ApkoConfig, cacheDir: string): GuestInstaller {
  return async ({ root, lock, fetch, progress }) => {
    const arch = requireArch(lock.arch);
    const packages: { planned: PlannedPackage; head: ApkHead }[] = [];
    for (const pkg of lock.packages) {
      const fetched = await fetch(pkg);
      const planned: PlannedPackage = {
        name: pkg.name,
        version: pkg.version,
        checksum: pkg.checksum,
        apkPath: fetched.path,
        repository: displayLocation(fetched.ref.source),
      };
      packages.push({ planned, head: fetched.head });
    }
    const store = ContentStore.inCache(cacheDir);
    const rootfs = await buildRootfs({
      config: { ...env, archs: [arch] },
      arch,
      packages,
      keys: [],
      store,
      epoch: 0,
      progress,
    });
    await writeTreeToDirectory(rootfs.tree, store, root);
  };
}
