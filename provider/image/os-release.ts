/** The fields of `etc/os-release` the SBOM uses (NAME, ID, VERSION_ID, PRETTY_NAME). */
export interface OsRelease {
  id: string;
  name: string;
  versionId: string;
  prettyName: string;
}

/** Parses os-release(5): `KEY=value` lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): OsRelease {
  const fields = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\(["\\$`])/g, "$1");
    }
    fields.set(line.slice(0, eq), value);
  }
  return {
    id: fields.get("ID") ?? "",
    name: fields.get("NAME") ?? "",
    versionId: fields.get("VERSION_ID") ?? "",
    prettyName: fields.get("PRETTY_NAME") ?? "",
  };
}
