import { q1Decode } from "../util/hash";
import { type ApkArch, toOciPlatform } from "./config/arch";
import type { InstalledPackage } from "./install";
import { rfc3339, TOOL_NAME } from "./oci-objects";
import { MEDIA_TYPES } from "./oci-types";
import type { OsRelease } from "./os-release";

/**
 * SPDX 2.3 JSON documents, shaped like apko's: one per arch image (the image, its layer, the
 * operating system from etc/os-release, and every installed apk) and one for the index. Unlike
 * apko, which copies package entries only from the SBOMs melange embeds, every installed package is
 * listed from its own .PKGINFO, with two checksums: SHA1 = the package identity (the `C:` control
 * checksum, what an index and a lock name) and SHA256 = its `datahash` (the data segment).
 * Deterministic: no random namespace (derived from the digest described) and `created` = epoch.
 */

interface Checksum {
  algorithm: string;
  checksumValue: string;
}
interface ExternalRef {
  referenceCategory: string;
  referenceLocator: string;
  referenceType: string;
}
interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  filesAnalyzed: boolean;
  licenseConcluded?: string;
  licenseDeclared?: string;
  description?: string;
  downloadLocation: string;
  originator?: string;
  supplier?: string;
  sourceInfo?: string;
  primaryPackagePurpose?: string;
  checksums?: Checksum[];
  externalRefs?: ExternalRef[];
}
interface Relationship {
  spdxElementId: string;
  relationshipType: string;
  relatedSpdxElement: string;
}
export interface SpdxDocument {
  SPDXID: "SPDXRef-DOCUMENT";
  name: string;
  spdxVersion: "SPDX-2.3";
  creationInfo: { created: string; creators: string[]; licenseListVersion: string };
  dataLicense: "CC0-1.0";
  documentNamespace: string;
  documentDescribes: string[];
  packages: SpdxPackage[];
  relationships: Relationship[];
}

const NOASSERTION = "NOASSERTION";
const NAMESPACE = `https://spdx.org/spdxdocs/${TOOL_NAME}/`;

/** SPDX ids allow letters, digits, `.` and `-`; other bytes become `C<code>` as apko writes them. */
export function spdxId(text: string): string {
  return text.replaceAll(":", "-").replace(/[^a-zA-Z0-9.-]/g, (c) => `C${c.codePointAt(0)}`);
}

/** Percent-encodes a purl component (RFC 3986 unreserved characters stay). */
function purlEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function header(
  name: string,
  namespaceKey: string,
  epoch: number,
): Omit<SpdxDocument, "documentDescribes" | "packages" | "relationships"> {
  return {
    SPDXID: "SPDXRef-DOCUMENT",
    name,
    spdxVersion: "SPDX-2.3",
    creationInfo: {
      created: rfc3339(epoch),
      creators: [`Tool: ${TOOL_NAME}`, `Organization: ${TOOL_NAME}`],
      licenseListVersion: "3.16",
    },
    dataLicense: "CC0-1.0",
    documentNamespace: `${NAMESPACE}${namespaceKey}`,
  };
}

function supplierOf(os: OsRelease): string {
  return os.name ? `Organization: ${os.name}` : NOASSERTION;
}

/** `Name <mail>` maintainers become SPDX persons; anything else stays as written. */
function originatorOf(maintainer: string, fallback: string): string {
  const m = /^\s*([^<]+?)\s*<([^>]+)>\s*$/.exec(maintainer);
  if (m) return `Person: ${m[1]} (${m[2]})`;
  return maintainer.trim() ? `Organization: ${maintainer.trim()}` : fallback;
}

/** An SPDX license expression as written, or NOASSERTION when it is empty or not one. */
function licenseExpression(license: string): string {
  const text = license.trim();
  if (!text) return NOASSERTION;
  const ok = text
    .replace(/[()]/g, " ")
    .split(/\s+/)
    .filter(Boolean)
    .every((t) => /^(AND|OR|WITH|[A-Za-z0-9][A-Za-z0-9.+-]*)$/.test(t));
  return ok ? text : NOASSERTION;
}

