/**
 * The SPDX 2.3 document melange puts in every package at
 * `var/lib/db/sbom/<name>-<version>-r<epoch>.spdx.json`: the document, the package (declared
 * license, apk purl), and the recipe it was built from. Deterministic: the creation time is
 * SOURCE_DATE_EPOCH, the namespace is derived from the content, and the tool is named without its
 * version (so upgrading the tool alone does not change package bytes).
 */
import { rfc3339 } from "../../image/oci-objects";
import { sha256Hex } from "../../util/hash";

export interface SbomInput {
  name: string;
  /** `<version>-r<epoch>` */
  fullVersion: string;
  arch: string;
  /** SPDX license expression of the origin package ("" or NOASSERTION when unknown). */
  license: string;
  /** purl namespace (melange's --namespace; "unknown" by default). */
  namespace: string;
  sourceDateEpoch: number;
  /** The recipe file's base name, when the build came from a file. */
  recipeFile?: string;
  /** The recipe's package.commit, when given. */
  commit?: string;
  /** melange's CPE 2.3 string of the origin package: a SECURITY external reference. */
  cpe?: string;
  /** The copyright attestations, one a line (melange's FullCopyright); NOASSERTION when none. */
  copyrightText?: string;
  /** License id -> text from `license-path`: SPDX `hasExtractedLicensingInfos`. */
  licenseTexts?: Record<string, string>;
}

export function sbomPath(name: string, fullVersion: string): string {
  return `var/lib/db/sbom/${name}-${fullVersion}.spdx.json`;
}

function spdxId(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]/g, "-");
}

export function packageSbom(input: SbomInput): Buffer {
  const ident = `apk-${input.name}-${input.fullVersion}`;
  const pkgId = `SPDXRef-Package-${spdxId(ident)}`;
  const purl = `pkg:apk/${encodeURIComponent(input.namespace)}/${encodeURIComponent(input.name)}@${encodeURIComponent(input.fullVersion)}?arch=${encodeURIComponent(input.arch)}`;
  const packages: Record<string, unknown>[] = [
    {
      SPDXID: pkgId,
      name: input.name,
      versionInfo: input.fullVersion,
      filesAnalyzed: false,
      licenseConcluded: "NOASSERTION",
      licenseDeclared: input.license || "NOASSERTION",
      downloadLocation: "NOASSERTION",
      originator: `Organization: ${input.namespace}`,
      supplier: `Organization: ${input.namespace}`,
      copyrightText: input.copyrightText || "NOASSERTION",
      primaryPackagePurpose: "APPLICATION",
      externalRefs: [
        { referenceCategory: "PACKAGE-MANAGER", referenceLocator: purl, referenceType: "purl" },
        ...(input.cpe
          ? [{ referenceCategory: "SECURITY", referenceLocator: input.cpe, referenceType: "cpe23Type" }]
          : []),
      ],
    },
  ];
  const relationships: Record<string, string>[] = [];
  if (input.recipeFile) {
    const recipeId = `SPDXRef-Package-Recipe-${spdxId(input.recipeFile)}${input.commit ? `-${spdxId(input.commit)}` : ""}`;
    packages.push({
      SPDXID: recipeId,
      name: input.recipeFile,
      versionInfo: input.commit || input.fullVersion,
      filesAnalyzed: false,
      licenseConcluded: "NOASSERTION",
      licenseDeclared: "NOASSERTION",
      downloadLocation: "NOASSERTION",
      originator: `Organization: ${input.namespace}`,
      supplier: `Organization: ${input.namespace}`,
      primaryPackagePurpose: "INSTALL",
    });
    relationships.push({
      spdxElementId: pkgId,
      relationshipType: "DESCRIBED_BY",
      relatedSpdxElement: recipeId,
    });
  }
  const extracted = Object.entries(input.licenseTexts ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([licenseId, extractedText]) => ({ licenseId, extractedText }));
  const body = {
    SPDXID: "SPDXRef-DOCUMENT",
    name: ident,
    spdxVersion: "SPDX-2.3",
    creationInfo: {
      created: rfc3339(input.sourceDateEpoch),
      creators: ["Tool: pulumi-distroless", `Organization: ${input.namespace}`],
      licenseListVersion: "3.22",
    },
    dataLicense: "CC0-1.0",
    documentNamespace: "",
    documentDescribes: [pkgId],
    packages,
    relationships,
    ...(extracted.length > 0 ? { hasExtractedLicensingInfos: extracted } : {}),
  };
  body.documentNamespace = `https://spdx.org/spdxdocs/pulumi-distroless/${input.arch}/${ident}-${sha256Hex(JSON.stringify(body)).slice(0, 32)}`;
  return Buffer.from(`${JSON.stringify(body, null, 2)}\n`);
}
