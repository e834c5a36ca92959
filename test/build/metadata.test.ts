import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { readApkHead } from "../../provider/apk/apk-reader";
import { generateSigningKey, type SigningKey, writeKeyPair } from "../../provider/apk/keys";
import { buildPackage } from "../../provider/build/build";
import { sbomPath } from "../../provider/build/emit/sbom";
import { prepareBuild } from "../../provider/build/prepare";
import { parseRecipe } from "../../provider/build/recipe";
import { isDistrolessError } from "../../provider/util/errors";
import { tempDir } from "../helpers/tmp";
import { apkFiles } from "./build-helpers";

const UPDATE = `update:
  enabled: true
  oci:
    identifier: cgr.dev/chainguard/node
    strip-prefix: v
    tag-filter-prefix: "2"
  version_data:
    version_format: "\${{cuda.version}}-\${{driver.version}}"
    sources:
      - name: cuda
        stream: "12.6"
        ignore: ["rc"]
        use_release: true
      - name: driver
        stream: "560"
        commit_source: cuda
`;

const recipe = (licensePath: string, update = UPDATE) => `package:
  name: meta
  version: 2.4.1
  epoch: 3
  annotations:
    org.example/team: platform
  copyright:
    - license: MIT
      paths: ["*"]
      attestation: Copyright 2024 Example Corp
      license-path: ${licensePath}
  cpe:
    vendor: example
    product: meta-tool
    target_sw: linux
pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/share/meta
      echo data > \${{targets.destdir}}/usr/share/meta/data
subpackages:
  - name: meta-doc
    annotations:
      org.example/kind: docs
    pipeline:
      - runs: mkdir -p \${{targets.subpkgdir}}/usr/share/doc
${update}`;

async function setup(dir: string, licensePath = "LICENSE.txt", update = UPDATE, key?: SigningKey) {
  const src = path.join(dir, "src");
  mkdirSync(src, { recursive: true });
  writeFileSync(path.join(src, "LICENSE.txt"), "MIT License\n\nPermission is hereby granted...\n");
  const file = path.join(dir, "meta.melange.yaml");
  writeFileSync(file, recipe(licensePath, update));
  const signingKey: string | SigningKey =
    key ?? (await writeKeyPair(dir, "meta.rsa", await generateSigningKey(2048))).privateKeyFile;
  return {
    recipeFile: file,
    sourceDir: src,
    arch: "x86_64",
    runner: "host" as const,
    outDir: path.join(dir, "out"),
    signingKey,
    cacheDir: path.join(dir, "cache"),
  };
}

describe("recipe metadata reaches the package", () => {
  test("cpe, copyright attestation and license-path text in the SBOM; annotations and copyright in .melange.yaml", async () => {
    const dir = tempDir();
    const built = await buildPackage(await setup(dir));
    const [main, doc] = built.packages;
    for (const pkg of [main!, doc!]) {
      const files = await apkFiles(pkg.file);
      const sbom = JSON.parse(files.get(sbomPath(pkg.name, "2.4.1-r3"))!.content!.toString("utf8"));
      const described = sbom.packages.find((p: { SPDXID: string }) => p.SPDXID === sbom.documentDescribes[0]);
      assert.deepEqual(described.externalRefs[1], {
        referenceCategory: "SECURITY",
        referenceLocator: "cpe:2.3:a:example:meta-tool:2.4.1:*:*:*:*:linux:*:*",
        referenceType: "cpe23Type",
      });
      assert.equal(described.copyrightText, "Copyright 2024 Example Corp\n");
      assert.deepEqual(sbom.hasExtractedLicensingInfos, [
        { licenseId: "MIT", extractedText: "MIT License\n\nPermission is hereby granted...\n" },
      ]);
    }
    const head = await readApkHead(main!.file);
    const yaml = parse(head.control.find((c) => c.name === ".melange.yaml")!.data.toString("utf8"));
    assert.deepEqual(yaml.package.annotations, { "org.example/team": "platform" });
    assert.deepEqual(yaml.package.copyright, [
      {
        paths: ["*"],
        attestation: "Copyright 2024 Example Corp",
        license: "MIT",
        "license-path": "LICENSE.txt",
      },
    ]);
    assert.deepEqual(yaml.package.cpe, { vendor: "example", product: "meta-tool", target_sw: "linux" });
    assert.deepEqual(yaml.subpackages[0].annotations, { "org.example/kind": "docs" });
  });

  test("update: (oci, version_data) is accepted and changes nothing a build makes", async () => {
    const dir = tempDir();
    const withUpdate = await prepareBuild(await setup(path.join(dir, "a")));
    const without = await prepareBuild(
      await setup(path.join(dir, "b"), "LICENSE.txt", "", withUpdate.signingKey),
    );
    assert.equal(withUpdate.inputDigest, without.inputDigest);
  });

  test("an unknown field under update.oci is rejected by name", () => {
    const bad = recipe("LICENSE.txt", UPDATE.replace("strip-prefix: v", "strip-prefixes: v"));
    assert.throws(
      () => parseRecipe(bad, "meta.melange.yaml"),
      (err: unknown) => isDistrolessError(err, "E_CONFIG") && /update\.oci\.strip-prefixes/.test(err.message),
    );
  });

  test("a license-path leading out of the workspace is refused, not copied into the SBOM", async () => {
    const dir = tempDir();
    const settings = await setup(dir, "escape/passwd");
    const { symlinkSync } = await import("node:fs");
    mkdirSync(path.join(settings.sourceDir, "escape"));
    symlinkSync("/etc/passwd", path.join(settings.sourceDir, "escape/passwd"));
    await assert.rejects(buildPackage(settings), (err: unknown) => {
      assert.ok(isDistrolessError(err, "E_HOSTILE"), String(err));
      assert.match(err.message, /license-path "escape\/passwd"/);
      return true;
    });
  });
});
