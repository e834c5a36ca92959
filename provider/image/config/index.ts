/**
 * The apko image configuration: apko.yaml files, or the same object (camelCase keys allowed) given to
 * DistrolessImage. Every entry point returns the same normalized, fully-defaulted `ApkoConfig`;
 * problems throw a ConfigError naming the file, YAML path and line.
 */
import * as path from "node:path";
import { type Validated, validateObject, validateYaml, validateYamlFile } from "../../config";
import { resolveIncludes } from "./include";
import { normalizeApkoConfig } from "./normalize";
import { apkoRawSchema, type RawApkoConfig } from "./schema";
import type { ApkoConfig } from "./types";

export * from "./arch";
export { parseKey, parseRepository, splitVcsUrl, withDefaultEnvironment } from "./normalize";
export { apkoRawSchema, type RawApkoConfig } from "./schema";
export { ShellWordsError, splitShellWords } from "./shell-words";
export * from "./types";

function finish(validated: Validated<RawApkoConfig>, baseDir: string): ApkoConfig {
  const merged = resolveIncludes(validated.value, validated.source, baseDir);
  return normalizeApkoConfig(merged, validated.source, baseDir);
}

/** Reads and validates an apko.yaml; relative repository/keyring paths resolve against its directory. */
export async function loadApkoConfig(file: string): Promise<ApkoConfig> {
  return finish(await validateYamlFile(apkoRawSchema, file), path.dirname(path.resolve(file)));
}

/** Validates apko.yaml text; `file` names it in errors and anchors relative paths. */
export function parseApkoConfig(text: string, file: string): ApkoConfig {
  return finish(validateYaml(apkoRawSchema, text, file), path.dirname(path.resolve(file)));
}

export interface ValidateApkoOptions {
  /** Directory relative local paths (repositories, keyring, include) resolve against; default: cwd. */
  baseDir?: string;
}

/**
 * Validates a config object (e.g. DistrolessImage's `config`); camelCase spellings of the keys
 * (`buildRepositories`, `shellFragment`, `runAs`, `vcsUrl`...) are accepted.
 */
export function validateApkoConfig(
  object: unknown,
  sourceName: string,
  options: ValidateApkoOptions = {},
): ApkoConfig {
  return finish(validateObject(apkoRawSchema, object, sourceName), path.resolve(options.baseDir ?? "."));
}
