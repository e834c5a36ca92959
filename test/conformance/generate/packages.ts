/**
 * The packages of the conformance repository: each one exercises one thing an image builder must
 * get right (modes, owners, links, long names, xattrs, replaces, virtual providers, versions,
 * scriptlets, usr-merge). Contents depend on the arch, so every arch's layer is different.
 */
import { createHash } from "node:crypto";
import type { DataEntry } from "../../../provider/apk/data-entry";
import type { PkgInfo } from "../../../provider/apk/pkginfo";
import { dir, file, pkgInfo, symlink, type TestPackage, withParents } from "../../image/image-helpers";

/** The archs the repository has; cases pick among them. */
export const CONFORMANCE_ARCHS = ["x86_64", "aarch64", "armv7", "riscv64"] as const;
export type ConformanceArch = (typeof CONFORMANCE_ARCHS)[number];

/** Package build time (the apk mtimes): not the image's SOURCE_DATE_EPOCH, to see which one wins. */
export const PACKAGE_EPOCH = 1_650_000_000;

const owned = (e: DataEntry, uid: number, gid: number): DataEntry => ({ ...e, uid, gid });

/** Deterministic incompressible-ish bytes (a SHA-256 chain), so a large file is not all zeros. */
function pseudoRandom(size: number, seed: string): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash("sha256").update(seed).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}

function pkg(
  arch: string,
  name: string,
  version: string,
  entries: DataEntry[],
  extra: Partial<PkgInfo> = {},
  control?: TestPackage["control"],
): TestPackage {
  return {
    info: pkgInfo(name, version, arch, {
      builddate: PACKAGE_EPOCH,
      pkgdesc: `conformance: ${name}`,
      ...extra,
    }),
    entries: withParents(entries),
    epoch: PACKAGE_EPOCH,
    ...(control ? { control } : {}),
  };
}

