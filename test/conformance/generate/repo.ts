/**
 * The conformance repository: every package of packages.ts for every arch, written by the
 * project's apk writer and indexed by its index writer, all signed with one key it generates. Both
 * tools install from it, so a difference in an image is a difference in the image builders.
 */
import * as path from "node:path";
import { testKey, writeRepo } from "../../image/image-helpers";
import { CONFORMANCE_ARCHS, conformancePackages } from "./packages";

export interface ConformanceRepo {
  /** The repository root (`<root>/<arch>/APKINDEX.tar.gz`). */
  root: string;
  /** The public key file (name `conformance.rsa.pub`). */
  publicKey: string;
}

export async function writeConformanceRepo(dir: string): Promise<ConformanceRepo> {
  const key = await testKey("conformance.rsa");
  const root = path.join(dir, "repo");
  let publicKey = "";
  for (const arch of CONFORMANCE_ARCHS) {
    publicKey = await writeRepo(root, arch, conformancePackages(arch), key);
  }
  return { root, publicKey };
}
