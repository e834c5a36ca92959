import type { CompactIndex } from "../apk/index-compact";
import { compactFromEntries } from "../apk/index-compact-builder";
import { type NameTable, nameTableOf } from "../apk/index-names";
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
  private entryCache: IndexEntry | undefined;
  private depCache: Constraint[] | undefined;
  private conflictCache: Constraint[] | undefined;
  private installIfCache: Constraint[] | undefined;
  private selfConflictCache: string | undefined;

  constructor(
    readonly id: number,
    private readonly index: CompactIndex,
    /** The record's position in its index. */
    readonly position: number,
    readonly repo: RepoInfo,
  ) {
    this.name = index.name(position);
    this.version = index.version(position);
    this.label = `${this.name}-${this.version}`;
    this.provides = index.provides(position).map(parseProvide);
  }

  /** The whole record (built on first use: the solver itself reads only the fields below). */
  get entry(): IndexEntry {
    this.entryCache ??= this.index.entry(this.position);
    return this.entryCache;
  }

  /** `C:`. */
  get checksum(): string {
    return this.index.checksum(this.position);
  }

  /** `i:` as written. */
  get installIfText(): readonly string[] {
    return this.index.installIf(this.position);
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
    return this.index.origin(this.position);
  }

  get priority(): number {
    return this.index.providerPriority(this.position) ?? 0;
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
    this.installIfCache ??= this.installIfText.map((t) => this.parse(t, "install_if"));
    return this.installIfCache;
  }

  private splitDepends(): void {
    const deps: Constraint[] = [];
    const conflicts: Constraint[] = [];
    for (const text of this.index.depends(this.position)) {
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

/** One repository's records as the package index takes them: compact, or plain entries. */
export type IndexSource = { repo: RepoInfo; index: CompactIndex } | { repo: RepoInfo; entries: IndexEntry[] };

/**
 * Every package of the repositories configured for one arch, indexed by name, by provided name and
 * by install_if trigger. Built once per set of indexes and reused by every resolve over them.
 *
 * Names are looked up in each index's name table (index-names.ts: a hash table over the index's
 * own bytes), so a 150,000-package index costs no string or map entry per package here; a
 * Candidate (and its parsed relations) is made only for a package the solver looks at.
 */
export class PackageIndex {
  private readonly sources: { repo: RepoInfo; index: CompactIndex; base: number; names: NameTable }[] = [];
  private readonly made: (Candidate | undefined)[];
  private readonly refs = new Map<string, readonly ProviderRef[]>();
  private byTrigger: Map<string, number[]> | undefined;
  private readonly triggered = new Map<string, readonly Candidate[]>();
  private readonly versions = new Map<string, Set<string> | undefined>();
  private all: Candidate[] | undefined;
  readonly size: number;

  constructor(
    readonly arch: string,
    sources: readonly IndexSource[],
  ) {
    let base = 0;
    for (const s of sources) {
      const index = "index" in s ? s.index : compactFromEntries(s.entries);
      this.sources.push({ repo: s.repo, index, base, names: nameTableOf(index) });
      base += index.count;
    }
    this.size = base;
    this.made = new Array<Candidate | undefined>(base);
  }

  /** The candidate with this id (ids number the packages in repository then index order). */
  candidate(id: number): Candidate {
    const known = this.made[id];
    if (known) return known;
    let s = this.sources[0]!;
    for (const next of this.sources) if (next.base <= id) s = next;
    const cand = new Candidate(id, s.index, id - s.base, s.repo);
    this.made[id] = cand;
    return cand;
  }

  /** Every package, in id order (makes a candidate of each: for whole-index passes). */
  get candidates(): readonly Candidate[] {
    if (!this.all) {
      const out = new Array<Candidate>(this.size);
      for (let id = 0; id < this.size; id++) out[id] = this.candidate(id);
      this.all = out;
    }
    return this.all;
  }

  /** Packages named `name` or providing it, in repository then index order. */
  providers(name: string): readonly ProviderRef[] {
    const known = this.refs.get(name);
    if (known) return known;
    const refs: ProviderRef[] = [];
    for (const s of this.sources) {
      for (const code of s.names.lookup(name)) {
        const cand = this.candidate(s.base + Math.floor(code / 2));
        if (code % 2 === 0) refs.push({ cand, version: cand.version, own: true });
        else
          for (const p of cand.provides)
            if (p.name === name) refs.push({ cand, version: p.version, own: false });
      }
    }
    const result = refs.length > 0 ? refs : NONE;
    this.refs.set(name, result);
    return result;
  }

  /** Packages with an install_if condition on `name`. */
  triggeredBy(name: string): readonly Candidate[] {
    const known = this.triggered.get(name);
    if (known) return known;
    // Few packages carry install_if: the map of their triggers is made on the first question.
    if (!this.byTrigger) {
      const map = new Map<string, number[]>();
      for (const s of this.sources) {
        for (let p = 0; p < s.index.count; p++) {
          if (s.index.listLength(p, 1) === 0) continue;
          for (const trigger of s.index.installIf(p)) {
            const key = triggerName(trigger);
            const ids = map.get(key);
            if (ids) ids.push(s.base + p);
            else map.set(key, [s.base + p]);
          }
        }
      }
      this.byTrigger = map;
    }
    const ids = this.byTrigger.get(name);
    const cands = ids ? ids.map((id) => this.candidate(id)) : NO_CANDIDATES;
    this.triggered.set(name, cands);
    return cands;
  }

  /** Versions of the packages named `name` (own names only). */
  versionsOf(name: string): ReadonlySet<string> | undefined {
    if (this.versions.has(name)) return this.versions.get(name);
    const own = this.providers(name).filter((r) => r.own);
    const set = own.length > 0 ? new Set(own.map((r) => r.version!)) : undefined;
    this.versions.set(name, set);
    return set;
  }

  /** Every name a constraint can refer to (package and provided names), for suggestions. */
  names(): IterableIterator<string> {
    const all = new Set<string>();
    for (const s of this.sources) for (const n of s.names.names()) all.add(n);
    return all.values();
  }
}

function triggerName(text: string): string {
  const m = /^!?([^<>=~@]+)/.exec(text.trim());
  return m ? m[1]! : text;
}

/*
 * Built indexes by the identity of their records: the loader shares parsed indexes by content
 * digest, so resolving the same repositories again reuses the maps. Weak keys: nothing leaks.
 */
const built = new WeakMap<object, { key: string; index: PackageIndex }[]>();
const arrayIds = new WeakMap<object, number>();
let nextArrayId = 1;

function recordsOf(s: IndexSource): object {
  return "index" in s ? s.index : s.entries;
}

function arrayId(records: object): number {
  const known = arrayIds.get(records);
  if (known !== undefined) return known;
  const id = nextArrayId++;
  arrayIds.set(records, id);
  return id;
}

/** A PackageIndex for these indexes, reused when the same (parsed) indexes come again. */
export function packageIndexFor(arch: string, sources: readonly IndexSource[]): PackageIndex {
  if (sources.length === 0) return new PackageIndex(arch, []);
  const key = [
    arch,
    ...sources.map((s) => `${arrayId(recordsOf(s))}|${s.repo.tag ?? ""}|${s.repo.order}|${s.repo.location}`),
  ].join("\n");
  const first = recordsOf(sources[0]!);
  const list = built.get(first) ?? [];
  const hit = list.find((b) => b.key === key);
  if (hit) return hit.index;
  const index = new PackageIndex(arch, sources);
  list.push({ key, index });
  if (list.length > 8) list.shift();
  built.set(first, list);
  return index;
}
