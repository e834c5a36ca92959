import { DistrolessError } from "../util/errors";
import { putFile, rewriteFile } from "./base-layout";
import type { ApkoConfig } from "./config/types";
import type { ContentStore } from "./content-store";
import type { FsTree } from "./tree";

/**
 * Accounts, as apko writes them: the configured users are appended to `etc/passwd` (which always
 * exists afterwards), groups to `etc/group` (only when groups are configured), users also to
 * `etc/shadow` (0640, locked password), and every home directory that is missing is created 0700
 * and owned by its user (parents 0755). `run-as` given as a name becomes the uid.
 */

export interface PasswdEntry {
  name: string;
  password: string;
  uid: number;
  gid: number;
  info: string;
  home: string;
  shell: string;
}

export const ACCOUNT_INFO = "Account created by apko";

export function parsePasswd(text: string, subject = "etc/passwd"): PasswdEntry[] {
  return lines(text).map((line, i) => {
    const f = line.trim().split(":");
    if (f.length !== 7 || !/^\d+$/.test(f[2]!) || !/^\d+$/.test(f[3]!)) {
      throw new DistrolessError("E_FORMAT", `line ${i + 1} is not "name:x:uid:gid:info:home:shell"`, {
        subject,
      });
    }
    return {
      name: f[0]!,
      password: f[1]!,
      uid: Number(f[2]),
      gid: Number(f[3]),
      info: f[4]!,
      home: f[5]!,
      shell: f[6]!,
    };
  });
}

export function formatPasswd(entries: PasswdEntry[]): string {
  return entries
    .map((e) => `${e.name}:${e.password}:${e.uid}:${e.gid}:${e.info}:${e.home}:${e.shell}\n`)
    .join("");
}

export interface GroupEntry {
  name: string;
  password: string;
  gid: number;
  members: string[];
}

export function parseGroup(text: string, subject = "etc/group"): GroupEntry[] {
  return lines(text).map((line, i) => {
    const f = line.trim().split(":");
    if (f.length !== 4 || !/^\d+$/.test(f[2]!)) {
      throw new DistrolessError("E_FORMAT", `line ${i + 1} is not "name:x:gid:members"`, { subject });
    }
    return { name: f[0]!, password: f[1]!, gid: Number(f[2]), members: f[3]!.split(",").filter(Boolean) };
  });
}

export function formatGroup(entries: GroupEntry[]): string {
  return entries.map((e) => `${e.name}:${e.password}:${e.gid}:${e.members.join(",")}\n`).join("");
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "");
}

async function readText(tree: FsTree, store: ContentStore, path: string): Promise<string | undefined> {
  const found = tree.stat(path);
  if (!found) return undefined;
  if (found.node.kind !== "file") {
    throw new DistrolessError("E_CONFLICT", `/${path} exists but is not a regular file`);
  }
  return (await store.read(found.node.inode.content, found.node.inode.size, path)).toString("utf8");
}

/** Rewrites (or creates, with `mode`) a text file. */
function writeText(tree: FsTree, path: string, text: string, mode: number): void {
  const found = tree.stat(path);
  if (found?.node.kind === "file") rewriteFile(tree, found.path, text);
  else putFile(tree, path, text, mode);
}

/** Applies `accounts`; returns the image's `User` (run-as resolved to a uid when it names a user). */
export async function applyAccounts(
  tree: FsTree,
  store: ContentStore,
  config: ApkoConfig,
): Promise<string | undefined> {
  const { users, groups, runAs } = config.accounts;
  for (const u of users) {
    // The config schema refuses uid 0 too; this guard keeps a hand-built config from doing it.
    if (!Number.isInteger(u.uid) || u.uid <= 0) {
      throw new DistrolessError(
        "E_CONFIG",
        `user ${JSON.stringify(u.username)}: uid must be > 0 (got ${u.uid}); root comes from the base packages`,
        {
          subject: `${config.source}: accounts.users`,
        },
      );
    }
    if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(u.username)) {
      throw new DistrolessError("E_CONFIG", `invalid user name ${JSON.stringify(u.username)}`, {
        subject: `${config.source}: accounts.users`,
      });
    }
  }
  if (groups.length > 0) {
    const existing = parseGroup((await readText(tree, store, "etc/group")) ?? "");
    for (const g of groups)
      existing.push({ name: g.groupname, password: "x", gid: g.gid, members: g.members });
    writeText(tree, "etc/group", formatGroup(existing), 0o644);
  }
  const passwd = parsePasswd((await readText(tree, store, "etc/passwd")) ?? "");
  for (const u of users) {
    passwd.push({
      name: u.username,
      password: "x",
      uid: u.uid,
      gid: u.gid,
      info: ACCOUNT_INFO,
      home: u.homedir,
      shell: u.shell,
    });
  }
  for (const e of passwd) {
    if (e.home === "/dev/null" || e.home === "") continue;
    const found = tree.stat(e.home);
    if (found) {
      // Existing homes (/, /bin, /root...) keep their modes, as apko leaves them alone.
      if (found.node.kind !== "dir") {
        throw new DistrolessError(
          "E_CONFLICT",
          `${e.name}'s home directory ${e.home} exists but is not a directory`,
        );
      }
      continue;
    }
    const parent = e.home.slice(0, e.home.lastIndexOf("/"));
    if (parent.replace(/\/+/g, "") !== "")
      tree.mkdirAll(parent, { mode: 0o755, uid: 0, gid: 0, mtime: 0 }, e.home);
    const home = tree.mkdirAll(e.home, { mode: 0o700, uid: e.uid, gid: e.gid, mtime: 0 }, e.home);
    home.meta = { mode: 0o700, uid: e.uid, gid: e.gid, mtime: 0 };
  }
  writeText(tree, "etc/passwd", formatPasswd(passwd), 0o644);
  if (users.length > 0) {
    const shadow = (await readText(tree, store, "etc/shadow")) ?? "";
    const added = users.map((u) => `${u.username}:!:::::::\n`).join("");
    writeText(
      tree,
      "etc/shadow",
      shadow + (shadow === "" || shadow.endsWith("\n") ? "" : "\n") + added,
      0o640,
    );
  }
  if (runAs === undefined || runAs === "") return undefined;
  const byName = passwd.find((e) => e.name === runAs);
  return byName ? String(byName.uid) : runAs;
}

/** uid -> user name and gid -> group name, for the layer's uname/gname fields (as apko fills them). */
export async function ownerNames(
  tree: FsTree,
  store: ContentStore,
): Promise<{ users: Map<number, string>; groups: Map<number, string> }> {
  const users = new Map<number, string>();
  const groups = new Map<number, string>();
  const passwd = await readText(tree, store, "etc/passwd").catch(() => undefined);
  const group = await readText(tree, store, "etc/group").catch(() => undefined);
  try {
    // Later lines win, as in apko's map.
    for (const e of parsePasswd(passwd ?? "")) users.set(e.uid, e.name);
  } catch {
    // A malformed passwd from a package only costs the names in tar headers, as in apko.
  }
  try {
    for (const e of parseGroup(group ?? "")) groups.set(e.gid, e.name);
  } catch {
    // same
  }
  return { users, groups };
}
