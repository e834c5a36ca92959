/**
 * Raw (validated) apko config -> normalized ApkoConfig: defaults filled the way apko fills them,
 * repositories and keys classified and resolved, the entrypoint turned into argv.
 */
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { SourceInfo } from "../../config";
import { ALL_ARCHS, sortArchs } from "./arch";
import type { RawApkoConfig } from "./schema";
import {
  type ApkoConfig,
  type ApkoGroup,
  type ApkoUser,
  DEFAULT_PATH,
  DEFAULT_SSL_CERT_FILE,
  type KeyRef,
  type PathMutation,
  type RepositoryRef,
} from "./types";

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;

/** Splits `@tag location` and classifies the location; relative local paths resolve against baseDir. */
export function parseRepository(
  raw: string,
  baseDir: string,
  where: string,
  source: SourceInfo,
): RepositoryRef {
  let rest = raw.trim();
  let tag: string | undefined;
  if (rest.startsWith("@")) {
    const m = /^@(\S+)\s+(\S.*)$/.exec(rest);
    if (!m)
      throw source.error(where, `${JSON.stringify(raw)}: a pinned repository is written "@tag location"`);
    tag = m[1]!;
    rest = m[2]!.trim();
  }
  const { kind, location } = classify(rest, baseDir, where, source);
  const ref: RepositoryRef = { raw, kind, location };
  if (tag !== undefined) ref.tag = tag;
  return ref;
}

export function parseKey(raw: string, baseDir: string, where: string, source: SourceInfo): KeyRef {
  const { kind, location } = classify(raw.trim(), baseDir, where, source);
  const name = kind === "url" ? path.posix.basename(new URL(location).pathname) : path.basename(location);
  if (name === "" || name === "/")
    throw source.error(where, `${JSON.stringify(raw)} does not name a key file`);
  return { raw, kind, location, name };
}

function classify(
  text: string,
  baseDir: string,
  where: string,
  source: SourceInfo,
): { kind: "url" | "local"; location: string } {
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: "local", location: path.resolve(baseDir, text) };
  if (scheme === "file") {
    try {
      return { kind: "local", location: fileURLToPath(text) };
    } catch (err) {
      throw source.error(where, `${JSON.stringify(text)}: ${(err as Error).message}`);
    }
  }
  if (scheme !== "http" && scheme !== "https") {
    throw source.error(where, `${JSON.stringify(text)}: only http(s) URLs and local paths are supported`);
  }
  try {
    const url = new URL(text);
    return { kind: "url", location: url.toString().replace(/\/+$/, "") };
  } catch {
    throw source.error(where, `${JSON.stringify(text)} is not a valid URL`);
  }
}

function sortedRecord(entries: Iterable<[string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = v;
  return out;
}

/** apko's environment defaults, then sorted (apko emits Env sorted). */
export function withDefaultEnvironment(env: Record<string, string> | undefined): Record<string, string> {
  const merged = new Map(Object.entries(env ?? {}));
  if (!merged.has("PATH")) merged.set("PATH", DEFAULT_PATH);
  if (!merged.has("SSL_CERT_FILE")) merged.set("SSL_CERT_FILE", DEFAULT_SSL_CERT_FILE);
  return sortedRecord(merged);
}

export function normalizeUsers(
  users: NonNullable<NonNullable<RawApkoConfig["accounts"]>["users"]>,
): ApkoUser[] {
  return users.map((u) => ({
    username: u.username,
    uid: u.uid,
    gid: u.gid ?? u.uid,
    shell: u.shell ?? "/bin/sh",
    homedir: u.homedir ?? `/home/${u.username}`,
  }));
}

export function normalizeGroups(
  groups: NonNullable<NonNullable<RawApkoConfig["accounts"]>["groups"]>,
): ApkoGroup[] {
  return groups.map((g) => ({ groupname: g.groupname, gid: g.gid, members: g.members ?? [] }));
}

function checkUnique(values: string[], what: string, where: string, source: SourceInfo): void {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw source.error(where, `${what} ${JSON.stringify(v)} is defined twice`);
    seen.add(v);
  }
}