export function apkPurl(osId: string, pkg: SbomPackage, arch: string): string {
  const ns = purlEncode(osId || "unknown");
  return `pkg:apk/${ns}/${purlEncode(pkg.pkginfo.pkgname)}@${purlEncode(pkg.pkginfo.pkgver)}?arch=${purlEncode(arch)}`;
}

function ociPurl(name: string, digest: string, qualifiers: Record<string, string>): string {
  const q = Object.keys(qualifiers)
    .sort()
    .filter((k) => qualifiers[k] !== "")
    .map((k) => `${k}=${purlEncode(qualifiers[k]!)}`)
    .join("&");
  return `pkg:oci/${name}@${purlEncode(digest)}${q ? `?${q}` : ""}`;
}

const purlRef = (locator: string): ExternalRef => ({
  referenceCategory: "PACKAGE-MANAGER",
  referenceLocator: locator,
  referenceType: "purl",
});

export interface ImageSbomInput {
  arch: ApkArch;
  manifestDigest: string;
  /** Bottom first; `packages` says which packages' files a layer holds (empty: the rest). */
  layers: { digest: string; packages: readonly string[] }[];
  os: OsRelease;
  packages: SbomPackage[];
  epoch: number;
}

/** What the SBOM says of a package (an installed one, or one a base image lists). */
export type SbomPackage = Pick<InstalledPackage, "pkginfo" | "checksum" | "datahash">;

function layerPackage(layerDigest: string, ociArch: string, supplier: string): SpdxPackage {
  return {
    SPDXID: `SPDXRef-Package-${spdxId(layerDigest)}`,
    name: layerDigest,
    versionInfo: layerDigest,
    filesAnalyzed: false,
    description: `${TOOL_NAME} operating system layer`,
    downloadLocation: NOASSERTION,
    supplier,
    checksums: [{ algorithm: "SHA256", checksumValue: layerDigest.replace(/^sha256:/, "") }],
    externalRefs: [
      purlRef(
        ociPurl("image", layerDigest, { arch: ociArch, mediaType: MEDIA_TYPES.layerGzip, os: "linux" }),
      ),
    ],
  };
}

