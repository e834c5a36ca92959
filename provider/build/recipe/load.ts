/**
 * Reading recipes: melange.yaml files, YAML text, or the same object given inline to ApkPackage
 * (camelCase keys accepted). Validation covers the schema plus the rules melange checks after its
 * first substitution pass (package and subpackage names, range data, priorities).
 */
import * as path from "node:path";
import {
  type SourceInfo,
  sourceInfo,
  type Validated,
  validateObject,
  validateYaml,
  validateYamlFile,
} from "../../config";
import { checkPackageNames, checkPriorities, configValues, expandSubpackages, firstPass } from "./expand";
import { type Recipe, recipeSchema } from "./schema";
import type { Lookup } from "./substitute";
import { resolveVars, VarsError } from "./vars";

/** Where a recipe came from: for errors (file, YAML path, line) and to resolve relative paths. */
export interface RecipeOrigin {
  source: SourceInfo;
  /** The recipe's directory (for objects: the directory given, or the working directory). */
  dir: string;
}

const origins = new WeakMap<Recipe, RecipeOrigin>();

/** The origin recorded when the recipe was validated; a generic one for recipes built by hand. */
export function recipeOrigin(recipe: Recipe): RecipeOrigin {
  return origins.get(recipe) ?? { source: sourceInfo("recipe", new Map()), dir: path.resolve(".") };
}

/**
 * Resolves vars and var-transforms with `base` for everything else; errors point at the entry.
 */
export function recipeVars(
  recipe: Recipe,
  base: Lookup,
  source: SourceInfo,
  overrides: Record<string, string> = {},
): Map<string, string> {
  try {
    return resolveVars({ ...(recipe.vars ?? {}), ...overrides }, recipe.varTransforms ?? [], base);
  } catch (err) {
    if (err instanceof VarsError) throw source.error(err.path, err.message);
    throw err;
  }
}

function finish(validated: Validated<Recipe>, dir: string): Recipe {
  const { value: recipe, source } = validated;
  // Built-ins that depend on the target arch are not known yet: leave those references in place.
  const pkgValues = configValues(recipe.package, new Map());
  const lenient: Lookup = (name) => pkgValues.get(name) ?? `\${{${name}}}`;
  const values = configValues(recipe.package, recipeVars(recipe, lenient, source));
  const subpackages = expandSubpackages(recipe, values, source);
  checkPackageNames(firstPass(recipe.package.name, values), subpackages, source);
  checkPriorities(firstPass(recipe.package.dependencies, values), "package.dependencies", source);
  for (const s of subpackages)
    checkPriorities(s.subpackage.dependencies, `subpackages[${s.index}].dependencies`, source);
  origins.set(recipe, { source, dir });
  return recipe;
}

/** Reads and validates a melange recipe file. */
export async function loadRecipe(file: string): Promise<Recipe> {
  return finish(await validateYamlFile(recipeSchema, file), path.dirname(path.resolve(file)));
}

/** Validates recipe YAML text; `file` names it in errors and is the base for relative paths. */
export function parseRecipe(text: string, file: string): Recipe {
  return finish(validateYaml(recipeSchema, text, file), path.dirname(path.resolve(file)));
}

/** Validates a recipe object (ApkPackage's inline `config`); camelCase keys are accepted. */
export function validateRecipe(
  object: unknown,
  sourceName: string,
  options: { baseDir?: string } = {},
): Recipe {
  return finish(validateObject(recipeSchema, object, sourceName), path.resolve(options.baseDir ?? "."));
}
