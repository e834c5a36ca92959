/**
 * The build workspace (/home/build) a recipe's steps run in. melange copies the source tree into
 * it, file by file; creating thousands of files is the costliest part of a build with a large
 * source dir (issue #15). Where the kernel allows it, the workspace is instead an overlay mounted in
 * a private mount namespace of each step:
 *   lower  the source tree (the source dir itself when the listing took all of it, else a tree of
 *          hard links to the listed files, so ignored files and private keys stay out),
 *   upper  an empty directory in the build's scratch dir that receives everything the steps write.
 * A step that writes into a source file writes into the upper copy (overlayfs copies the file up
 * first and never writes to a lower layer), so the user's source dir is never modified, even when
 * the lower is made of hard links to it. The package output dirs (melange-out/<pkg>) exist only in
 * the upper, so they are read from there once the steps have run.
 *
 * The overlay is used only when it keeps melange's semantics exactly; otherwise (no `unshare`, a
 * kernel or filesystem that refuses the mount, a workspace to keep, source files owned by another
 * user, a source dir with its own melange-out) the tree is copied as before.
 */
import { spawn } from "node:child_process";
import { chmodSync, constants, copyFileSync, linkSync, mkdirSync, symlinkSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { findOnPath } from "../../util/which";
import { copySourceTree, type SourceTree } from "./source-tree";

export const OUTPUT_DIR = "melange-out";

/** A command line that runs inside the workspace's mount namespace. */
export interface EnteredCommand {
  command: string;
  args: string[];
}

export interface Workspace {
  /** The directory steps see as /home/build (the overlay's mount point, or the copy). */
  dir: string;
  /** "overlay": the source is mounted, not copied; "copy": as melange does it. */
  kind: "overlay" | "copy";
  /** The host directory of a package's output (melange-out/<pkg>) once the steps have run. */
  outputDir(pkg: string): string;
  /** Wraps a step's command so it runs with the workspace mounted (the identity for a copy). */
  enter(command: string, args: string[]): EnteredCommand;
  /** Makes the scratch dir removable (the overlay's work dir holds a directory with mode 0). */
  release(): Promise<void>;
}

export interface WorkspaceOptions {
  /** Builds that keep their workspace get a copy: an overlay's upper alone is not the workspace. */
  keep?: boolean;
  /** The runner: the host runner's steps keep the caller's uid, so only root can mount for them. */
  runner: "host" | "bubblewrap";
  /** Tells why the overlay was not used (for progress). */
  onFallback?: (reason: string) => void;
}

/** Characters mount(8)'s overlay options cannot carry in a path. */
const UNSAFE_OPTION_PATH = /[,:\\\s]/;

/** Copies the tree into `<scratch>/workspace` the way melange does. */
async function copiedWorkspace(tree: SourceTree, dir: string): Promise<Workspace> {
  await fsp.mkdir(dir, { recursive: true });
  await copySourceTree(tree, dir);
  return {
    dir,
    kind: "copy",
    outputDir: (pkg) => path.join(dir, OUTPUT_DIR, pkg),
    enter: (command, args) => ({ command, args }),
    release: async () => {},
  };
}

/** Why an overlay cannot stand in for a copy of this tree here; undefined when it can. */
async function overlayObstacle(tree: SourceTree, options: WorkspaceOptions): Promise<string | undefined> {
  if (process.platform !== "linux") return "not Linux";
  if (options.keep) return "the workspace is to be kept";
  if (!tree.root || tree.entries.length === 0) return "no source files";
  const uid = process.getuid?.();
  if (options.runner === "host" && uid !== 0) return "the host runner mounts only as root";
  if (!tree.ownedByCaller) return "source files owned by another user";
  if (tree.entries.some((e) => e.path === OUTPUT_DIR || e.path.startsWith(`${OUTPUT_DIR}/`)))
    return `the source dir has its own ${OUTPUT_DIR}`;
  if (!(await findOnPath("unshare"))) return "no unshare on PATH";
  return undefined;
}

/**
 * A lower layer holding exactly the listed entries: hard links to the source files (a link is a
 * name, not a copy; overlayfs never writes through it), a copy where a link is refused (another
 * filesystem).
 */
function linkTree(tree: SourceTree, lower: string): void {
  const root = tree.root!;
  // Synchronous: thousands of tiny calls, each a thread-pool round trip when async.
  mkdirSync(lower, { recursive: true });
  const dirs: { to: string; mode: number }[] = [];
  for (const e of tree.entries) {
    const to = path.join(lower, e.path);
    if (e.type === "directory") {
      mkdirSync(to);
      dirs.push({ to, mode: e.mode });
    } else if (e.type === "symlink") symlinkSync(e.linkname ?? "", to);
    else {
      const from = path.join(root, e.path);
      try {
        linkSync(from, to);
      } catch {
        copyFileSync(from, to, constants.COPYFILE_FICLONE);
      }
    }
  }
  for (const d of dirs.reverse()) chmodSync(d.to, d.mode);
}

/** Runs `entered` to completion; true when it exited 0. */
function succeeds(entered: EnteredCommand): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(entered.command, entered.args, { stdio: "ignore" });
    child.on("error", () => resolve(false));
    child.on("close", (code) => resolve(code === 0));
  });
}