export function normalizeApkoConfig(raw: RawApkoConfig, source: SourceInfo, baseDir: string): ApkoConfig {
  const c = raw.contents ?? {};
  const repos = (list: string[] | undefined, key: string) =>
    (list ?? []).map((r, i) => parseRepository(r, baseDir, `contents.${key}[${i}]`, source));
  const packages = [...(c.packages ?? [])];

  const e = raw.entrypoint ?? {};
  let command: string[] = e.command ?? [];
  if (e.shellFragment !== undefined) command = ["/bin/sh", "-c", e.shellFragment];
  if (e.type === "service-bundle") {
    // apko runs services under s6 and adds the s6 package for it.
    command = ["/bin/s6-svscan", "/sv"];
    if (!packages.includes("s6")) packages.push("s6");
  }

  const users = normalizeUsers(raw.accounts?.users ?? []);
  const groups = normalizeGroups(raw.accounts?.groups ?? []);
  checkUnique(
    users.map((u) => u.username),
    "user",
    "accounts.users",
    source,
  );
  checkUnique(
    groups.map((g) => g.groupname),
    "group",
    "accounts.groups",
    source,
  );

  const paths: PathMutation[] = (raw.paths ?? []).map((p) => {
    const m: PathMutation = { path: p.path, type: p.type, recursive: p.recursive ?? false };
    if (p.uid !== undefined) m.uid = p.uid;
    if (p.gid !== undefined) m.gid = p.gid;
    if (p.permissions !== undefined) m.permissions = p.permissions;
    if (p.source !== undefined) m.source = p.source;
    return m;
  });

  const config: ApkoConfig = {
    source: source.file,
    contents: {
      repositories: repos(c.repositories, "repositories"),
      buildRepositories: repos(c.buildRepositories, "build_repositories"),
      runtimeRepositories: [...(c.runtimeRepositories ?? [])],
      keyring: (c.keyring ?? []).map((k, i) => parseKey(k, baseDir, `contents.keyring[${i}]`, source)),
      runtimeKeyring: (c.runtimeKeyring ?? []).map((k) => ({ name: k.name, content: k.content })),
      packages,
    },
    entrypoint: { command, services: sortedRecord(Object.entries(e.services ?? {})) },
    cmd: raw.cmd ?? [],
    accounts: { users, groups },
    archs: sortArchs(raw.archs ?? ALL_ARCHS),
    archsExplicit: raw.archs !== undefined,
    environment: withDefaultEnvironment(raw.environment),
    paths,
    annotations: sortedRecord(Object.entries(raw.annotations ?? {})),
    volumes: [...(raw.volumes ?? [])],
    certificates: {
      additional: (raw.certificates?.additional ?? []).map((a) => ({ name: a.name, content: a.content })),
      providers: [...(raw.certificates?.providers ?? [])],
    },
  };
  config.written = {
    users: (raw.accounts?.users ?? []).map((u) => ({
      username: u.username,
      uid: u.uid,
      ...(u.gid !== undefined ? { gid: u.gid } : {}),
      ...(u.shell !== undefined ? { shell: u.shell } : {}),
      // apko's validation fills the home directory in (not the shell), before etc/apko.json.
      homedir: u.homedir ?? `/home/${u.username}`,
    })),
  };
  if (raw.environment !== undefined)
    config.written.environment = sortedRecord(Object.entries(raw.environment));
  if (e.shellFragment !== undefined) config.written.shellFragment = e.shellFragment;
  if (raw.layering !== undefined) config.written.layering = { ...raw.layering };
  if (e.type !== undefined) config.entrypoint.type = e.type;
  if (raw.stopSignal !== undefined) config.stopSignal = raw.stopSignal;
  if (raw.workDir !== undefined) config.workDir = raw.workDir;
  if (raw.accounts?.runAs !== undefined) config.accounts.runAs = raw.accounts.runAs;
  if (raw.vcsUrl !== undefined) config.vcs = splitVcsUrl(raw.vcsUrl);
  if (raw.layering?.strategy === "origin")
    config.layering = { strategy: "origin", budget: raw.layering.budget ?? 0 };
  if (c.baseimage !== undefined) {
    checkBaseImageOnly(raw, source);
    config.contents.baseImage = {
      image: localPath(c.baseimage.image, baseDir, "contents.baseimage.image", source),
      apkindex: localPath(c.baseimage.apkindex, baseDir, "contents.baseimage.apkindex", source),
      written: { image: c.baseimage.image, apkindex: c.baseimage.apkindex },
    };
  }
  return config;
}

/** A local path (relative to the config's directory, or a file: URL); URLs are refused. */
function localPath(text: string, baseDir: string, where: string, source: SourceInfo): string {
  const { kind, location } = classify(text.trim(), baseDir, where, source);
  if (kind !== "local")
    throw source.error(where, `${JSON.stringify(text)}: only a local directory is supported`);
  return location;
}

/**
 * apko builds on a base image with nothing but contents, archs and includes: the image settings
 * come from the base, accounts would overwrite the base's, and layering is not defined over a base.
 * The same fields refused, with the line, before anything is read.
 */
function checkBaseImageOnly(raw: RawApkoConfig, source: SourceInfo): void {
  const given = (v: unknown) =>
    v !== undefined &&
    !(typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);
  const refused: [string, unknown][] = [
    ["entrypoint", raw.entrypoint],
    ["cmd", raw.cmd],
    ["stop-signal", raw.stopSignal],
    ["work-dir", raw.workDir],
    ["accounts", raw.accounts],
    ["environment", raw.environment && Object.keys(raw.environment).length > 0 ? raw.environment : undefined],
    ["paths", raw.paths && raw.paths.length > 0 ? raw.paths : undefined],
    ["annotations", raw.annotations && Object.keys(raw.annotations).length > 0 ? raw.annotations : undefined],
  ];
  for (const [key, value] of refused) {
    if (given(value))
      throw source.error(
        key,
        `${key} cannot be set with contents.baseimage: on a base image only contents, archs and include are supported (as in apko)`,
      );
  }
  if (raw.layering?.strategy === "origin")
    throw source.error("layering", "layering is not supported with contents.baseimage (apko refuses it too)");
}

/** `https://github.com/org/repo@<commit>` -> url + commit; the `@` of `git@host:` URLs is left alone. */
export function splitVcsUrl(value: string): { url: string; commit?: string } {
  const at = value.lastIndexOf("@");
  if (at > 0 && /^[0-9a-fA-F]{7,64}$/.test(value.slice(at + 1))) {
    return { url: value.slice(0, at), commit: value.slice(at + 1) };
  }
  return { url: value };
}
