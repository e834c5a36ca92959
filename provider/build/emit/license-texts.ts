/**
 * The SPDX `hasExtractedLicensingInfos` melange puts in every SBOM of a build, keyed by the
 * entry's license as the SBOM names it (a non-SPDX license by its LicenseRef): the text of
 * `copyright[].license-path`, read from the build workspace once the pipeline ran, or for a
 * non-SPDX license without one, melange's `Non-SPDX License: <name>`. The workspace is written by the recipe's steps, so the path is resolved
 * inside it only: a `..`, an absolute path or a symlink leading out of the workspace would copy a
 * host file into a published SBOM, and is refused.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { DistrolessError } from "../../util/errors";
import type { Copyright } from "../recipe/schema";
import { copyrightEntries, spdxLicenseId } from "./spdx-license";

/** A license text larger than this is not a license text. */
const MAX_LICENSE_BYTES = 1 << 20;

/** Whether any entry names a license-path (a text to read from the workspace). */
export function hasLicensePath(copyright: readonly Copyright[]): boolean {
  return copyrightEntries(copyright).some((c) => c.licensePath);
}

/** License id -> text for every copyright entry with a license-path or a non-SPDX license. */
export async function licenseTexts(
  copyright: readonly Copyright[],
  workspace: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const root = await fsp.realpath(workspace);
  for (const c of copyrightEntries(copyright)) {
    const id = c.license !== undefined ? spdxLicenseId(c.license) : "";
    if (!c.licensePath) {
      if (id.startsWith("LicenseRef-")) out[id] = `Non-SPDX License: ${c.license}`;
      continue;
    }
    const rel = c.licensePath;
    const subject = `copyright license-path ${JSON.stringify(rel)}`;
    const normalized = path.posix.normalize(rel);
    if (path.posix.isAbsolute(rel) || normalized === ".." || normalized.startsWith("../")) {
      throw new DistrolessError("E_CONFIG", "must be a path inside the build workspace", { subject });
    }
    let real: string;
    try {
      real = await fsp.realpath(path.join(root, normalized));
    } catch {
      throw new DistrolessError("E_BUILD", "the build workspace has no such file after the pipeline", {
        subject,
      });
    }
    if (!real.startsWith(root + path.sep)) {
      throw new DistrolessError("E_HOSTILE", "leads out of the build workspace (through a symlink)", {
        subject,
      });
    }
    const st = await fsp.stat(real);
    if (!st.isFile() || st.size > MAX_LICENSE_BYTES) {
      throw new DistrolessError(
        "E_BUILD",
        `is not a license text (a file up to ${MAX_LICENSE_BYTES} bytes)`,
        {
          subject,
        },
      );
    }
    out[id] = await fsp.readFile(real, "utf8");
  }
  return out;
}
