/**
 * The package SBOM in melange 0.59's layout. The expected values of the license, supplier and purl
 * tables are what melange's own libraries answer for the same input (go-spdx v2.7.0's
 * ValidateLicenses, x/text's English title casing, packageurl-go v0.1.6), recorded from a run of
 * those libraries; test/conformance/packages.test.ts compares whole SBOMs with `melange build`.
 */
import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { buildPackage } from "../../provider/build/build";
import { apkPurl, recipePurl } from "../../provider/build/emit/purl";
import { packageSbom, sbomPath, spdxIdentifier, supplierOf } from "../../provider/build/emit/sbom";
import { isValidSpdxExpression, spdxLicenseId, toLicenseRef } from "../../provider/build/emit/spdx-license";
import { tempDir } from "../helpers/tmp";
import { apkFiles } from "./build-helpers";

describe("SPDX license expressions as melange validates them", () => {
  const cases: [string, boolean][] = [
    ["MIT", true],
    ["mit", true],
    [" MIT ", true],
    ["Apache-2.0", true],
    ["bsd-3-clause", true],
    ["MIT OR Apache-2.0", true],
    ["(MIT OR BSD-3-Clause) AND Zlib", true],
    ["MIT  AND  Zlib", true],
    ["MIT and Apache-2.0", false],
    ["MIT\tAND Zlib", false],
    ["MIT OR Foo", false],
    ["MIT AND", false],
    ["MIT OR AND Zlib", false],
    ["MIT AND (Zlib OR", false],
    ["GPL-2.0", true],
    ["GPL-2.0+", true],
    ["GPL-2.0 +", false],
    ["GPL-2.0-only", true],
    ["MIT-only", true],
    ["GPL-2.0-or-later", true],
    ["Apache-2.0-or-later", true],
    ["Apache-2.0-or-later AND MIT", true],
    // go-spdx's rewrite of `X-or-later` swallows the next character, here the closing parenthesis.
    ["(Apache-2.0-or-later)", false],
    ["GPL-2.0-only WITH Classpath-exception-2.0", true],
    ["GPL-2.0+ WITH Classpath-exception-2.0", true],
    ["mit with classpath-exception-2.0", true],
    ["MIT WITH Classpath-exception-2.0 OR Zlib", true],
    ["MIT WITH Foo", false],
    ["Classpath-exception-2.0", false],
    ["LicenseRef-foo", true],
    ["DocumentRef-x:LicenseRef-y", true],
    ["DocumentRef-a:LicenseRef-b AND MIT", true],
    ["DocumentRef-a LicenseRef-b", false],
    ["Not-Applicable", false],
    ["PROPRIETARY", false],
    ["Custom License", false],
    ["NOASSERTION", false],
    ["NONE", false],
    ["", false],
  ];
  for (const [license, valid] of cases)
    test(`${JSON.stringify(license)} is ${valid ? "valid" : "not valid"}`, () => {
      assert.equal(isValidSpdxExpression(license), valid);
    });

  test("thousands of nested parentheses are refused, not a crash", () => {
    assert.equal(isValidSpdxExpression(`${"(".repeat(50_000)}MIT${")".repeat(50_000)}`), false);
  });

  test("non-SPDX licenses become melange's LicenseRefs; valid ones stay as written", () => {
    assert.equal(spdxLicenseId("Not-Applicable"), "LicenseRef-Not-Applicable");
    assert.equal(spdxLicenseId("My Custom_License (v2)"), "LicenseRef-My-Custom-License-v2");
    assert.equal(spdxLicenseId("MIT and Zlib"), "LicenseRef-MIT-and-Zlib");
    assert.equal(spdxLicenseId("NOASSERTION"), "LicenseRef-NOASSERTION");
    assert.equal(spdxLicenseId("apache-2.0"), "apache-2.0");
    // Nothing left after sanitizing: named by the first 8 bytes of the name's SHA-256.
    assert.equal(toLicenseRef("©®"), "LicenseRef-524143ed84375a2b");
    assert.equal(toLicenseRef("Zürich"), "LicenseRef-Zrich");
  });
});

