import type { ApkArch } from "./config/arch";
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

/**
 * `etc/apko.json`: the configuration the image was built from, locked (packages pinned to the
 * installed `name=version`, one arch), as compact JSON in a fixed key order. Only what the config
 * said as written goes in (no absolute paths of the build machine, no credentials), so the same
 * config and packages give the same bytes anywhere.
 */
export function lockedConfigJson(
  config: ApkoConfig,
  arch: ApkArch,
  locked: { name: string; version: string }[],
): string {
  const c = config.contents;
  const doc: Record<string, unknown> = {
    contents: {
      repositories: c.repositories.map((r) => redactRepository(r.raw)),
      ...(c.runtimeRepositories.length
        ? { runtime_repositories: c.runtimeRepositories.map(redactRepository) }
        : {}),
      keyring: c.keyring.map((k) => redactRepository(k.raw)),
      ...(c.runtimeKeyring.length ? { runtime_keyring: c.runtimeKeyring.map((k) => k.name) } : {}),
      packages: locked.map((p) => `${p.name}=${p.version}`).sort(),
    },
    entrypoint: {
      ...(config.entrypoint.type ? { type: config.entrypoint.type } : {}),
      ...(config.entrypoint.command.length ? { command: config.entrypoint.command } : {}),
      ...(Object.keys(config.entrypoint.services).length ? { services: config.entrypoint.services } : {}),
    },
    ...(config.cmd.length ? { cmd: config.cmd } : {}),
    ...(config.workDir ? { "work-dir": config.workDir } : {}),
    ...(config.stopSignal ? { "stop-signal": config.stopSignal } : {}),
    accounts: {
      ...(config.accounts.runAs ? { "run-as": config.accounts.runAs } : {}),
      users: config.accounts.users,
      groups: config.accounts.groups,
    },
    archs: [arch],
    environment: config.environment,
    ...(config.paths.length ? { paths: config.paths } : {}),
    ...(Object.keys(config.annotations).length ? { annotations: config.annotations } : {}),
    ...(config.volumes.length ? { volumes: config.volumes } : {}),
    // No vcs-url: apko's per-arch configs drop it (it reaches the index annotations only).
    ...(config.layering
      ? {
          layering: {
            strategy: config.layering.strategy,
            ...(config.layering.budget ? { budget: config.layering.budget } : {}),
          },
        }
      : {}),
    ...(config.certificates.additional.length || config.certificates.providers.length
      ? { certificates: config.certificates }
      : {}),
  };
  return `${JSON.stringify(doc)}\n`;
}
