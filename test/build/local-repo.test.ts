import * as assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readApkHead, verifyApkFile } from "../../provider/apk/apk-reader";
import { Keyring } from "../../provider/apk/keys";
import type { PkgInfo } from "../../provider/apk/pkginfo";
import { buildPackage } from "../../provider/build/build";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { apkFiles } from "./build-helpers";

const RECIPES = ["pretend-baselayout", "replayout", "custom-ca-certs-1", "custom-ca-certs-2"];

/** .PKGINFO fields that describe the package (not this particular build of it). */
function describing(p: PkgInfo) {
  return {
    pkgname: p.pkgname,
    pkgver: p.pkgver,
    arch: p.arch,
    origin: p.origin,
    pkgdesc: p.pkgdesc,
    url: p.url,
    maintainer: p.maintainer,
    licenses: p.licenses,
    depends: p.depends,
    provides: p.provides,
    replaces: p.replaces,
    providerPriority: p.providerPriority,
    replacesPriority: p.replacesPriority,
    triggers: p.triggers,
    installIf: p.installIf,
    extra: p.extra,
  };
}

describe("the recipes behind local-repo, built by us, match melange's apks", needsFixtures(), () => {
  for (const arch of ["x86_64", "aarch64"]) {
    for (const name of RECIPES) {
      test(`${arch}/${name}`, async () => {
        const out = tempDir();
        const result = await buildPackage({
          recipeFile: fixture("configs/melange", `${name}.melange.yaml`),
          // melange built these from an empty source dir; the recipes only write files.
          sourceDir: path.join(out, "no-source"),
          arch,
          runner: "host",
          outDir: out,
          signingKey: fixture("local-repo/melange.rsa"),
          cacheDir: path.join(out, "cache"),
        });
        assert.equal(result.packages.length, 1);
        const ours = result.packages[0]!;
        const theirs = fixture("local-repo", arch, `${name}-1.0.0-r0.apk`);
        assert.equal(ours.file, path.join(out, arch, `${name}-1.0.0-r0.apk`));

        // Same describing .PKGINFO fields; builddate (0 in both), datahash, size and commit are per build.
        const ourHead = await readApkHead(ours.file);
        const theirHead = await readApkHead(theirs);
        assert.deepEqual(describing(ourHead.pkginfo), describing(theirHead.pkginfo));
        assert.equal(ourHead.pkginfo.builddate, theirHead.pkginfo.builddate);
        assert.deepEqual(
          ourHead.control.map((c) => c.name),
          theirHead.control.map((c) => c.name),
          "control entries (.PKGINFO, .melange.yaml)",
        );

        // Same files with the same content and modes. The SBOM is at the same path in both, with
        // our own (deterministic) document. melange's build user there was uid 501, which it does
        // not remap (only the recipe's build user, 1000, becomes root): ours are all root.
        const sbom = `var/lib/db/sbom/${name}-1.0.0-r0.spdx.json`;
        const a = await apkFiles(ours.file);
        const b = await apkFiles(theirs);
        assert.deepEqual([...a.keys()], [...b.keys()], "same paths in the same order");
        for (const [p, fa] of a) {
          const fb = b.get(p)!;
          assert.equal(fa.type, fb.type, p);
          assert.equal(fa.mode, fb.mode, `${p} mode`);
          assert.equal(fa.uid, 0, `${p} uid`);
          if (p !== sbom) assert.equal(fa.sha1, fb.sha1, `${p} content`);
        }
        const doc = JSON.parse(a.get(sbom)!.content!.toString("utf8")) as {
          name: string;
          spdxVersion: string;
          documentDescribes: string[];
          packages: { SPDXID: string; name: string; versionInfo: string; licenseDeclared: string }[];
        };
        assert.equal(doc.spdxVersion, "SPDX-2.3");
        assert.equal(doc.name, `apk-${name}-1.0.0-r0`);
        // melange 0.59 lists the operating system first; the document describes the apk.
        const described = doc.packages.find((p) => p.SPDXID === doc.documentDescribes[0]);
        assert.deepEqual(
          [described?.name, described?.versionInfo, described?.licenseDeclared],
          [name, "1.0.0-r0", "MIT"],
        );

        // Signed with melange.rsa like theirs; the whole verification chain holds.
        const keyring = await Keyring.fromPaths([fixture("local-repo/melange.rsa.pub")]);
        const verified = await verifyApkFile(ours.file, { keyring });
        assert.equal(verified.signedBy?.keyName, "melange.rsa.pub");
        assert.equal(ourHead.signatures[0]?.algorithm, theirHead.signatures[0]?.algorithm);
      });
    }
  }
});
