/**
 * Paths inside a guest root directory (bubblewrap's checks, the guest's mount points), and unpacking
 * an apk's data segment into a directory (the tests read fixture apks this way; guests themselves
 * are made by the image installer). Nothing here writes an installed database or runs scriptlets.
 *
 * Paths are resolved the way a chroot would: a symlink met on the way (`lib -> usr/lib`, or a
 * hostile `x -> /` or `x -> ../../..`) is followed *inside* the root, so nothing is ever written
 * outside it.
 */
import { createWriteStream } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { readApkHead, scanApkData } from "../../apk/apk-reader";
import { hasRawBytes } from "../../archive/raw-names";
import { printableName } from "../../archive/safe-path";
import { DistrolessError } from "../../util/errors";

const MAX_LINK_HOPS = 40;

/**
 * The host path of `rel` inside `root`, following symlinks of the parent components within the
 * root. The last component is not followed (it is what gets created or replaced).
 */
export async function resolveInRoot(root: string, rel: string, followLast = false): Promise<string> {
  let pending = rel.split("/").filter((p) => p !== "" && p !== ".");
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === "..") {
      done.pop(); // `..` at the root stays at the root
      continue;
    }
    const isLast = pending.length === 0;
    const candidate = path.join(root, ...done, part);
    if (isLast && !followLast) {
      done.push(part);
      break;
    }
    const st = await fsp.lstat(candidate).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      if (++hops > MAX_LINK_HOPS) {
        throw new DistrolessError("E_HOSTILE", `too many symlinks resolving ${rel} in the guest root`);
      }
      const target = await fsp.readlink(candidate);
      const targetParts = target.split("/").filter((p) => p !== "" && p !== ".");
      if (target.startsWith("/")) done.length = 0;
      pending = [...targetParts, ...pending];
      continue;
    }
    done.push(part);
  }
  return path.join(root, ...done);
}

async function removeExisting(p: string, keepDirectory: boolean): Promise<void> {
  const st = await fsp.lstat(p).catch(() => undefined);
  if (!st) return;
  if (st.isDirectory()) {
    if (keepDirectory) return;
    await fsp.rm(p, { recursive: true, force: true });
  } else await fsp.rm(p, { force: true });
}

/**
 * Unpacks one apk's files into `root`, verifying its data segment while reading (per-file SHA-1
 * always; the segment's datahash unless `enforceDatahash` is false, for test fixtures whose data
 * segment was replaced).
 */
export async function extractApkInto(
  root: string,
  apkFile: string,
  options: { enforceDatahash?: boolean } = {},
): Promise<void> {
  const head = await readApkHead(apkFile);
  await scanApkData(
    head,
    async (entry, body) => {
      const h = entry.header;
      // The host's file API takes names as UTF-8 strings: a name with raw bytes cannot be created as
      // itself (and two could land on one file), so a build environment refuses it.
      if (hasRawBytes(entry.path) || hasRawBytes(h.linkname)) {
        throw new DistrolessError(
          "E_HOSTILE",
          `file name "${printableName(entry.path)}" is not UTF-8; a build environment cannot hold it`,
          { subject: apkFile },
        );
      }
      const target = await resolveInRoot(root, entry.path);
      await fsp.mkdir(path.dirname(target), { recursive: true });
      switch (h.type) {
        case "directory": {
          await removeExisting(target, true);
          await fsp.mkdir(target, { recursive: true });
          await fsp.chmod(target, h.mode & 0o7777);
          break;
        }
        case "file": {
          await removeExisting(target, false);
          await pipeline(body, createWriteStream(target, { mode: 0o600 }));
          await fsp.chown(target, h.uid, h.gid).catch(() => {});
          await fsp.chmod(target, h.mode & 0o7777);
          break;
        }
        case "symlink": {
          await removeExisting(target, false);
          await fsp.symlink(h.linkname, target);
          break;
        }
        case "hardlink": {
          await removeExisting(target, false);
          const from = await resolveInRoot(root, h.linkname);
          await fsp.link(from, target);
          break;
        }
        default:
          // Devices and FIFOs are of no use in a build guest (bwrap provides /dev).
          break;
      }
    },
    options.enforceDatahash === false ? { enforceDatahash: false } : {},
  );
}
