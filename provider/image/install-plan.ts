import type { ApkHead } from "../apk/apk-reader";
import type { ApkArch } from "./config/arch";
import type { NamedContent } from "./config/types";

/**
 * What the assembler installs for one architecture: packages in install order (dependencies
 * first), each a verified .apk on local disk. The resolver's lock maps onto this one to one; the
 * assembler checks every file against its `checksum` again before using it.
 */
export interface PlannedPackage {
  name: string;
  version: string;
  /** The index's `C:` (`Q1` + base64 SHA-1 of the control segment). */
  checksum: string;
  /** The .apk on local disk (the repository cache, or a local repository). */
  apkPath: string;
  /** Where it came from, for the SBOM and messages (URL or directory, never credentials). */
  repository: string;
  /** Its head as the fetcher read it (the assembler checks it again; unset, it reads the file). */
  head?: ApkHead;
}

export interface InstallPlan {
  arch: ApkArch;
  packages: PlannedPackage[];
}

/** Signing keys to install under etc/apk/keys (contents already fetched by the caller). */
export type KeyContent = NamedContent;
