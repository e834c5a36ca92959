import { bestProvider, rankProviders } from "./compare";
import { type Constraint, versionMatches } from "./constraint";
import { type Chain, chainText, childChain, ResolveError, WORLD } from "./explain";
import { checkConflicts, checkParkedVirtuals } from "./final-checks";
import { triggeredByChosen } from "./install-if";
import { installOrder } from "./order";
import type { Candidate, PackageIndex, ProviderRef } from "./package-index";
import { unsatisfiable } from "./rejections";
import { type Decisions, RETRY } from "./search";
import type { Reason, Rejection, Solution, SolveOptions } from "./solver";
import { excludeByWorld } from "./world";

/** One attempt's outcome: the solution, and the install_if packages it had to leave out. */
export interface Attempt {
  solution: Solution;
  /** Per triggered name whose every version failed: its versions, best first. */
  skippedInstallIf: Candidate[][];
}

export interface Pending {
  c: Constraint;
  chain: Chain;
  pool: readonly ProviderRef[];
}

/**
 * Orders constraints by how many candidates they have, fewest first; none at all goes last, since
 * such a constraint can still be met by what the others choose (`foo` beside `foo@edge`).
 */
function candidateCount(n: number): number {
  return n === 0 ? Number.MAX_SAFE_INTEGER : n;
}

/**
 * A greedy solver with apko's choices (fewest candidates first, then dependencies depth-first,
 * apko's preference order) and apk's rules for names: a versioned name (a package's own name or a
 * `p:name=ver`) has one provider; unversioned provides (virtuals) may have several, and are never
 * picked for the virtual alone without a provider_priority. One attempt of the search: it takes the
 * choices `decisions` forces and the preferred ones after those.
 */
export class Solver {
  private selected = new Map<string, Candidate>();
  private order: Candidate[] = [];
  private claims = new Map<string, { cand: Candidate; version: string }>();
  private virtuals = new Map<string, Candidate[]>();
  /** Candidates ruled out, with why (formatted only when an error shows it: chains can be deep). */
  private dq: Map<Candidate, Reason>;
  private chains = new Map<Candidate, Chain>();
  private origins = new Map<string, string>();
  private pins = new Map<Candidate, string | undefined>();
  private depsDone = new Set<Candidate>();
  private pending: Pending[] = [];
  private notices: string[] = [];
  /** While set, every state change records how to undo it (install_if tries). */
  private undo: (() => void)[] | undefined;
  /** How many chosen packages install_if has already looked at. */
  private iifScanned = 0;
  private skippedInstallIf: Candidate[][] = [];

  constructor(
    private readonly index: PackageIndex,
    private readonly options: SolveOptions,
    private readonly decisions: Decisions,
  ) {
    this.dq = new Map(options.exclude ?? []);
  }

  /**
   * `promoted`: install_if packages an earlier attempt had to leave out, now chosen up front (their
   * dependencies before the world's) so that providers they need win over the world's defaults, as
   * apk-tools' whole-solution search finds (its installif10 case). The attempt fails unless their
   * install_if conditions still hold at the end.
   */
  run(world: readonly Constraint[], promoted: readonly Candidate[] = []): Attempt {
    const wanted = world.filter((c) => !c.conflict);
    for (const c of world) excludeByWorld(this.index, c, this.dq);

    // Top level first, fewest candidates first (apko), so narrow choices shape the wide ones. The
    // counts are taken once, before any choice: recounting after each one costs quadratic time
    // for a large world and rarely changes the order.
    const counts = new Map(wanted.map((c) => [c, candidateCount(this.pool(c, c.tag).length)] as const));
    const ordered = [...wanted].sort(
      (a, b) => counts.get(a)! - counts.get(b)! || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0),
    );
    for (const c of ordered) {
      if (this.satisfiedBy(c)) continue;
      const ref = this.choose(c, WORLD, c.tag);
      if (ref) this.select(ref, WORLD, c.tag);
    }
    for (const cand of promoted) this.promote(cand);
    const roots = [...wanted].sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    for (const c of roots) {
      const s = this.satisfiedBy(c);
      if (s) this.resolveDeps(s);
    }
    this.addInstallIf();
    const view = {
      arch: this.index.arch,
      satisfiedBy: (c: Constraint) => this.satisfiedBy(c),
      chains: this.chains,
    };
    checkParkedVirtuals(view, this.pending);
    checkConflicts(view, world, this.order);
    for (const cand of promoted) {
      if (!cand.installIf().every((t) => this.conditionHolds(t))) throw RETRY;
    }

