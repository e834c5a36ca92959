import { DistrolessError } from "../util/errors";
import { putFile } from "./base-layout";
import type { PathMutation } from "./config/types";
import { type FsTree, type NodeMeta, type TreeNode, walkTree } from "./tree";

/**
 * `paths:` mutations, applied in config order as apko applies them: each creates what its type
 * says (parents 0755), then sets the permissions and, when given, the owner. Paths are resolved
 * inside the tree, so a mutation cannot reach outside the image through a symlink.
 */
export function applyPathMutations(tree: FsTree, mutations: PathMutation[], source: string): void {
  mutations.forEach((m, i) => {
    const subject = `${source}: paths[${i}] (${m.type} ${m.path})`;
    try {
      applyOne(tree, m, subject);
    } catch (err) {
      if (err instanceof DistrolessError && err.message.startsWith(subject)) throw err;
      if (err instanceof DistrolessError)
        throw new DistrolessError(err.code, err.message, { subject, cause: err });
      throw err;
    }
  });
}

function applyOne(tree: FsTree, m: PathMutation, subject: string): void {
  const target = m.path.replace(/^\/+/, "");
  if (target === "") throw new DistrolessError("E_CONFIG", "cannot mutate the image root");
  const mode = (m.permissions ?? 0) & 0o7777;
  const parentMeta: NodeMeta = { mode: 0o755, uid: 0, gid: 0, mtime: 0 };
  const parent = target.includes("/") ? target.slice(0, target.lastIndexOf("/")) : "";
  switch (m.type) {
    case "directory": {
      const dir = tree.mkdirAll(target, { mode, uid: 0, gid: 0, mtime: 0 }, subject);
      setPerms(dir, m);
      if (m.recursive) {
        for (const [, node] of walkTree(dir)) setPerms(node, m);
      }
      return;
    }
    case "empty-file": {
      if (parent) tree.mkdirAll(parent, parentMeta, subject);
      const existing = tree.lookup(target, subject);
      if (existing?.kind === "dir") throw new DistrolessError("E_CONFLICT", `/${target} is a directory`);
      const file = putFile(tree, target, "", mode);
      setPerms(file, m);
      return;
    }
    case "hardlink": {
      if (!m.source) throw new DistrolessError("E_CONFIG", "a hardlink needs a source");
      if (parent) tree.mkdirAll(parent, parentMeta, subject);
      const src = tree.lookup(m.source.replace(/^\/+/, ""), subject);
      if (src?.kind !== "file") {
        throw new DistrolessError(
          "E_CONFIG",
          `hardlink source ${m.source} is not a regular file in the image`,
        );
      }
      if (tree.lookup(target, subject)?.kind === "dir") {
        throw new DistrolessError("E_CONFLICT", `/${target} is a directory`);
      }
      const link: TreeNode = { kind: "file", meta: { ...src.meta }, inode: src.inode };
      tree.setLeaf(target, link, subject);
      setPerms(link, m);
      return;
    }
    case "symlink": {
      if (!m.source) throw new DistrolessError("E_CONFIG", "a symlink needs a source (its target)");
      if (parent) tree.mkdirAll(parent, parentMeta, subject);
      if (tree.lookup(target, subject)) throw new DistrolessError("E_CONFLICT", `/${target} already exists`);
      const link: TreeNode = {
        kind: "symlink",
        meta: { mode: 0o777, uid: 0, gid: 0, mtime: 0 },
        target: m.source,
      };
      tree.setLeaf(target, link, subject);
      // Symlink modes are always 0777 in the layer; only the owner applies to the link itself.
      if (m.uid !== undefined) link.meta.uid = m.uid;
      if (m.gid !== undefined) link.meta.gid = m.gid;
      return;
    }
    case "permissions": {
      const found = tree.stat(target, subject);
      if (!found) throw new DistrolessError("E_CONFIG", `/${target} does not exist in the image`);
      setPerms(found.node, m);
      // apko (since v1.2.19) applies a recursive permissions mutation to everything below too.
      if (m.recursive && found.node.kind === "dir") {
        for (const [, node] of walkTree(found.node)) setPerms(node, m);
      }
      return;
    }
  }
}

/** A new meta for the node, never a change in place: leaves of a package share theirs (install.ts). */
function setPerms(node: TreeNode, m: PathMutation): void {
  const meta = { ...node.meta };
  if (node.kind !== "symlink") meta.mode = (m.permissions ?? 0) & 0o7777;
  if (m.uid !== undefined) meta.uid = m.uid;
  if (m.gid !== undefined) meta.gid = m.gid;
  node.meta = meta;
}
