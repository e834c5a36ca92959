import * as path from "node:path";
import { RepositoryClient } from "../../provider/repository/client";
import { parseRepositorySource } from "../../provider/repository/source";
import type { PinnedPackage } from "../../provider/resolve/apko-lock";
import { type ResolveOutput, resolvePackages } from "../../provider/resolve/resolve";
import { tempDir } from "../helpers/tmp";
import { type PkgSpec, type TestKey, testKey, writeRepo } from "./test-repo";

/** A repository to build: packages per arch, optionally pinned with `@tag`. */
export interface RepoSpec {
  tag?: string;
  archs: Record<string, PkgSpec[]>;
}

/**
 * Builds signed repositories in a temp dir with the project's own index writer, then resolves
 * through the real path (index loading, signature check, cache, solver, lock).
 */
export class Harness {
  readonly root = tempDir("pd-resolve-");
  private key: TestKey | undefined;
  private repos: { source: string; spec: RepoSpec }[] = [];

  async repo(spec: RepoSpec): Promise<this> {
    this.key ??= await testKey();
    const dir = path.join(this.root, `repo${this.repos.length}`);
    for (const [arch, pkgs] of Object.entries(spec.archs)) await writeRepo(dir, arch, pkgs, this.key);
    this.repos.push({ source: spec.tag ? `@${spec.tag} ${dir}` : dir, spec });
    return this;
  }

  async resolve(
    packages: string[],
    archs = ["x86_64"],
    lock?: Map<string, PinnedPackage[]>,
  ): Promise<ResolveOutput> {
    const client = new RepositoryClient({ cacheDir: path.join(this.root, "cache") });
    try {
      return await resolvePackages(
        {
          repositories: this.repos.map((r) => parseRepositorySource(r.source)),
          keys: [{ kind: "local", location: this.key!.publicKeyFile }],
          packages,
          archs,
          ...(lock ? { lock } : {}),
        },
        { client },
      );
    } finally {
      await client.flush(); // background cache writes finish before the temp dir goes
    }
  }

  /** `name-version` list of one arch, in install order. */
  async labels(packages: string[], arch = "x86_64"): Promise<string[]> {
    const out = await this.resolve(packages, [arch]);
    return out.lock.archs[arch]!.map((p) => `${p.name}-${p.version}`);
  }
}

/** A harness with one untagged repository for x86_64. */
export async function oneRepo(pkgs: PkgSpec[]): Promise<Harness> {
  return new Harness().repo({ archs: { x86_64: pkgs } });
}

export function sorted(xs: string[]): string[] {
  return [...xs].sort();
}
