import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { splitGzipMembers } from "../../archive/gzip-members";
import { readTarBuffer } from "../../archive/tar-reader";
import { DistrolessError } from "../../util/errors";

/** Tells an .apk from an APKINDEX.tar.gz: by name when it says, else by looking inside. */
export async function artifactKind(file: string): Promise<"apk" | "index"> {
  const base = path.basename(file);
  if (base.endsWith(".apk")) return "apk";
  if (base.startsWith("APKINDEX")) return "index";
  const fh = await fsp.open(file, "r").catch(() => {
    throw new DistrolessError("E_MISSING", "file not found", { subject: file });
  });
  try {
    const head = Buffer.alloc(256 << 10);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    // Look at the tar entry names of the leading members.
    const members = (() => {
      try {
        return splitGzipMembers(head.subarray(0, bytesRead), { maxInflated: 32 << 20 });
      } catch {
        return [];
      }
    })();
    for (const m of members) {
      const names = (await readTarBuffer(m.inflated).catch(() => [])).map((e) => e.header.name);
      if (names.includes(".PKGINFO")) return "apk";
      if (names.includes("APKINDEX")) return "index";
    }
  } finally {
    await fh.close();
  }
  return "apk";
}