/** Every package of one arch's repository. */
export function conformancePackages(arch: string): TestPackage[] {
  const tag = (s: string) => `${s} (${arch})\n`;
  return [
    pkg(arch, "conf-baselayout", "1.0-r0", [
      dir("etc"),
      file(
        "etc/os-release",
        'ID=conformance\nNAME="Conformance Linux"\nVERSION_ID=1.0\nPRETTY_NAME="Conformance 1.0"\n',
      ),
      file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n"),
      file("etc/group", "root:x:0:\nnobody:x:65534:\n"),
      file("etc/hostname", tag("conformance")),
      dir("root", 0o700),
      dir("home"),
      dir("var/empty", 0o555),
      dir("usr/bin"),
      dir("usr/sbin"),
      dir("usr/lib"),
      symlink("bin", "usr/bin"),
      symlink("sbin", "usr/sbin"),
    ]),
    pkg(arch, "conf-modes", "1.0-r0", [
      file("usr/bin/plain", tag("#!/bin/sh plain"), 0o755),
      file("usr/bin/suid", tag("suid"), 0o4755),
      file("usr/bin/sgid", tag("sgid"), 0o2755),
      file("usr/bin/suid-sgid", tag("both"), 0o6755),
      file("etc/conf-modes/secret", tag("secret"), 0o600),
      file("etc/conf-modes/readonly", tag("ro"), 0o444),
      file("etc/conf-modes/empty", ""),
      dir("usr/share/conf-modes/sticky", 0o1777),
      dir("var/lib/conf-modes/sgid-dir", 0o2775),
      dir("var/lib/conf-modes/private", 0o700),
      file("usr/share/conf-modes/big.bin", pseudoRandom(300_000, arch)),
    ]),
    pkg(arch, "conf-owners", "1.0-r0", [
      owned(file("etc/conf-owners/user-file", tag("user")), 1000, 1000),
      owned(file("etc/conf-owners/group-only", tag("group"), 0o640), 0, 65534),
      owned(dir("var/lib/conf-owners", 0o750), 65532, 65532),
      owned(file("var/lib/conf-owners/state", tag("state"), 0o600), 65532, 65532),
      owned(symlink("etc/conf-owners/link", "user-file"), 1000, 1000),
      owned(file("usr/bin/conf-suid-user", tag("setuid to a user"), 0o4755), 1000, 1000),
    ]),
    pkg(arch, "conf-links", "1.0-r0", [
      file("usr/bin/conf-tool", tag("tool"), 0o755),
      {
        path: "usr/bin/conf-tool-alias",
        type: "hardlink",
        mode: 0o755,
        uid: 0,
        gid: 0,
        linkname: "usr/bin/conf-tool",
      },
      {
        path: "usr/libexec/conf-tool",
        type: "hardlink",
        mode: 0o755,
        uid: 0,
        gid: 0,
        linkname: "usr/bin/conf-tool",
      },
      symlink("usr/bin/conf-rel", "conf-tool"),
      symlink("usr/bin/conf-abs", "/usr/bin/conf-tool"),
      symlink("usr/bin/conf-dangling", "/nonexistent/target"),
      symlink("usr/share/conf-links-dir", "../libexec"),
    ]),
    pkg(arch, "conf-longnames", "1.0-r0", [
      file(
        `usr/share/conf-longnames/${"a-rather-long-directory-name/".repeat(3)}${"file-".repeat(12)}end.txt`,
        tag("long"),
      ),
      file("usr/share/conf-longnames/h\u00e9llo-w\u00f6rld.txt", tag("utf-8 name")),
      symlink("usr/share/conf-longnames/long-link", `/usr/share/conf-longnames/${"x".repeat(110)}`),
    ]),
    pkg(arch, "conf-xattrs", "1.0-r0", [
      {
        ...file("usr/bin/conf-cap", tag("cap"), 0o755),
        xattrs: { "security.capability": Buffer.from("0100000202000000000000000000000000000000", "hex") },
      },
      { ...dir("var/lib/conf-xattrs"), xattrs: { "user.conformance": Buffer.from("directory") } },
      { ...file("etc/conf-xattrs.conf", tag("x")), xattrs: { "user.conformance": Buffer.from("file") } },
    ]),
    pkg(arch, "conf-replaced", "1.0-r0", [
      file("etc/conf-shared.conf", tag("from conf-replaced")),
      file("etc/conf-replaced-only", tag("only")),
    ]),
    pkg(arch, "conf-replacer", "1.0-r0", [file("etc/conf-shared.conf", tag("from conf-replacer"))], {
      replaces: ["conf-replaced"],
    }),
    pkg(arch, "conf-impl-a", "1.0-r0", [file("usr/share/conf-virtual/impl", tag("impl-a"))], {
      provides: ["conf-virtual=1.0"],
      providerPriority: 10,
    }),
    pkg(arch, "conf-impl-b", "2.0-r0", [file("usr/share/conf-virtual/impl-b", tag("impl-b"))], {
      provides: ["conf-virtual=2.0"],
      providerPriority: 20,
    }),
    pkg(arch, "conf-libfoo", "1.2.3-r0", [file("usr/lib/libfoo.so.1", tag("ELF-ish libfoo"), 0o755)], {
      provides: ["so:libfoo.so.1=1"],
    }),
    pkg(arch, "conf-app", "0.9-r2", [file("usr/bin/conf-app", tag("app"), 0o755)], {
      depends: ["so:libfoo.so.1", "conf-baselayout"],
      provides: ["cmd:conf-app=0.9-r2"],
    }),
    ...["1.0-r0", "1.2-r1", "2.0_rc1-r0", "2.0-r0"].map((v) =>
      pkg(arch, "conf-multi", v, [file("usr/share/conf-multi/VERSION", tag(v))]),
    ),
    pkg(arch, "conf-scripts", "1.0-r0", [file("etc/conf-scripts.conf", tag("scripts"))], {}, [
      { name: ".post-install", mode: 0o755, data: Buffer.from("#!/bin/sh\necho installed\n") },
      { name: ".pre-deinstall", mode: 0o755, data: Buffer.from("#!/bin/sh\necho bye\n") },
    ]),
    pkg(arch, "conf-dirmodes", "1.0-r0", [
      dir("var/lib/conf-modes/sgid-dir", 0o700),
      file("var/lib/conf-modes/sgid-dir/from-dirmodes", tag("dirmodes")),
    ]),
    pkg(arch, "conf-homes", "1.0-r0", [
      owned(dir("home/svc", 0o750), 65532, 65532),
      owned(file("home/svc/.profile", tag("profile")), 65532, 65532),
    ]),
    pkg(arch, "conf-etc-apk", "1.0-r0", [file("etc/apk/protected_paths.d/conf.list", "+etc/conf-modes\n")]),
  ];
}
