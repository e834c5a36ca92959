/**
 * `copyright[].license-path`: the license text melange reads from the build workspace once the
 * pipeline ran and puts in every SBOM of the build as SPDX `hasExtractedLicensingInfos`, keyed by
 * the entry's license id. The workspace is written by the recipe's steps, so the path is resolved
 * inside it only: a `..`, an absolute path or a symlink leading out of the workspace would copy a
 * host file into a published SBOM, and is refused.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { DistrolessError } from "../../util/errors";
import type { Copyright } from "../recipe/schema";

/** A license text larger than this is not a license text. */
const MAX_LICENSE_BYTES = 1 << 20;

function withLicensePath(list: readonly Copyright[]): Copyright[] {
  return list.flatMap((c) => [...(c.licensePath ? [c] : []), ...withLicensePath(c.licenses ?? [])]);
}

/** Whether any entry names a license-path (a text to read from the workspace). */
export function hasLicensePath(copyright: readonly Copyright[]): boolean {
  return withLicensePath(copyright).length > 0;
}

/** License id -> text for every copyright entry with a license-path, read from `workspace`. */
export async function licenseTexts(
  copyright: readonly Copyright[],
  workspace: string,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const root = await fsp.realpath(workspace);
  for (const c of withLicensePath(copyright)) {
    const rel = c.licensePath!;
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
    out[c.license ?? ""] = await fsp.readFile(real, "utf8");
  }
  return out;
}
