/**
 * The SPDX 2.3 document melange 0.59 puts in every package at
 * `var/lib/db/sbom/<name>-<version>-r<epoch>.spdx.json`, field by field: three packages (the
 * "operating system", which melange 0.59 fills from its --namespace, not from the build guest; the
 * apk with its purl and CPE; the recipe file with its `pkg:github` purl), the apk DESCRIBED_BY the
 * recipe, and the extracted texts of non-SPDX licenses. Deliberately ours: the creators name our
 * tool and the namespace is derived from the content under our name. Deterministic: the creation
 * time is SOURCE_DATE_EPOCH and nothing names the build machine.
 */
import { rfc3339 } from "../../image/oci-objects";
import { sha256Hex } from "../../util/hash";
import { apkPurl, recipePurl } from "./purl";

export interface SbomInput {
  name: string;
  /** `<version>-r<epoch>` */
  fullVersion: string;
  arch: string;
  /** SPDX license expression of the origin package, non-SPDX licenses as LicenseRefs ("" when none). */
  license: string;
  /** purl namespace (melange's --namespace; "unknown" by default). */
  namespace: string;
  sourceDateEpoch: number;
  /** The recipe file's base name, when the build came from a file. */
  recipeFile?: string;
  /** melange's CPE 2.3 string of the origin package: a SECURITY external reference. */
  cpe?: string;
  /** The copyright attestations, one a line (melange's FullCopyright); NOASSERTION when none. */
  copyrightText?: string;
  /** License id -> text (license-path contents, or melange's note for a non-SPDX license). */
  licenseTexts?: Record<string, string>;
}

/**
 * What melange uses for the recipe's repository and commit when it is not told (--git-repo-url,
 * --git-commit) and finds no git checkout: we never look at the build machine's git state, so the
 * recipe package always says this, as melange's does in a plain directory.
 */
const UNKNOWN_REPOSITORY = "https://unknown/unknown/unknown";
const UNKNOWN_COMMIT = "unknown";

export function sbomPath(name: string, fullVersion: string): string {
  return `var/lib/db/sbom/${name}-${fullVersion}.spdx.json`;
}

/** melange's SPDX id characters: `:` and `/` become `-`, other invalid characters `C<code point>`. */
export function spdxIdentifier(text: string): string {
  let out = "";
  for (const ch of text) {
    if (ch === ":" || ch === "/") out += "-";
    else if (/^[A-Za-z0-9.-]$/.test(ch)) out += ch;
    else out += `C${ch.codePointAt(0)}`;
  }
  return out;
}

const MID_WORD = new Set([".", ":", "'", "\u2019", "\u00b7"]);

/**
 * melange's supplier, `Organization: ` + the namespace title-cased as Go's x/text does it (first
 * cased letter of each word upper, the rest lower; words break at anything but letters, digits,
 * `_` and a single `.`/`:`/`'` between them): `unknown` -> `Unknown`, `my-org` -> `My-Org`.
 */
export function supplierOf(namespace: string): string {
  let out = "";
  let midWord = false;
  let previousMid = false;
  for (const ch of namespace) {
    const mid = MID_WORD.has(ch);
    if (previousMid && mid) midWord = false;
    if (ch.toLowerCase() !== ch.toUpperCase()) {
      out += midWord ? ch.toLowerCase() : ch.toUpperCase();
      midWord = true;
    } else {
      out += ch;
      if (!mid && !/^[\p{L}\p{N}\p{M}_]$/u.test(ch)) midWord = false;
    }
    previousMid = mid;
  }
  return `Organization: ${out}`;
}

/** Go's encoding/json escapes these inside strings; so do we, for the same bytes. */
function goJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

export function packageSbom(input: SbomInput): Buffer {
  const ident = `apk-${input.name}-${input.fullVersion}`;
  const pkgId = spdxIdentifier(`SPDXRef-Package-${ident}`);
  const supplier = supplierOf(input.namespace);
  const noAssertion = "NOASSERTION";
  const packages: Record<string, unknown>[] = [
    {
      SPDXID: "SPDXRef-OperatingSystem",
      name: input.namespace,
      filesAnalyzed: false,
      licenseConcluded: noAssertion,
      licenseDeclared: noAssertion,
      description: "Operating System",
      downloadLocation: noAssertion,
      originator: supplier,
      supplier,
      primaryPackagePurpose: "OPERATING-SYSTEM",
    },
    {
      SPDXID: pkgId,
      name: input.name,
      versionInfo: input.fullVersion,
      filesAnalyzed: false,
      licenseConcluded: noAssertion,
      licenseDeclared: input.license || noAssertion,
      downloadLocation: noAssertion,
      originator: supplier,
      supplier,
      copyrightText: input.copyrightText || noAssertion,
      primaryPackagePurpose: "APPLICATION",
      externalRefs: [
        {
          referenceCategory: "PACKAGE-MANAGER",
          referenceLocator: apkPurl(input.namespace, input.name, input.fullVersion, input.arch),
          referenceType: "purl",
        },
        ...(input.cpe
          ? [{ referenceCategory: "SECURITY", referenceLocator: input.cpe, referenceType: "cpe23Type" }]
          : []),
      ],
    },
  ];
  const relationships: Record<string, string>[] = [];
  if (input.recipeFile) {
    const recipeId = spdxIdentifier(`SPDXRef-Package-Melange-${input.recipeFile}-${UNKNOWN_COMMIT}`);
    packages.push({
      SPDXID: recipeId,
      name: input.recipeFile,
      versionInfo: UNKNOWN_COMMIT,
      filesAnalyzed: false,
      licenseConcluded: noAssertion,
      // melange's --license for the recipe file itself, NOASSERTION unless given.
      licenseDeclared: noAssertion,
      downloadLocation: noAssertion,
      originator: supplier,
      supplier,
      primaryPackagePurpose: "INSTALL",
      externalRefs: [
        {
          referenceCategory: "PACKAGE-MANAGER",
          referenceLocator: recipePurl(UNKNOWN_REPOSITORY, UNKNOWN_COMMIT, input.recipeFile),
          referenceType: "purl",
        },
      ],
    });
    relationships.push({
      spdxElementId: pkgId,
      relationshipType: "DESCRIBED_BY",
      relatedSpdxElement: recipeId,
    });
  }
  // melange iterates a Go map here (any order); sorted, ours is reproducible.
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
  return Buffer.from(`${goJson(body)}\n`);
}
