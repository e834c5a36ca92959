import { compareVersions } from "../apk/version";
import type { ProviderRef } from "./package-index";

/** What a choice between candidates for one constraint may prefer. */
export interface PreferenceContext {
  /** name -> version to prefer (a lock being honoured). */
  prefer?: ReadonlyMap<string, string>;
  /** origin -> version of packages already chosen. */
  origins: ReadonlyMap<string, string>;
  /** The `@tag` the constraint names; dependencies prefer untagged repositories. */
  preferTag?: string;
}

/**
 * apko's preference order (which follows apk-tools' compare_providers in its later steps):
 *  1. the version a lock (or caller) asks for;
 *  2. an origin already chosen, at the version chosen (sub-packages of one build stay together);
 *  3. the repository whose tag the constraint names (untagged for dependencies);
 *  4. the higher version of the requested name (for a virtual: of the provide);
 *  5. between versions of one package, the higher;
 *  6. the higher provider_priority;
 *  7. the higher package version, whatever the name;
 *  8. then name, repository order and index order, so the result never depends on map order.
 * Returns < 0 when `a` is preferred.
 */
export function compareProviders(a: ProviderRef, b: ProviderRef, ctx: PreferenceContext): number {
  const ca = a.cand;
  const cb = b.cand;
  if (ctx.prefer) {
    const pa = ctx.prefer.get(ca.name) === ca.version;
    const pb = ctx.prefer.get(cb.name) === cb.version;
    if (pa !== pb) return pa ? -1 : 1;
  }
  const oa = ca.origin !== "" && ctx.origins.get(ca.origin) === ca.version;
  const ob = cb.origin !== "" && ctx.origins.get(cb.origin) === cb.version;
  if (oa !== ob) return oa ? -1 : 1;
  const want = ctx.preferTag ?? "";
  const ta = (ca.repo.tag ?? "") === want;
  const tb = (cb.repo.tag ?? "") === want;
  if (ta !== tb) return ta ? -1 : 1;
  if (a.version !== undefined && b.version !== undefined && a.version !== b.version) {
    const r = compareVersions(a.version, b.version);
    if (r !== 0) return -r;
  }
  if (ca.name === cb.name && ca.version !== cb.version) {
    const r = compareVersions(ca.version, cb.version);
    if (r !== 0) return -r;
  }
  if (ca.priority !== cb.priority) return cb.priority - ca.priority;
  if (ca.version !== cb.version) {
    const r = compareVersions(ca.version, cb.version);
    if (r !== 0) return -r;
  }
  if (ca.name !== cb.name) return ca.name < cb.name ? -1 : 1;
  return ca.repo.order - cb.repo.order || ca.id - cb.id;
}

export function bestProvider(pool: readonly ProviderRef[], ctx: PreferenceContext): ProviderRef {
  let best = pool[0]!;
  for (let i = 1; i < pool.length; i++) {
    if (compareProviders(pool[i]!, best, ctx) < 0) best = pool[i]!;
  }
  return best;
}

/** The pool in preference order (a copy). */
export function rankProviders(pool: readonly ProviderRef[], ctx: PreferenceContext): ProviderRef[] {
  return [...pool].sort((a, b) => compareProviders(a, b, ctx));
}
