/**
 * melange's config-load pass: package and vars substitutions applied to the recipe's strings, and
 * `range` subpackages expanded into one subpackage per data item (keys in sorted order) with
 * `${{range.key}}` / `${{range.value}}` substituted. Shared by validation (which checks the resulting
 * names) and compilation.
 */
import type { SourceInfo } from "../../config";
import { PACKAGE_NAME, type Recipe, type RecipeSubpackage } from "./schema";
import { mapStrings, replaceKnown } from "./substitute";

/**
 * melange's first pass leaves pipeline names and ranges alone; conditions are substituted like any
 * other text (so `${{package.name}} == 'x'` becomes a bare word, which melange's `if` refuses).
 */
const NOT_SUBSTITUTED = new Set(["uses", "range"]);

export interface ExpandedSubpackage {
  /** Index in the recipe's `subpackages` list (for error paths). */
  index: number;
  /** For range subpackages: the data item this one was made for. */
  range?: { key: string; value: string };
  subpackage: RecipeSubpackage;
}

/** The values of melange's first pass: package.* and vars.* (already resolved). */
export function configValues(pkg: Recipe["package"], vars: ReadonlyMap<string, string>): Map<string, string> {
  const values = new Map<string, string>([
    ["package.name", pkg.name],
    ["package.version", pkg.version],
    ["package.epoch", String(pkg.epoch)],
    ["package.full-version", `${pkg.version}-r${pkg.epoch}`],
    ["package.description", pkg.description ?? ""],
  ]);
  for (const [k, v] of vars) values.set(k, v);
  return values;
}

/** Applies the first pass to any part of the recipe. */
export function firstPass<T>(value: T, values: ReadonlyMap<string, string>): T {
  return mapStrings(value, (s) => replaceKnown(s, values), NOT_SUBSTITUTED);
}

/** Expands range subpackages (after the first pass on everything else). */
export function expandSubpackages(
  recipe: Recipe,
  values: ReadonlyMap<string, string>,
  source: SourceInfo,
): ExpandedSubpackage[] {
  const data = new Map((recipe.data ?? []).map((d) => [d.name, d.items]));
  const out: ExpandedSubpackage[] = [];
  (recipe.subpackages ?? []).forEach((sp, index) => {
    if (sp.range === undefined) {
      out.push({ index, subpackage: firstPass(sp, values) });
      return;
    }
    const items = data.get(sp.range);
    if (!items) {
      const known = [...data.keys()];
      throw source.error(
        `subpackages[${index}].range`,
        `no data named ${JSON.stringify(sp.range)}${known.length ? ` (data: ${known.join(", ")})` : " (the recipe has no data)"}`,
      );
    }
    for (const key of Object.keys(items).sort(compareStrings)) {
      const value = items[key]!;
      const withRange = new Map(values);
      withRange.set("range.key", key);
      withRange.set("range.value", value);
      out.push({ index, range: { key, value }, subpackage: firstPass(sp, withRange) });
    }
  });
  return out;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Name rules melange checks after substitution: valid names, no subpackage named like the main
 * package or like another subpackage. Names still holding `${{...}}` are left for compile time.
 */
export function checkPackageNames(
  mainName: string,
  subpackages: readonly ExpandedSubpackage[],
  source: SourceInfo,
): void {
  const check = (name: string, path: string, what: string) => {
    if (name.includes("${{")) return;
    if (!PACKAGE_NAME.test(name)) {
      throw source.error(
        path,
        `${what} ${JSON.stringify(name)} is not a valid package name (letters, digits and + _ . -, starting with a letter or digit)`,
      );
    }
  };
  check(mainName, "package.name", "package name");
  const seen = new Map<string, number>();
  for (const { index, subpackage, range } of subpackages) {
    const path = `subpackages[${index}].name`;
    const what = range ? `subpackage name (for range item ${JSON.stringify(range.key)})` : "subpackage name";
    check(subpackage.name, path, what);
    if (subpackage.name === mainName)
      throw source.error(
        path,
        `subpackage ${JSON.stringify(subpackage.name)} has the same name as the main package`,
      );
    const earlier = seen.get(subpackage.name);
    if (earlier !== undefined) {
      throw source.error(
        path,
        `subpackage name ${JSON.stringify(subpackage.name)} is used twice (subpackages[${earlier}] and [${index}])`,
      );
    }
    seen.set(subpackage.name, index);
  }
}

/** provider-priority / replaces-priority must be integers once substituted. */
export function checkPriorities(
  deps: Recipe["package"]["dependencies"],
  path: string,
  source: SourceInfo,
): void {
  for (const key of ["providerPriority", "replacesPriority"] as const) {
    const v = deps?.[key];
    if (v === undefined || v.includes("${{")) continue;
    if (!/^[+-]?\d+$/.test(v)) {
      throw source.error(
        `${path}.${key === "providerPriority" ? "provider-priority" : "replaces-priority"}`,
        `${JSON.stringify(v)} is not an integer`,
      );
    }
  }
}
