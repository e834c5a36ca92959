/**
 * The package URLs melange 0.59 writes into its SBOMs, encoded as its purl library
 * (packageurl-go v0.1.6) encodes them, so the strings are the same: the apk's own purl and the
 * recipe's `pkg:github` purl.
 */

const HEX = "0123456789ABCDEF";

function percentEncode(text: string, safe: (c: number) => boolean): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out += safe(byte) ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

const isAlnum = (c: number) =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
/** Path segments and subpaths: unreserved, the sub-delimiters but `+`, and `:`. */
const segmentSafe = (c: number) => isAlnum(c) || "-._~!$&'()*,;=:".includes(String.fromCharCode(c));
/** Qualifier keys and values: unreserved and `:`. */
const qualifierSafe = (c: number) => isAlnum(c) || "-._~:".includes(String.fromCharCode(c));

interface Purl {
  type: string;
  namespace: string;
  name: string;
  version: string;
  qualifiers?: [string, string][];
  subpath?: string;
}

function purlString(p: Purl): string {
  let out = `pkg:${p.type}`;
  // Each non-empty namespace segment on its own.
  for (const segment of p.namespace.split("/"))
    if (segment !== "") out += `/${percentEncode(segment, segmentSafe)}`;
  out += `/${percentEncode(p.name, segmentSafe)}`;
  if (p.version !== "") out += `@${percentEncode(p.version, segmentSafe)}`;
  const qualifiers = [...(p.qualifiers ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (qualifiers.length > 0)
    out += `?${qualifiers.map(([k, v]) => `${percentEncode(k, qualifierSafe)}=${percentEncode(v, qualifierSafe)}`).join("&")}`;
  if (p.subpath)
    out += `#${p.subpath
      .split("/")
      .map((s) => percentEncode(s, segmentSafe))
      .join("/")}`;
  return out;
}

/**
 * The apk's purl: `pkg:apk/<namespace>/<name>@<version>?arch=<arch>`, with a `distro=<namespace>`
 * qualifier unless the namespace is melange's default `unknown`. Not normalized (melange does not),
 * so the name keeps its case.
 */
export function apkPurl(namespace: string, name: string, fullVersion: string, arch: string): string {
  const qualifiers: [string, string][] = [];
  if (namespace !== "unknown") qualifiers.push(["distro", namespace]);
  if (arch !== "") qualifiers.push(["arch", arch]);
  return purlString({ type: "apk", namespace, name, version: fullVersion, qualifiers });
}

/**
 * The recipe's purl, `pkg:github/<owner>/<repo>@<commit>#<recipe file>`, from the repository URL
 * the way melange derives it: `https://github.com/` cut off, then split at the first `/`. melange's
 * default URL when none is given, `https://unknown/unknown/unknown`, yields the odd
 * `pkg:github/https:/%2Funknown%2Funknown%2Funknown@...`; we write the same. Normalized as
 * melange normalizes it: namespace and name lower-cased, slashes trimmed from namespace and subpath.
 */
export function recipePurl(repositoryUrl: string, commit: string, recipeFile: string): string {
  const rest = repositoryUrl.startsWith("https://github.com/")
    ? repositoryUrl.slice("https://github.com/".length)
    : repositoryUrl;
  const slash = rest.indexOf("/");
  const namespace = rest.slice(0, slash).replace(/^\/+|\/+$/g, "");
  return purlString({
    type: "github",
    namespace: namespace.toLowerCase(),
    name: rest.slice(slash + 1).toLowerCase(),
    version: commit,
    subpath: recipeFile.replace(/^\/+|\/+$/g, ""),
  });
}
