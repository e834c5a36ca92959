/**
 * melange recipes: load/validate (`loadRecipe`, `parseRecipe`, `validateRecipe`) and compile for one
 * arch into a BuildPlan (`compileRecipe`). Errors are ConfigErrors naming file, YAML path and line.
 */
export { type CompileOptions, compileRecipe, recipeTargetsArch } from "./compile";
export { ConditionError, evaluateCondition } from "./condition";
export { BUILD_ID, BUILD_USER } from "./environment";
export { compileGoRegexp, expandGoTemplate, GoRegexpError, goReplaceAll } from "./go-regexp";
export { loadRecipe, parseRecipe, type RecipeOrigin, recipeOrigin, validateRecipe } from "./load";
export { licenseExpression } from "./metadata";
export {
  BUILTIN_PIPELINE_DIR,
  type LoadedPipeline,
  PipelineLoader,
  PipelineNotFoundError,
} from "./pipelines";
export * from "./plan";
export {
  type Copyright,
  PACKAGE_NAME,
  type Recipe,
  type RecipeDependencies,
  type RecipePackage,
  type RecipeSubpackage,
  type RecipeTest,
  recipeSchema,
} from "./schema";
export {
  type PipelineDefinition,
  type PipelineInput,
  type PipelineStep,
  pipelineDefinition,
} from "./schema-pipeline";
export { checkScriptSyntax } from "./script-syntax";
export { replaceKnown, SubstitutionError, substitute } from "./substitute";
