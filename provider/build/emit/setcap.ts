/**
 * A package's `setcap:` entries as the `security.capability` xattr melange sets on its output files
 * after the pipeline ran (so steps never need CAP_SETFCAP): the kernel's vfs_cap_data, revision 3,
 * little endian (magic|flags, permitted, inheritable, the two zero upper words, rootid 0), 24 bytes.
 * The writer puts it in the data tar as a PAX `SCHILY.xattr.security.capability` record, so it is
 * part of the datahash, and the image installer carries it into the layer as apko does.
 */
import type { DataEntry } from "../../apk/data-entry";
import { DistrolessError } from "../../util/errors";
import type { PackageMetadata } from "../recipe/plan";

export const CAPABILITY_XATTR = "security.capability";

/** The capabilities melange allows (include/uapi/linux/capability.h bit numbers). */
const CAPABILITY_BITS: Record<string, number> = {
  cap_net_bind_service: 10,
  cap_net_admin: 12,
  cap_net_raw: 13,
  cap_ipc_lock: 14,
  cap_sys_admin: 21,
};

const VFS_CAP_REVISION_3 = 0x03000000;
const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;

interface CapabilitySets {
  effective: number;
  permitted: number;
  inheritable: number;
}

/** The xattr value for one file's capability sets (melange's EncodeCapability). */
export function encodeCapability(sets: CapabilitySets): Buffer {
  const data = Buffer.alloc(24);
  // vfs_cap_data has one effective *flag*, not a set: any effective capability raises it.
  data.writeUInt32LE(VFS_CAP_REVISION_3 | (sets.effective !== 0 ? VFS_CAP_FLAGS_EFFECTIVE : 0), 0);
  data.writeUInt32LE(sets.permitted >>> 0, 4);
  data.writeUInt32LE(sets.inheritable >>> 0, 8);
  return data;
}

/**
 * Path (relative, as in the package) -> capability sets, merged over every entry naming the path;
 * `add` keys may list several capabilities (`cap_net_raw,cap_net_admin: +ep`), values are flag
 * letters of which `e`, `p` and `i` count, as melange reads them.
 */
export function capabilitiesByPath(setcap: PackageMetadata["setcap"]): Map<string, CapabilitySets> {
  const out = new Map<string, CapabilitySets>();
  for (const [i, entry] of setcap.entries()) {
    const rel = entry.path.replace(/^\/+/, "").replace(/\/+$/, "");
    if (rel === "" || rel.split("/").some((p) => p === ".." || p === ".")) {
      throw new DistrolessError("E_CONFIG", `setcap path ${JSON.stringify(entry.path)} is not a file path`, {
        subject: `setcap[${i}].path`,
      });
    }
    const sets = out.get(rel) ?? { effective: 0, permitted: 0, inheritable: 0 };
    for (const [names, flags] of Object.entries(entry.add)) {
      for (const name of names.split(",")) {
        const bit = CAPABILITY_BITS[name];
        if (bit === undefined) {
          throw new DistrolessError("E_CONFIG", `unknown capability ${JSON.stringify(name)}`, {
            subject: `setcap[${i}].add`,
          });
        }
        const mask = 1 << bit;
        if (flags.includes("e")) sets.effective |= mask;
        if (flags.includes("p")) sets.permitted |= mask;
        if (flags.includes("i")) sets.inheritable |= mask;
      }
    }
    out.set(rel, sets);
  }
  return out;
}

/**
 * Sets the capability xattr on the package's entries. A path the package does not hold as a
 * regular file is an error: melange only warns there, but a binary silently shipped without the
 * capability it was declared to have fails at run time, far from the cause.
 */
export function applySetcap(pkg: string, setcap: PackageMetadata["setcap"], entries: DataEntry[]): void {
  if (setcap.length === 0) return;
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const [rel, sets] of capabilitiesByPath(setcap)) {
    const entry = byPath.get(rel);
    if (!entry || (entry.type !== "file" && entry.type !== "hardlink")) {
      throw new DistrolessError(
        "E_BUILD",
        entry
          ? `setcap names /${rel}, which is a ${entry.type}, not a regular file`
          : `setcap names /${rel}, which the package does not contain`,
        { subject: pkg },
      );
    }
    entry.xattrs = { ...(entry.xattrs ?? {}), [CAPABILITY_XATTR]: encodeCapability(sets) };
  }
}
