import type { IndexEntry } from "../apk/index-text";
import { DistrolessError } from "../util/errors";
import { type Constraint, type Provide, parseConstraint, parseProvide } from "./constraint";

/** A repository as the solver sees it: where packages come from and whether it is pinned. */
export interface RepoInfo {
  /** URL or directory (credentials removed); with `tag`, the lock's repository. */
  location: string;
  /** `@tag` of a pinned repository: only constraints naming the tag (and their dependencies) use it. */
  tag?: string;
  /** Position in the configuration: lower wins the last tie. */
  order: number;
}

/** One package record of one repository, with its relations parsed on first use. */
export class Candidate {
  readonly name: string;
  readonly version: string;
  /** `name-version`, as apk names packages in messages. */
  readonly label: string;
  readonly provides: Provide[];
  private depCache: Constraint[] | undefined;
  private conflictCache: Constraint[] | undefined;
  private installIfCache: Constraint[] | undefined;
  private selfConflictCache: string | undefined;

  constructor(
    readonly id: number,
    readonly entry: IndexEntry,
    readonly repo: RepoInfo,
  ) {
    this.name = entry.name;
    this.version = entry.version;
    this.label = `${entry.name}-${entry.version}`;
    this.provides = entry.provides.map(parseProvide);
  }

  /**
   * Why the package can never be installed on its own terms, if so: it provides one name at two
   * versions (apk-tools refuses it as conflicting with itself).
   */
  get selfConflict(): string | undefined {
    if (this.selfConflictCache === undefined) {
      this.selfConflictCache = "";
      const seen = new Map<string, string | undefined>();
      for (const p of this.provides) {
        if (seen.has(p.name) && seen.get(p.name) !== p.version) {
          this.selfConflictCache = `it provides ${p.name} at two versions (${seen.get(p.name) ?? "unversioned"} and ${p.version ?? "unversioned"}), so it conflicts with itself (apk-tools refuses it too)`;
          break;
        }
        seen.set(p.name, p.version);
      }
    }
    return this.selfConflictCache || undefined;
  }

  get origin(): string {
    return this.entry.origin;
  }

  get priority(): number {
    return this.entry.providerPriority ?? 0;
  }

  /** `D:` entries that require something (conflicts excluded). */
  depends(): Constraint[] {
    if (!this.depCache) this.splitDepends();
    return this.depCache!;
  }

  /** `D:` entries of the form `!name`. */
  conflicts(): Constraint[] {
    if (!this.conflictCache) this.splitDepends();
    return this.conflictCache!;
  }

  installIf(): Constraint[] {
    this.installIfCache ??= this.entry.installIf.map((t) => this.parse(t, "install_if"));
    return this.installIfCache;
  }

  private splitDepends(): void {
    const deps: Constraint[] = [];
    const conflicts: Constraint[] = [];
    for (const text of this.entry.depends) {
      const c = this.parse(text, "depends");
      (c.conflict ? conflicts : deps).push(c);
    }
    this.depCache = deps;
    this.conflictCache = conflicts;
  }

  private parse(text: string, field: string): Constraint {
    try {
      return parseConstraint(text);
    } catch (err) {
      throw new DistrolessError("E_FORMAT", `${this.label} has an invalid ${field} entry "${text}"`, {
        subject: this.repo.location,
        cause: err,
      });
    }
  }
}

/** A candidate under one of its names: its own version, or the version of its provide. */
export interface ProviderRef {
  cand: Candidate;
  /** Undefined for an unversioned provide (a virtual). */
  version: string | undefined;
  /** True when the name is the package's own name. */
  own: boolean;
}

const NONE: readonly ProviderRef[] = Object.freeze([]);
const NO_CANDIDATES: readonly Candidate[] = Object.freeze([]);

/**
 * Every package of the repositories configured for one arch, indexed by name, by provided name and
 * by install_if trigger. Built once per set of indexes and reused by every resolve over them.
 */
export class PackageIndex {
  readonly candidates: Candidate[] = [];
  private readonly byName = new Map<string, ProviderRef[]>();
  private readonly byTrigger = new Map<string, Candidate[]>();
  private readonly versions = new Map<string, Set<string>>();

  constructor(
    readonly arch: string,
    sources: { repo: RepoInfo; entries: IndexEntry[] }[],
  ) {
    for (const { repo, entries } of sources) {
      for (const entry of entries) {
        const cand = new Candidate(this.candidates.length, entry, repo);
        this.candidates.push(cand);
        this.add(cand.name, { cand, version: cand.version, own: true });
        const versions = this.versions.get(cand.name);
        if (versions) versions.add(cand.version);
        else this.versions.set(cand.name, new Set([cand.version]));
        for (const p of cand.provides) {
          if (p.name !== cand.name) this.add(p.name, { cand, version: p.version, own: false });
        }
        for (const trigger of entry.installIf) {
          const name = triggerName(trigger);
          const list = this.byTrigger.get(name);
          if (list) list.push(cand);
          else this.byTrigger.set(name, [cand]);
        }
      }
    }
  }

  private add(name: string, ref: ProviderRef): void {
    const list = this.byName.get(name);
    if (list) list.push(ref);
    else this.byName.set(name, [ref]);
  }

  /** Packages named `name` or providing it, in repository then index order. */
  providers(name: string): readonly ProviderRef[] {
    return this.byName.get(name) ?? NONE;
  }

  /** Packages with an install_if condition on `name`. */
  triggeredBy(name: string): readonly Candidate[] {
    return this.byTrigger.get(name) ?? NO_CANDIDATES;
  }

  /** Versions of the packages named `name` (own names only). */
  versionsOf(name: string): ReadonlySet<string> | undefined {
    return this.versions.get(name);
  }

  /** Every name a constraint can refer to (package and provided names), for suggestions. */
  names(): IterableIterator<string> {
    return this.byName.keys();
  }
}

function triggerName(text: string): string {
  const m = /^!?([^<>=~@]+)/.exec(text.trim());
  return m ? m[1]! : text;
}

/*
 * Built indexes by the identity of their entry arrays: the loader shares parsed arrays by content
 * digest, so resolving the same repositories again reuses the maps. Weak keys: nothing leaks.
 */
const built = new WeakMap<IndexEntry[], { key: string; index: PackageIndex }[]>();
const arrayIds = new WeakMap<IndexEntry[], number>();
let nextArrayId = 1;

function arrayId(entries: IndexEntry[]): number {
  const known = arrayIds.get(entries);
  if (known !== undefined) return known;
  const id = nextArrayId++;
  arrayIds.set(entries, id);
  return id;
}

/** A PackageIndex for these indexes, reused when the same (parsed) indexes come again. */
export function packageIndexFor(
  arch: string,
  sources: { repo: RepoInfo; entries: IndexEntry[] }[],
): PackageIndex {
  if (sources.length === 0) return new PackageIndex(arch, []);
  const key = [
    arch,
    ...sources.map((s) => `${arrayId(s.entries)}|${s.repo.tag ?? ""}|${s.repo.order}|${s.repo.location}`),
  ].join("\n");
  const first = sources[0]!.entries;
  const list = built.get(first) ?? [];
  const hit = list.find((b) => b.key === key);
  if (hit) return hit.index;
  const index = new PackageIndex(arch, sources);
  list.push({ key, index });
  if (list.length > 8) list.shift();
  built.set(first, list);
  return index;
}