describe("SBOM names, ids and purls as melange writes them", () => {
  test("supplier: the namespace title-cased as Go's x/text does", () => {
    const cases: [string, string][] = [
      ["unknown", "Unknown"],
      ["wolfi", "Wolfi"],
      ["my-org", "My-Org"],
      ["ACME", "Acme"],
      ["chainguard.dev", "Chainguard.dev"],
      ["a..b", "A..B"],
      ["foo.1bar", "Foo.1bar"],
      ["1.a", "1.A"],
      ["a-1b", "A-1B"],
      ["x_y", "X_y"],
      ["1abc", "1Abc"],
      ["a:b", "A:b"],
      ["a/b", "A/B"],
      ["it's", "It's"],
      ["a''b", "A''B"],
      ["über", "Über"],
    ];
    for (const [ns, title] of cases) assert.equal(supplierOf(ns), `Organization: ${title}`, ns);
  });

  test("SPDX ids: ':' and '/' become '-', other characters C<code point>", () => {
    assert.equal(
      spdxIdentifier("SPDXRef-Package-Melange-gen_x.yaml-unknown"),
      "SPDXRef-Package-Melange-genC95x.yaml-unknown",
    );
    assert.equal(
      spdxIdentifier("SPDXRef-Package-apk-libstdc++-1:2/3"),
      "SPDXRef-Package-apk-libstdcC43C43-1-2-3",
    );
  });

  test("purls: the apk's (distro qualifier unless unknown) and the recipe's pkg:github", () => {
    assert.equal(apkPurl("unknown", "hello", "1.0-r0", "x86_64"), "pkg:apk/unknown/hello@1.0-r0?arch=x86_64");
    assert.equal(
      apkPurl("wolfi", "libstdc++", "1.0_rc1-r0", "aarch64"),
      "pkg:apk/wolfi/libstdc%2B%2B@1.0_rc1-r0?arch=aarch64&distro=wolfi",
    );
    assert.equal(
      recipePurl("https://unknown/unknown/unknown", "unknown", "gen-splits.yaml"),
      "pkg:github/https:/%2Funknown%2Funknown%2Funknown@unknown#gen-splits.yaml",
    );
    assert.equal(
      recipePurl("https://github.com/Wolfi-Dev/OS", "abc123", "/pkgs/hello.yaml"),
      "pkg:github/wolfi-dev/os@abc123#pkgs/hello.yaml",
    );
  });

  test("three packages: operating system, apk, recipe; the apk described by the recipe", () => {
    const sbom = JSON.parse(
      packageSbom({
        name: "hello",
        fullVersion: "1.0-r2",
        arch: "x86_64",
        license: "MIT AND LicenseRef-Not-Applicable",
        namespace: "wolfi",
        sourceDateEpoch: 1700000000,
        recipeFile: "hello.yaml",
        copyrightText: "Copyright <me> & co\n",
        licenseTexts: { "LicenseRef-Not-Applicable": "Non-SPDX License: Not-Applicable" },
      }).toString("utf8"),
    );
    const supplier = "Organization: Wolfi";
    assert.deepEqual(sbom.documentDescribes, ["SPDXRef-Package-apk-hello-1.0-r2"]);
    assert.deepEqual(sbom.packages, [
      {
        SPDXID: "SPDXRef-OperatingSystem",
        name: "wolfi",
        filesAnalyzed: false,
        licenseConcluded: "NOASSERTION",
        licenseDeclared: "NOASSERTION",
        description: "Operating System",
        downloadLocation: "NOASSERTION",
        originator: supplier,
        supplier,
        primaryPackagePurpose: "OPERATING-SYSTEM",
      },
      {
        SPDXID: "SPDXRef-Package-apk-hello-1.0-r2",
        name: "hello",
        versionInfo: "1.0-r2",
        filesAnalyzed: false,
        licenseConcluded: "NOASSERTION",
        licenseDeclared: "MIT AND LicenseRef-Not-Applicable",
        downloadLocation: "NOASSERTION",
        originator: supplier,
        supplier,
        copyrightText: "Copyright <me> & co\n",
        primaryPackagePurpose: "APPLICATION",
        externalRefs: [
          {
            referenceCategory: "PACKAGE-MANAGER",
            referenceLocator: "pkg:apk/wolfi/hello@1.0-r2?arch=x86_64&distro=wolfi",
            referenceType: "purl",
          },
        ],
      },
      {
        SPDXID: "SPDXRef-Package-Melange-hello.yaml-unknown",
        name: "hello.yaml",
        versionInfo: "unknown",
        filesAnalyzed: false,
        licenseConcluded: "NOASSERTION",
        licenseDeclared: "NOASSERTION",
        downloadLocation: "NOASSERTION",
        originator: supplier,
        supplier,
        primaryPackagePurpose: "INSTALL",
        externalRefs: [
          {
            referenceCategory: "PACKAGE-MANAGER",
            referenceLocator: "pkg:github/https:/%2Funknown%2Funknown%2Funknown@unknown#hello.yaml",
            referenceType: "purl",
          },
        ],
      },
    ]);
    assert.deepEqual(sbom.relationships, [
      {
        spdxElementId: "SPDXRef-Package-apk-hello-1.0-r2",
        relationshipType: "DESCRIBED_BY",
        relatedSpdxElement: "SPDXRef-Package-Melange-hello.yaml-unknown",
      },
    ]);
    assert.deepEqual(sbom.hasExtractedLicensingInfos, [
      { licenseId: "LicenseRef-Not-Applicable", extractedText: "Non-SPDX License: Not-Applicable" },
    ]);
    assert.equal(sbom.creationInfo.created, "2023-11-14T22:13:20Z");
  });

  test("HTML characters are escaped as Go's encoder escapes them", () => {
    const text = packageSbom({
      name: "x",
      fullVersion: "1-r0",
      arch: "x86_64",
      license: "MIT",
      namespace: "unknown",
      sourceDateEpoch: 0,
      copyrightText: "<a> & <b>\n",
    }).toString("utf8");
    assert.ok(text.includes('"copyrightText": "\\u003ca\\u003e \\u0026 \\u003cb\\u003e\\n"'), text);
  });
});

