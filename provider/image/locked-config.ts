import { type ApkArch, toOciName } from "./config/arch";
import type { ApkoConfig } from "./config/types";

/** Removes `user:password@` from a URL-ish repository entry, so credentials never enter an image. */
export function redactRepository(raw: string): string {
  return raw.replace(/^(\s*(?:@\S+\s+)?[a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@\s]*@/, "$1");
}

/** The lines of `etc/apk/repositories`: the configured and runtime-only repositories, as written. */
export function repositoryLines(config: ApkoConfig): string[] {
  return [...config.contents.repositories.map((r) => r.raw), ...config.contents.runtimeRepositories].map(
    (r) => redactRepository(r.trim()),
  );
}

/** Go's sort.Strings order (bytewise); for the ASCII of repositories and `name=version` it is <. */
const goSorted = (values: Iterable<string>) =>
  [...new Set(values)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
const trimSlashes = (repo: string) => repo.replace(/\/+$/, "");

/** Leaves out what Go's `omitempty` leaves out: undefined, "", 0, false, empty lists and maps. */
function omitEmpty(fields: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of fields) {
    if (v === undefined || v === "" || v === 0 || v === false) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out;
}

/** An argv back in the one-string form apko.yaml gives it (quoted only where a word needs it). */
function commandLine(argv: string[]): string {
  return argv
    .map((w) => (w !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'"'"'`)}'`))
    .join(" ");
}

/**
 * `etc/apko.json`: the configuration the image was built from, locked to one arch and to the
 * installed `name=version`s, byte for byte as apko writes it (its ImageConfiguration through Go's
 * encoding/json: struct field order, `omitempty`, sorted map keys, repositories and keyring sorted
 * and deduplicated, HTML characters escaped, a trailing newline); test/conformance compares it with
 * apko's. One deliberate difference: credentials in repository URLs are removed.
 */
export function lockedConfigJson(
  config: ApkoConfig,
  arch: ApkArch,
  locked: { name: string; version: string }[],
  runAs?: string,
): string {
  const c = config.contents;
  const w = config.written;
  const contents = omitEmpty([
    ["build_repositories", goSorted(c.buildRepositories.map((r) => redactRepository(trimSlashes(r.raw))))],
    ["runtime_repositories", c.runtimeRepositories.map((r) => redactRepository(trimSlashes(r)))],
    ["repositories", goSorted(c.repositories.map((r) => redactRepository(trimSlashes(r.raw))))],
    ["keyring", goSorted(c.keyring.map((k) => redactRepository(k.raw)))],
    ["runtime_keyring", c.runtimeKeyring.map((k) => ({ name: k.name, content: k.content }))],
    ["packages", goSorted(locked.map((p) => `${p.name}=${p.version}`))],
    // apko's BaseImageDescriptor, both paths as the config wrote them.
    ["baseimage", c.baseImage ? omitEmpty(Object.entries(c.baseImage.written)) : undefined],
  ]);
  const e = config.entrypoint;
  const entrypoint = omitEmpty([
    ["type", e.type],
    ["command", e.type || w?.shellFragment !== undefined ? undefined : commandLine(e.command)],
    ["shell-fragment", w?.shellFragment],
    ["services", e.services],
  ]);
  // gid is a pointer in apko: present (even 0) whenever the config gave it.
  const users = w
    ? w.users.map((u) => ({
        username: u.username,
        uid: u.uid,
        ...(u.gid !== undefined ? { gid: u.gid } : {}),
        ...omitEmpty([
          ["shell", u.shell],
          ["homedir", u.homedir],
        ]),
      }))
    : config.accounts.users.map((u) => ({ ...u }));
  const accounts = omitEmpty([
    ["run-as", runAs ?? config.accounts.runAs],
    ["users", users],
    [
      "groups",
      config.accounts.groups.map((g) =>
        omitEmpty([
          ["groupname", g.groupname],
          ["gid", g.gid],
          ["members", g.members],
        ]),
      ),
    ],
  ]);
  const paths = config.paths.map((p) => {
    const m: Record<string, unknown> = omitEmpty([
      ["path", p.path],
      ["type", p.type],
    ]);
    // uid/gid are pointers in apko: present (even 0) whenever the config gave them.
    if (p.uid !== undefined) m.uid = p.uid;
    if (p.gid !== undefined) m.gid = p.gid;
    return {
      ...m,
      ...omitEmpty([
        ["permissions", p.permissions],
        ["source", p.source],
        ["recursive", p.recursive],
      ]),
    };
  });
  const layering = w?.layering ?? config.layering;
  const certificates =
    config.certificates.additional.length || config.certificates.providers.length
      ? omitEmpty([
          [
            "additional",
            config.certificates.additional.map((a) =>
              omitEmpty([
                ["name", a.name],
                ["content", a.content],
              ]),
            ),
          ],
          ["providers", config.certificates.providers],
        ])
      : undefined;
  const doc = {
    contents,
    entrypoint,
    ...omitEmpty([
      ["cmd", config.cmd.length ? commandLine(config.cmd) : undefined],
      ["stop-signal", config.stopSignal],
      ["work-dir", config.workDir],
    ]),
    accounts,
    ...omitEmpty([
      ["archs", [toOciName(arch)]],
      ["environment", w ? w.environment : config.environment],
      ["paths", paths],
      ["annotations", config.annotations],
      ["volumes", config.volumes],
    ]),
    // No vcs-url: apko's per-arch configs drop it (it reaches the index annotations only).
    ...(layering
      ? {
          layering: omitEmpty([
            ["strategy", layering.strategy],
            ["budget", layering.budget],
          ]),
        }
      : {}),
    ...(certificates ? { certificates } : {}),
  };
  // Go's encoder escapes <, > and & (and U+2028/9) inside strings; they occur nowhere else.
  const escaped = JSON.stringify(doc).replace(
    /[<>&\u2028\u2029]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return `${escaped}\n`;
}
