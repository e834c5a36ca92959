import { type ApkHead, requireDatahash } from "./apk-reader";
import type { IndexEntry } from "./index-text";

/**
 * The APKINDEX record for a package, from its own head (`.PKGINFO` + checksums + file size). A package
 * without a datahash is refused: its `C:` would not cover its data (apk-tools 3 refuses it too).
 */
export function indexEntryFromApk(head: ApkHead): IndexEntry {
  requireDatahash(head);
  const p = head.pkginfo;
  const entry: IndexEntry = {
    checksum: head.controlChecksum,
    name: p.pkgname,
    version: p.pkgver,
    arch: p.arch,
    size: head.fileSize,
    installedSize: p.size,
    description: p.pkgdesc,
    url: p.url,
    license: p.licenses.join(" AND "),
    origin: p.origin,
    maintainer: p.maintainer,
    buildTime: p.builddate,
    commit: p.commit,
    depends: [...p.depends],
    installIf: [...p.installIf],
    provides: [...p.provides],
    extra: [],
  };
  if (p.providerPriority !== undefined) entry.providerPriority = p.providerPriority;
  return entry;
}