describe("licenses reach a built package's SBOM", () => {
  test("non-SPDX licenses as LicenseRefs with extracted texts, in every package of the build", async () => {
    const dir = tempDir();
    const src = path.join(dir, "src");
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, "CUSTOM"), "Custom terms\n");
    const recipe = path.join(dir, "lic.yaml");
    writeFileSync(
      recipe,
      `package:
  name: lic
  version: 1.0.0
  epoch: 0
  copyright:
    - license: Not-Applicable
    - license: Custom Terms
      license-path: CUSTOM
    - license: GPL-2.0-only WITH Classpath-exception-2.0
pipeline:
  - runs: mkdir -p \${{targets.destdir}}/usr/share/lic
subpackages:
  - name: lic-extra
    pipeline:
      - runs: mkdir -p \${{targets.subpkgdir}}/usr/share/lic-extra
`,
    );
    const built = await buildPackage({
      recipeFile: recipe,
      sourceDir: src,
      arch: "x86_64",
      runner: "host",
      outDir: path.join(dir, "out"),
      cacheDir: path.join(dir, "cache"),
      namespace: "acme",
    });
    assert.equal(built.packages.length, 2);
    for (const pkg of built.packages) {
      const files = await apkFiles(pkg.file);
      const sbom = JSON.parse(files.get(sbomPath(pkg.name, "1.0.0-r0"))!.content!.toString("utf8"));
      const described = sbom.packages.find((p: { SPDXID: string }) => p.SPDXID === sbom.documentDescribes[0]);
      assert.equal(described.name, pkg.name);
      assert.equal(
        described.licenseDeclared,
        "LicenseRef-Not-Applicable AND LicenseRef-Custom-Terms AND GPL-2.0-only WITH Classpath-exception-2.0",
      );
      assert.equal(described.supplier, "Organization: Acme");
      assert.deepEqual(sbom.hasExtractedLicensingInfos, [
        { licenseId: "LicenseRef-Custom-Terms", extractedText: "Custom terms\n" },
        { licenseId: "LicenseRef-Not-Applicable", extractedText: "Non-SPDX License: Not-Applicable" },
      ]);
    }
  });
});
