/**
 * Shared config toolkit: YAML with positions, a typed declarative schema, and errors that name the
 * file, the YAML path and the line:column. Used by the apko config and the melange recipe modules.
 */
export { ConfigError, type ConfigIssue, formatWhere, type Loc, pathIndex, pathKey } from "./errors";
export {
  type ConfigDocument,
  type ConfigNode,
  describeNode,
  type MapNode,
  objectDocument,
  parseYamlDocument,
  type ScalarNode,
  type SeqNode,
} from "./node";
export {
  bool,
  type Camel,
  Cursor,
  camel,
  custom,
  def,
  type Field,
  INVALID,
  type Infer,
  int,
  lazy,
  list,
  type ObjectOf,
  object,
  oneOf,
  opt,
  type Result,
  record,
  refine,
  req,
  type Schema,
  type StringOptions,
  str,
  transform,
  ValidationContext,
} from "./schema";
export {
  MAX_CONFIG_BYTES,
  type SourceInfo,
  sourceInfo,
  type Validated,
  type ValidateOptions,
  validateDocument,
  validateObject,
  validateYaml,
  validateYamlFile,
} from "./validate";
