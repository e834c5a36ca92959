import { newHeader } from "../archive/tar-header";
import { buildTar } from "../archive/tar-writer";
import type { InstalledPackage } from "./install";

/**
 * `usr/lib/apk/db/scripts.tar` and `usr/lib/apk/db/triggers`, as apko writes them. Scripts are the
 * executable control entries (`.post-install`, `.trigger`, ...; `.PKGINFO` and non-executable files
 * such as `.melange.yaml` are skipped), named `<name>-<version>.Q1<base64>.<script>`, mtime set to
 * SOURCE_DATE_EPOCH. An empty scripts.tar is just the end-of-archive marker (1024 zero bytes).
 */
export function buildScriptsTar(packages: InstalledPackage[], epoch: number): Buffer {
  const entries: Parameters<typeof buildTar>[0] = [];
  for (const pkg of packages) {
    const scripts = pkg.head.control.filter((c) => c.name !== ".PKGINFO" && (c.mode & 0o555) === 0o555);
    if (scripts.length === 0) continue;
    for (const script of scripts) {
      entries.push({
        header: newHeader({
          name: `${pkg.pkginfo.pkgname}-${pkg.pkginfo.pkgver}.${pkg.checksum}${script.name}`,
          type: "file",
          mode: script.mode & 0o7777,
          uid: script.uid ?? 0,
          gid: script.gid ?? 0,
          uname: script.uname ?? "root",
          gname: script.gname ?? "root",
          mtime: epoch,
        }),
        data: script.data,
      });
    }
  }
  return buildTar(entries, { endOfArchive: true });
}

/** `Q1<base64> <trigger paths>` per package that declares triggers, in install order. */
export function buildTriggers(packages: InstalledPackage[]): string {
  return formatTriggers(
    packages
      .filter((p) => p.pkginfo.triggers.length > 0)
      .map((p) => ({ checksum: p.checksum, paths: p.pkginfo.triggers })),
  );
}

/** `etc/apk/world`: the locked `name=version` of everything installed, sorted. */
export function buildWorld(packages: { name: string; version: string }[]): string {
  const lines = packages.map((p) => `${p.name}=${p.version}`).sort();
  return lines.length > 0 ? `${lines.join("\n")}\n` : "\n";
}

/** Reads a triggers file back: one `Q1<base64> <path>...` line per package. */
export function parseTriggers(text: string): { checksum: string; paths: string[] }[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => {
      const [checksum, ...paths] = l.split(" ");
      return { checksum: checksum!, paths: paths.filter(Boolean) };
    });
}

export function formatTriggers(entries: { checksum: string; paths: string[] }[]): string {
  return entries.map((e) => `${e.checksum} ${e.paths.join(" ")}\n`).join("");
}