export function imageSbom(input: ImageSbomInput): SpdxDocument {
  const { arch, manifestDigest, layers, os, packages, epoch } = input;
  const supplier = supplierOf(os);
  const ociArch = toOciPlatform(arch).architecture;
  const imageId = `SPDXRef-Package-${spdxId(manifestDigest)}`;
  const layerIdOf = (digest: string) => `SPDXRef-Package-${spdxId(digest)}`;
  // A package is in the layer that names it; the OS and unnamed packages are in the top layer.
  const topId = layerIdOf(layers[layers.length - 1]!.digest);
  const layerOfPackage = new Map<string, string>();
  for (const l of layers) for (const name of l.packages) layerOfPackage.set(name, layerIdOf(l.digest));
  const osId = `SPDXRef-OperatingSystem-${spdxId(os.id || "unknown")}`;
  const pkgs: SpdxPackage[] = [
    {
      SPDXID: imageId,
      name: manifestDigest,
      versionInfo: manifestDigest,
      filesAnalyzed: false,
      description: `${TOOL_NAME} container image`,
      downloadLocation: NOASSERTION,
      supplier,
      primaryPackagePurpose: "CONTAINER",
      checksums: [{ algorithm: "SHA256", checksumValue: manifestDigest.replace(/^sha256:/, "") }],
      externalRefs: [
        purlRef(
          ociPurl("image", manifestDigest, { arch: ociArch, mediaType: MEDIA_TYPES.manifest, os: "linux" }),
        ),
      ],
    },
    ...layers.map((l) => layerPackage(l.digest, ociArch, supplier)),
    {
      SPDXID: osId,
      name: os.id || "unknown",
      ...(os.versionId ? { versionInfo: os.versionId } : {}),
      filesAnalyzed: false,
      description: "Operating System",
      downloadLocation: NOASSERTION,
      supplier,
      primaryPackagePurpose: "OPERATING_SYSTEM",
    },
  ];
  const rels: Relationship[] = [
    { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: imageId },
    ...layers.map(
      (l): Relationship => ({
        spdxElementId: imageId,
        relationshipType: "CONTAINS",
        relatedSpdxElement: layerIdOf(l.digest),
      }),
    ),
    { spdxElementId: topId, relationshipType: "CONTAINS", relatedSpdxElement: osId },
  ];
  const seen = new Set<string>();
  for (const p of packages) {
    const i = p.pkginfo;
    const id = `SPDXRef-Package-${spdxId(`${i.pkgname}-${i.pkgver}`)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const checksums: Checksum[] = [];
    const control = q1Decode(p.checksum);
    if (control) checksums.push({ algorithm: "SHA1", checksumValue: control.toString("hex") });
    if (p.datahash) checksums.push({ algorithm: "SHA256", checksumValue: p.datahash });
    pkgs.push({
      SPDXID: id,
      name: i.pkgname,
      versionInfo: i.pkgver,
      filesAnalyzed: false,
      licenseConcluded: NOASSERTION,
      licenseDeclared: licenseExpression(i.licenses.join(" AND ")),
      ...(i.pkgdesc ? { description: i.pkgdesc } : {}),
      downloadLocation: i.url || NOASSERTION,
      originator: originatorOf(i.maintainer, supplier),
      supplier,
      ...(i.origin && i.origin !== i.pkgname ? { sourceInfo: `built from origin package ${i.origin}` } : {}),
      checksums,
      externalRefs: [purlRef(apkPurl(os.id, p, i.arch))],
    });
    rels.push({
      spdxElementId: layerOfPackage.get(i.pkgname) ?? topId,
      relationshipType: "CONTAINS",
      relatedSpdxElement: id,
    });
  }
  return {
    ...header(`sbom-${manifestDigest}`, manifestDigest.replace(/^sha256:/, ""), epoch),
    documentDescribes: [imageId],
    packages: pkgs,
    relationships: rels,
  };
}

export function indexSbom(
  indexDigest: string,
  images: { arch: ApkArch; manifestDigest: string }[],
  os: OsRelease,
  epoch: number,
): SpdxDocument {
  const supplier = supplierOf(os);
  const indexId = `SPDXRef-Package-${spdxId(indexDigest)}`;
  const pkgs: SpdxPackage[] = [
    {
      SPDXID: indexId,
      name: indexDigest,
      versionInfo: indexDigest,
      filesAnalyzed: false,
      description: "Multi-arch image index",
      downloadLocation: NOASSERTION,
      supplier,
      sourceInfo: `Generated at image build time by ${TOOL_NAME}`,
      primaryPackagePurpose: "CONTAINER",
      checksums: [{ algorithm: "SHA256", checksumValue: indexDigest.replace(/^sha256:/, "") }],
      externalRefs: [purlRef(ociPurl("index", indexDigest, { mediaType: MEDIA_TYPES.index }))],
    },
  ];
  const rels: Relationship[] = [
    { spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: indexId },
  ];
  for (const img of images) {
    const id = `SPDXRef-Package-${spdxId(img.manifestDigest)}`;
    pkgs.push({
      SPDXID: id,
      name: img.manifestDigest,
      versionInfo: img.manifestDigest,
      filesAnalyzed: false,
      downloadLocation: NOASSERTION,
      supplier,
      primaryPackagePurpose: "CONTAINER",
      checksums: [{ algorithm: "SHA256", checksumValue: img.manifestDigest.replace(/^sha256:/, "") }],
      externalRefs: [
        purlRef(
          ociPurl("image", img.manifestDigest, {
            arch: toOciPlatform(img.arch).architecture,
            mediaType: MEDIA_TYPES.manifest,
            os: "linux",
          }),
        ),
      ],
    });
    rels.push({ spdxElementId: indexId, relationshipType: "VARIANT_OF", relatedSpdxElement: id });
  }
  return {
    ...header(`sbom-${indexDigest}`, indexDigest.replace(/^sha256:/, ""), epoch),
    documentDescribes: [indexId],
    packages: pkgs,
    relationships: rels,
  };
}

/** JSON as Go's encoder writes it (2-space indent, `<>&` escaped, trailing newline). */
export function sbomBytes(doc: SpdxDocument): Buffer {
  const text = JSON.stringify(doc, null, 2).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return Buffer.from(`${text}\n`, "utf8");
}
