/** Package metadata for the plan: dependencies, options, scriptlets, license expression. */
import type { PackageMetadata, PlanDependencies, PlanScriptlets } from "./plan";
import type { Copyright, RecipeCpe, RecipePackage, RecipeSubpackage } from "./schema";

type Deps = RecipePackage["dependencies"];

/** `subst` substitutes strictly (unknown references fail, naming the YAML path given). */
export type Subst = (text: string, at: string) => string;

export function planDependencies(deps: Deps, at: string, subst: Subst): PlanDependencies {
  const list = (items: string[] | undefined, key: string) =>
    (items ?? []).map((s, i) => subst(s, `${at}.${key}[${i}]`));
  const out: PlanDependencies = {
    runtime: list(deps?.runtime, "runtime"),
    provides: list(deps?.provides, "provides"),
    replaces: list(deps?.replaces, "replaces"),
  };
  if (deps?.providerPriority !== undefined) {
    out.providerPriority = Number.parseInt(subst(deps.providerPriority, `${at}.provider-priority`), 10);
  }
  if (deps?.replacesPriority !== undefined) {
    out.replacesPriority = Number.parseInt(subst(deps.replacesPriority, `${at}.replaces-priority`), 10);
  }
  return out;
}

function planScriptlets(s: RecipePackage["scriptlets"]): PlanScriptlets {
  const out: PlanScriptlets = {};
  if (!s) return out;
  if (s.preInstall !== undefined) out.preInstall = s.preInstall;
  if (s.postInstall !== undefined) out.postInstall = s.postInstall;
  if (s.preDeinstall !== undefined) out.preDeinstall = s.preDeinstall;
  if (s.postDeinstall !== undefined) out.postDeinstall = s.postDeinstall;
  if (s.preUpgrade !== undefined) out.preUpgrade = s.preUpgrade;
  if (s.postUpgrade !== undefined) out.postUpgrade = s.postUpgrade;
  if (s.trigger?.script !== undefined)
    out.trigger = { script: s.trigger.script, paths: s.trigger.paths ?? [] };
  return out;
}

/** The metadata fields main packages and subpackages share. */
export function planMetadata(
  p: RecipePackage | RecipeSubpackage,
  at: string,
  subst: Subst,
  inheritedCommit: string | undefined,
): PackageMetadata {
  const meta: PackageMetadata = {
    name: p.name,
    dependencies: planDependencies(p.dependencies, `${at}.dependencies`, subst),
    options: {
      noProvides: p.options?.noProvides ?? false,
      noDepends: p.options?.noDepends ?? false,
      noCommands: p.options?.noCommands ?? false,
      noVersionedShlibDeps: p.options?.noVersionedShlibDeps ?? false,
    },
    scriptlets: planScriptlets(p.scriptlets),
    checks: { enabled: p.checks?.enabled ?? [], disabled: p.checks?.disabled ?? [] },
    setcap: (p.setcap ?? []).map((s) => ({ path: s.path, add: { ...s.add }, reason: s.reason })),
    annotations: { ...(p.annotations ?? {}) },
  };
  if ("cpe" in p && p.cpe !== undefined) meta.cpe = { ...p.cpe };
  if (p.description !== undefined) meta.description = p.description;
  if (p.url !== undefined) meta.url = p.url;
  // melange gives subpackages the origin's commit unless they name their own.
  const commit = p.commit ?? inheritedCommit;
  if (commit !== undefined) meta.commit = commit;
  return meta;
}

/**
 * The SPDX expression melange derives from `copyright`: entries joined with AND (or with the common
 * operator when every entry is a group using the same one), groups in parentheses, duplicates dropped.
 */
export function licenseExpression(copyrights: readonly Copyright[]): string {
  const single = (c: Copyright, nested: boolean): string => {
    if (c.operator !== undefined && (c.licenses ?? []).length > 0) {
      const parts = dedupe((c.licenses ?? []).map((l) => single(l, true)).filter((e) => e !== ""));
      if (parts.length === 0) return "";
      if (parts.length === 1) return parts[0]!;
      const joined = parts.join(` ${c.operator} `);
      return nested ? `(${joined})` : joined;
    }
    return c.license ?? "";
  };
  const parts = dedupe(copyrights.map((c) => single(c, copyrights.length > 1)).filter((e) => e !== ""));
  if (parts.length <= 1) return parts[0] ?? "";
  const ops = new Set(
    copyrights.map((c) =>
      c.operator !== undefined && (c.licenses ?? []).length > 0 ? c.operator : "simple",
    ),
  );
  const op = ops.size === 1 && !ops.has("simple") ? [...ops][0]! : "AND";
  return parts.join(` ${op} `);
}

function dedupe(items: string[]): string[] {
  return [...new Set(items)];
}

/**
 * melange's CPE 2.3 formatted string for the origin package (part defaults to "a", unset fields
 * to "*", `update` always "*"); undefined when the recipe gives no vendor/product.
 */
export function cpeString(cpe: RecipeCpe | undefined, version: string): string | undefined {
  if (!cpe?.vendor || !cpe.product) return undefined;
  const f = (v: string | undefined) => v || "*";
  return [
    "cpe:2.3",
    cpe.part ?? "a",
    cpe.vendor,
    cpe.product,
    version,
    "*",
    f(cpe.edition),
    f(cpe.language),
    f(cpe.swEdition),
    f(cpe.targetSw),
    f(cpe.targetHw),
    f(cpe.other),
  ].join(":");
}