    const packages = installOrder(
      roots.map((c) => this.satisfiedBy(c)).filter((c): c is Candidate => c !== undefined),
      this.order,
      // Children in apko's resolution order (fewest candidates first, then by constraint text),
      // met ones included: apko installs each dependency (after its own) in the order it
      // resolves them, and checked against `apko lock` by test/conformance.
      (cand) => {
        const allowTag = this.pins.get(cand);
        const ranked = cand
          .depends()
          .map((d) => ({ d, n: candidateCount(this.pool(d, allowTag).length) }))
          .sort((a, b) => a.n - b.n || (a.d.text < b.d.text ? -1 : a.d.text > b.d.text ? 1 : 0));
        return ranked.map(({ d }) => this.satisfiedBy(d));
      },
    );
    const chains = this.chains;
    const why = (cand: Candidate) => chainText(chains.get(cand)!, cand.label);
    return {
      solution: { arch: this.index.arch, packages, why, notices: this.notices },
      skippedInstallIf: this.skippedInstallIf,
    };
  }

  private promote(cand: Candidate): void {
    if (this.selected.get(cand.name) === cand) return;
    if (this.selected.has(cand.name) || this.dq.has(cand) || cand.selfConflict !== undefined) throw RETRY;
    this.select(
      { cand, version: cand.version, own: true },
      { label: `install_if[${cand.installIfText.join(" ")}]` },
      cand.repo.tag,
    );
    this.resolveDeps(cand);
  }

  private mset<K, V>(m: Map<K, V>, k: K, v: V): void {
    if (this.undo) {
      const had = m.has(k);
      const old = m.get(k);
      this.undo.push(() => (had ? m.set(k, old as V) : m.delete(k)));
    }
    m.set(k, v);
  }

  private apush<T>(a: T[], v: T): void {
    if (this.undo) this.undo.push(() => a.pop());
    a.push(v);
  }

  /** The chosen package that satisfies `c`, if any. */
  private satisfiedBy(c: Constraint): Candidate | undefined {
    const claim = this.claims.get(c.name);
    if (claim) return versionMatches(c, claim.version, claim.cand.checksum) ? claim.cand : undefined;
    if (!c.op) return this.virtuals.get(c.name)?.[0];
    return undefined;
  }

  /** An install_if condition: `name` holds when a chosen package satisfies it, `!name` when none does. */
  private conditionHolds(t: Constraint): boolean {
    return t.conflict ? this.satisfiedBy(t) === undefined : this.satisfiedBy(t) !== undefined;
  }

  rejection(ref: ProviderRef, c: Constraint, allowTag: string | undefined): Rejection | undefined {
    const cand = ref.cand;
    if (!versionMatches(c, ref.version, cand.checksum)) return { kind: "version" };
    const excluded = this.dq.get(cand);
    if (excluded !== undefined)
      return { kind: "excluded", reason: typeof excluded === "string" ? excluded : excluded() };
    const broken = cand.selfConflict;
    if (broken !== undefined) return { kind: "excluded", reason: broken };
    const tag = cand.repo.tag;
    if (c.tag !== undefined && tag !== undefined && tag !== c.tag) return { kind: "pinned", tag: c.tag };
    if (tag !== undefined && tag !== (c.tag ?? allowTag)) return { kind: "tagged", tag };
    for (const d of cand.conflicts()) {
      const s = this.satisfiedBy(d);
      if (s && s !== cand) return { kind: "conflict", with: s, constraint: d };
    }
    // Look one step ahead: a versioned dependency on a name already taken at a version it does not
    // accept can never be met, so the candidate is no choice at all (saves a backtrack per level).
    for (const d of cand.depends()) {
      if (!d.op) continue;
      const claim = this.claims.get(d.name);
      if (claim && claim.cand !== cand && !versionMatches(d, claim.version, claim.cand.checksum)) {
        return { kind: "needs", with: claim.cand, constraint: d };
      }
    }
    return undefined;
  }

  /** The candidates `c` may use: preferred ones, or (multi-arch skew) avoided ones when none. */
  private pool(c: Constraint, allowTag: string | undefined): ProviderRef[] {
    const ok: ProviderRef[] = [];
    const avoided: ProviderRef[] = [];
    const avoid = this.options.avoid;
    const refs = this.index.providers(c.name);
    this.decisions.work(refs.length + 1);
    for (const ref of refs) {
      if (this.rejection(ref, c, allowTag)) continue;
      if (avoid?.has(ref.cand)) avoided.push(ref);
      else ok.push(ref);
    }
    return ok.length > 0 ? ok : avoided;
  }

  /** The provider to install for `c`, or undefined when it is an ambiguous virtual (parked). */
  private choose(c: Constraint, chain: Chain, allowTag: string | undefined): ProviderRef | undefined {
    let pool = this.pool(c, allowTag);
    if (pool.length === 0) {
      throw this.decisions.explaining ? unsatisfiable(this, this.index, c, chain, allowTag) : RETRY;
    }
    if (!pool.some((r) => r.own)) {
      const prefer = this.options.prefer;
      const preferred = prefer ? pool.filter((r) => prefer.get(r.cand.name) === r.cand.version) : [];
      if (preferred.length > 0) pool = preferred;
      else {
        // apk-tools: a package is never picked for an unversioned provide (a virtual) unless it has a
        // provider_priority, even when it is the only provider; something else must require it.
        const eligible = pool.filter((r) => r.version !== undefined || r.cand.priority > 0);
        if (eligible.length === 0) {
          this.apush(this.pending, { c, chain, pool });
          return undefined;
        }
        pool = eligible;
      }
    }
    const ctx = { origins: this.origins, preferTag: c.tag, prefer: this.options.prefer };
    let ref: ProviderRef;
    if (pool.length === 1) ref = pool[0]!;
    else {
      const k = this.decisions.next(pool.length);
      ref = k === 0 ? bestProvider(pool, ctx) : rankProviders(pool, ctx)[k]!;
    }
    const skew = this.options.avoid?.get(ref.cand);
    if (skew)
      this.apush(
        this.notices,
        `${this.index.arch}: ${chainText(chain, c.text)}: using ${ref.cand.label} (${skew})`,
      );
    return ref;
  }

  private select(ref: ProviderRef, chain: Chain, allowTag: string | undefined): void {
    const cand = ref.cand;
    this.mset(this.selected, cand.name, cand);
    this.apush(this.order, cand);
    this.mset(this.chains, cand, chain);
    this.mset(this.pins, cand, allowTag);
    if (cand.origin && !this.origins.has(cand.origin)) this.mset(this.origins, cand.origin, cand.version);
    this.claim(cand, cand.name, cand.version, chain);
    for (const p of cand.provides) if (p.name !== cand.name) this.claim(cand, p.name, p.version, chain);
    for (const d of cand.conflicts()) {
      for (const r of this.index.providers(d.name)) {
        if (r.cand !== cand && !this.dq.has(r.cand) && versionMatches(d, r.version, r.cand.checksum)) {
          this.mset(this.dq, r.cand, `excluded by ${cand.label} [${d.text}]`);
        }
      }
    }
    this.pruneByDepends(cand, chain);
  }

  /**
   * apko's up-front pruning: a versioned dependency of a chosen package rules out every versioned
   * provider of that name it does not accept (a versioned name has one provider), so later choices
   * never pick what this package cannot live with.
   */
  private pruneByDepends(cand: Candidate, chain: Chain): void {
    for (const d of cand.depends()) {
      if (!d.op || this.providesItself(cand, d)) continue;
      for (const r of this.index.providers(d.name)) {
        if (r.cand === cand || r.version === undefined || this.dq.has(r.cand)) continue;
        if (!versionMatches(d, r.version, r.cand.checksum)) {
          this.mset(this.dq, r.cand, () => `${chainText(chain, cand.label)} requires ${d.text}`);
        }
      }
    }
  }

  /** A versioned name has one provider; unversioned provides only exclude versioned ones (apk). */
  private claim(cand: Candidate, name: string, version: string | undefined, chain: Chain): void {
    if (version === undefined) {
      const list = this.virtuals.get(name);
      if (list) this.apush(list, cand);
      else this.mset(this.virtuals, name, [cand]);
    } else if (!this.claims.has(name)) {
      this.mset(this.claims, name, { cand, version });
    }
    for (const r of this.index.providers(name)) {
      if (r.cand === cand || this.dq.has(r.cand) || (version === undefined && r.version === undefined))
        continue;
      const why =
        r.own && name === cand.name
          ? () => `${cand.label} is installed instead (${chainText(chain, cand.label)})`
          : `${cand.label} already provides ${name}`;
      this.mset(this.dq, r.cand, why);
    }
  }

  private providesItself(cand: Candidate, d: Constraint): boolean {
    if (d.name === cand.name) return versionMatches(d, cand.version, cand.checksum);
    return cand.provides.some((p) => p.name === d.name && versionMatches(d, p.version));
  }

  /** Dependencies depth-first, the one with the fewest candidates first (apko's order). */
  private resolveDeps(cand: Candidate): void {
    if (this.depsDone.has(cand)) return;
    if (this.undo) this.undo.push(() => this.depsDone.delete(cand));
    this.depsDone.add(cand);
    const chain = childChain(this.chains.get(cand)!, cand.label);
    const allowTag = this.pins.get(cand);
    let remaining = cand.depends().filter((d) => !this.providesItself(cand, d));
    while (remaining.length > 0) {
      remaining = remaining.filter((d) => !this.satisfiedBy(d));
      if (remaining.length === 0) break;
      let next = remaining[0]!;
      if (remaining.length > 1) {
        let nextCount = Number.POSITIVE_INFINITY;
        for (const d of remaining) {
          const n = candidateCount(this.pool(d, allowTag).length);
          if (n < nextCount || (n === nextCount && d.text < next.text)) {
            next = d;
            nextCount = n;
          }
        }
      }
      remaining = remaining.filter((d) => d !== next);
      const ref = this.choose(next, chain, allowTag);
      if (!ref) continue;
      this.select(ref, chain, allowTag);
      this.resolveDeps(ref.cand);
    }
  }

  /**
   * Adds install_if packages whose conditions all hold, with their dependencies, until nothing more
   * triggers; each pass looks at the triggers of the packages chosen since the last one
   * (install-if.ts). A triggered name takes the best version whose dependencies can be met
   * (apk-tools tries the next one when the best cannot be installed), and may come from the
   * repository its trigger was pinned to.
   */
  private addInstallIf(): void {
    const view = {
      index: this.index,
      selected: this.selected,
      dq: this.dq,
      pins: this.pins,
      conditionHolds: (t: Constraint) => this.conditionHolds(t),
    };
    while (this.iifScanned < this.order.length) {
      const fresh = this.order.slice(this.iifScanned);
      this.iifScanned = this.order.length;
      const triggered = triggeredByChosen(view, fresh);
      for (const name of [...triggered.keys()].sort()) {
        if (this.selected.has(name)) continue;
        const { refs, tag } = triggered.get(name)!;
        this.tryInstallIf(refs, tag);
      }
    }
  }

  private tryInstallIf(refs: ProviderRef[], tag: string | undefined): void {
    const ranked = rankProviders(refs, {
      origins: this.origins,
      preferTag: tag,
      prefer: this.options.prefer,
    });
    const failures: string[] = [];
    for (const ref of ranked) {
      const chain: Chain = { label: `install_if[${ref.cand.installIfText.join(" ")}]` };
      this.undo = [];
      try {
        this.select(ref, chain, tag);
        this.resolveDeps(ref.cand);
        if (failures.length > 0) {
          this.notices.push(
            `${this.index.arch}: adding ${ref.cand.label} (install_if) instead of newer versions: ${failures.join("; ")}`,
          );
        }
        return;
      } catch (err) {
        if (!(err instanceof ResolveError)) throw err;
        for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
        const text = err === RETRY ? "its dependencies cannot be met" : err.message;
        this.dq.set(ref.cand, `its install_if dependencies cannot be met: ${text}`);
        failures.push(`${ref.cand.label}: ${text}`);
      } finally {
        this.undo = undefined;
      }
    }
    this.notices.push(`${this.index.arch}: not adding (install_if): ${failures.join("; ")}`);
    this.skippedInstallIf.push(ranked.map((r) => r.cand));
  }
}
