import type { RepositoryClient } from "../repository/client";
import type { LockedPackage } from "../resolve/lock";
import { resolvePackages } from "../resolve/resolve";
import type { ApkoConfig } from "./config/types";

const key = (p: Pick<LockedPackage, "name" | "version">) => `${p.name}=${p.version}`;

/**
 * The order apko installs an arch's locked packages in. `apko build` locks the config first (the
 * order `apko lock` shows), then resolves again from the locked world, every package pinned
 * `name=version` and sorted; so a package chosen for a virtual name (or a dependency) is installed
 * where its own name sorts, which changes the installed database's order. We do the same second
 * resolution; should it not give back exactly the locked set, the lock's own order stands.
 */
export async function apkoInstallOrder(
  config: ApkoConfig,
  arch: string,
  locked: LockedPackage[],
  client: RepositoryClient,
): Promise<LockedPackage[]> {
  const world = locked.map((p) => `${key(p)}${p.tag ? `@${p.tag}` : ""}`).sort();
  let again: LockedPackage[] | undefined;
  try {
    const resolved = await resolvePackages(
      {
        repositories: [...config.contents.repositories, ...config.contents.buildRepositories],
        packages: world,
        archs: [arch],
      },
      { client },
    );
    again = resolved.lock.archs[arch];
  } catch {
    return locked; // the lock's own order is a valid install order too
  }
  const byKey = new Map(locked.map((p) => [key(p), p]));
  if (!again || again.length !== locked.length || !again.every((p) => byKey.has(key(p)))) return locked;
  return again.map((p) => byKey.get(key(p))!);
}