/**
 * The workspace for a build in `scratch` (a fresh directory of the build): an overlay of the source
 * tree where one can be mounted, else a copy. `packages` get their empty melange-out/<pkg> dirs.
 */
export async function prepareWorkspace(
  tree: SourceTree,
  scratch: string,
  packages: readonly string[],
  options: WorkspaceOptions,
): Promise<Workspace> {
  const dir = path.join(scratch, "workspace");
  const obstacle = await overlayObstacle(tree, options);
  let ws: Workspace | undefined;
  if (obstacle === undefined) ws = await overlayWorkspace(tree, scratch, dir);
  else if (tree.root && tree.entries.length > 0) options.onFallback?.(obstacle);
  if (!ws) {
    await fsp.rm(dir, { recursive: true, force: true });
    if (obstacle === undefined) options.onFallback?.("the kernel or filesystem refused the overlay mount");
    ws = await copiedWorkspace(tree, dir);
  }
  for (const p of packages) await fsp.mkdir(ws.outputDir(p), { recursive: true });
  return ws;
}

async function overlayWorkspace(
  tree: SourceTree,
  scratch: string,
  dir: string,
): Promise<Workspace | undefined> {
  const upper = path.join(scratch, "upper");
  const work = path.join(scratch, "overlay-work");
  if ([upper, work, dir].some((p) => UNSAFE_OPTION_PATH.test(p))) return undefined;
  let lower = tree.root!;
  // The source dir itself when it shows exactly the tree (and mount can name it), else hard links.
  if (!tree.complete || UNSAFE_OPTION_PATH.test(lower)) {
    lower = path.join(scratch, "lower");
    linkTree(tree, lower);
  }
  await fsp.mkdir(upper, { recursive: true });
  await fsp.mkdir(work, { recursive: true });
  await fsp.mkdir(dir, { recursive: true });
  const unshare = (await findOnPath("unshare"))!;
  const root = process.getuid?.() === 0;
  // Not root: a user namespace where the caller is root may mount an overlay (Linux >= 5.11), with
  // its metadata in user.* xattrs (trusted.* needs real root).
  const nsArgs = root ? ["--mount", "--propagation", "private"] : ["--user", "--map-root-user", "--mount"];
  const mountOptions = `lowerdir=${lower},upperdir=${upper},workdir=${work}${root ? "" : ",userxattr"}`;
  // Paths go in as positional parameters, never into the script text.
  const script = 'mount -t overlay overlay -o "$1" "$2" && cd "$2" && shift 2 && exec "$@"';
  const enter = (command: string, args: string[]): EnteredCommand => ({
    command: unshare,
    args: [...nsArgs, "/bin/sh", "-c", script, "sh", mountOptions, dir, command, ...args],
  });
  const ws: Workspace = {
    dir,
    kind: "overlay",
    outputDir: (pkg) => path.join(upper, OUTPUT_DIR, pkg),
    enter,
    release: async () => {
      // overlayfs leaves <work>/work with mode 0; a non-root caller could not remove it otherwise.
      await fsp.chmod(path.join(work, "work"), 0o700).catch(() => {});
    },
  };
  if (!(await succeeds(enter("/bin/sh", ["-c", "exit 0"])))) {
    await ws.release();
    for (const p of [upper, work, path.join(scratch, "lower")])
      await fsp.rm(p, { recursive: true, force: true });
    return undefined;
  }
  return ws;
}
