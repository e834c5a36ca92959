import * as path from "node:path";
import { stringify } from "yaml";
import { loadApkoConfig, toOciName } from "../../image/config";
import type { ApkoConfig } from "../../image/config/types";
import { applyOverrides } from "../../image/pipeline";
import { DistrolessError } from "../../util/errors";
import type { CliContext } from "../command";
import { overrideArgs } from "./apko-args";
import { type GoFlagValues, goList, goString } from "./go-flags";
import { runOurVerbJson } from "./run-verb";

/** apko show-packages' named formats (its --format also takes a template). */
const FORMATS: Record<string, string> = {
  "name-version": "{{ .Name }} {{ .Version }}",
  "name-version-source": "{{ .Name }} {{ .Version }} {{ .Source }}",
  "name=version": "{{ .Name }}={{ .Version }}",
  "name=version-source": "{{ .Name }}={{ .Version }} {{ .Source }}",
  "name-(version)": "{{ .Name }} ({{ .Version }})",
  "name-(version)-source": "{{ .Name }} ({{ .Version }}) {{ .Source }}",
  packagelock: "- {{ .Name }}={{ .Version }}",
  "packagelock-source": "- {{ .Name }}={{ .Version }} # {{ .Source }}",
};

/**
 * A Go template limited to the three fields apko offers; anything else in `{{ }}` is refused rather
 * than printed wrong.
 */
export function renderPackageLine(template: string, p: { name: string; version: string; source: string }) {
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_, field: string) => {
    if (field === ".Name") return p.name;
    if (field === ".Version") return p.version;
    if (field === ".Source") return p.source;
    throw new DistrolessError(
      "E_CONFIG",
      `--format: only {{ .Name }}, {{ .Version }} and {{ .Source }} are supported, not {{ ${field} }}`,
      { subject: "--format" },
    );
  });
}

interface LockedPackage {
  name: string;
  version: string;
  repository: string;
}

export async function showPackages(ctx: CliContext, values: GoFlagValues, config: string): Promise<number> {
  const format = goString(values, "format") ?? "name-version";
  const template = FORMATS[format] ?? format;
  const lock = await runOurVerbJson<Record<string, LockedPackage[]>>(ctx, "lock", [
    config,
    ...overrideArgs(values),
  ]);
  const archs = Object.keys(lock);
  for (const arch of archs) {
    // apko logs the arch (not on stdout) when it lists several.
    if (archs.length !== 1) ctx.stderr(`packages for ${arch}\n`);
    for (const p of lock[arch]!) {
      const source = `${p.repository.replace(/\/+$/, "")}/${arch}/${p.name}-${p.version}.apk`;
      ctx.stdout(`${renderPackageLine(template, { ...p, source })}\n`);
    }
  }
  return 0;
}

export async function showConfig(ctx: CliContext, values: GoFlagValues, config: string): Promise<number> {
  const loaded = applyOverrides(await loadApkoConfig(path.resolve(ctx.cwd, config)), {
    repositories: goList(values, "repository-append"),
    buildRepositories: goList(values, "build-repository-append"),
    keyring: goList(values, "keyring-append"),
    baseDir: ctx.cwd,
  });
  ctx.stdout(stringify(apkoYaml(loaded)));
  return 0;
}

/** The config in apko's YAML spelling (includes merged, defaults filled in, appends applied). */
export function apkoYaml(c: ApkoConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {
    contents: {
      repositories: c.contents.repositories.map((r) => r.raw),
      ...(c.contents.buildRepositories.length
        ? { build_repositories: c.contents.buildRepositories.map((r) => r.raw) }
        : {}),
      ...(c.contents.runtimeRepositories.length
        ? { runtime_repositories: c.contents.runtimeRepositories }
        : {}),
      keyring: c.contents.keyring.map((k) => k.raw),
      packages: c.contents.packages,
    },
  };
  if (c.entrypoint.type || c.entrypoint.command.length || Object.keys(c.entrypoint.services).length) {
    out.entrypoint = {
      ...(c.entrypoint.type ? { type: c.entrypoint.type } : {}),
      ...(c.entrypoint.command.length ? { command: c.entrypoint.command.join(" ") } : {}),
      ...(Object.keys(c.entrypoint.services).length ? { services: c.entrypoint.services } : {}),
    };
  }
  if (c.cmd.length) out.cmd = c.cmd.join(" ");
  if (c.stopSignal) out["stop-signal"] = c.stopSignal;
  if (c.workDir) out["work-dir"] = c.workDir;
  out.accounts = {
    ...(c.accounts.runAs !== undefined ? { "run-as": c.accounts.runAs } : {}),
    users: c.accounts.users,
    groups: c.accounts.groups,
  };
  out.archs = c.archs.map(toOciName);
  out.environment = c.environment;
  if (c.paths.length) out.paths = c.paths;
  if (Object.keys(c.annotations).length) out.annotations = c.annotations;
  if (c.volumes.length) out.volumes = c.volumes;
  if (c.vcs) out["vcs-url"] = c.vcs.commit ? `${c.vcs.url}@${c.vcs.commit}` : c.vcs.url;
  return out;
}
