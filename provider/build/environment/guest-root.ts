/**
 * Guest roots for sandboxed builds, cached by what they are made of (the environment lock's digest
 * and the accounts): the second build with the same environment reuses the directory as it is. A
 * guest is built in a staging directory and renamed into place when complete, under a lock, so
 * concurrent builds never see half a guest. Builds mount it read-only.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import type { ApkoConfig } from "../../image/config/types";
import type { FetchedPackage } from "../../repository/package-fetcher";
import { pathExists, tempPathFor, withLock } from "../../util/fs";
import { sha256Hex } from "../../util/hash";
import { type Progress, silentProgress } from "../../util/log";
import { resolveInRoot } from "./extract";
import { imageInstaller } from "./image-installer";
import { type EnvironmentLock, type EnvironmentPackage, environmentLockDigest, guestShape } from "./lock";

/** Installs the locked packages into `root` (an empty directory). */
export type GuestInstaller = (input: {
  root: string;
  lock: EnvironmentLock;
  fetch: (pkg: EnvironmentPackage) => Promise<FetchedPackage>;
  progress: Progress;
}) => Promise<void>;

/** Mount points bwrap needs to exist in a read-only guest, and the writable places of a build. */
const GUEST_MOUNT_POINTS = ["dev", "proc", "tmp", "home/build", "var/cache/melange", "run"];

/** Bump when the layout of a prepared guest changes, so old cache entries are not reused. */
const GUEST_LAYOUT = "guest-v2-image-installer";

/** What bwrap needs in a read-only guest: mount points, and files to bind the host's DNS over. */
async function prepareMountPoints(root: string): Promise<void> {
  for (const m of GUEST_MOUNT_POINTS)
    await fsp.mkdir(await resolveInRoot(root, m, true), { recursive: true });
  await fsp.chmod(await resolveInRoot(root, "tmp", true), 0o1777);
  const etc = await resolveInRoot(root, "etc", true);
  await fsp.mkdir(etc, { recursive: true });
  for (const f of ["resolv.conf", "hosts"]) {
    const p = path.join(etc, f);
    if (!(await pathExists(p))) await fsp.writeFile(p, "", { mode: 0o644 });
  }
}

export interface GuestRoot {
  /** The directory to mount at `/`. */
  dir: string;
  /** Cache key (hex). */
  key: string;
  /** True when an existing guest was reused. */
  reused: boolean;
}

function guestKey(lock: EnvironmentLock, env: ApkoConfig): string {
  return sha256Hex(JSON.stringify([GUEST_LAYOUT, environmentLockDigest(lock), guestShape(env)]));
}

/** The guest root for `lock`, from the cache or built now. */
export async function prepareGuestRoot(options: {
  cacheDir: string;
  lock: EnvironmentLock;
  env: ApkoConfig;
  fetch: (pkg: EnvironmentPackage) => Promise<FetchedPackage>;
  installer?: GuestInstaller;
  progress?: Progress;
}): Promise<GuestRoot> {
  const key = guestKey(options.lock, options.env);
  const base = path.join(options.cacheDir, "build-guests");
  const dir = path.join(base, key);
  if (await pathExists(dir)) return { dir, key, reused: true };
  return withLock(path.join(base, `${key}.lock`), async () => {
    if (await pathExists(dir)) return { dir, key, reused: true };
    const staging = tempPathFor(dir);
    await fsp.mkdir(staging, { recursive: true });
    try {
      const progress = options.progress ?? silentProgress;
      await (options.installer ?? imageInstaller(options.env, options.cacheDir))({
        root: staging,
        lock: options.lock,
        fetch: options.fetch,
        progress,
      });
      await prepareMountPoints(staging);
      await fsp.rename(staging, dir);
      return { dir, key, reused: false };
    } catch (err) {
      await fsp.rm(staging, { recursive: true, force: true });
      throw err;
    }
  });
}
