/**
 * Finding and reading `uses` pipelines. The search path is the caller's pipeline directories first,
 * then the pipelines shipped with this package (`<package root>/pipelines`). A name is a relative path
 * without `.`/`..` segments, and the file found must really lie inside the directory it was found in
 * (symlinks are resolved), so `uses:` can never read outside the pipeline directories.
 */
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { MAX_CONFIG_BYTES, type SourceInfo, validateYaml } from "../../config";
import { DistrolessError } from "../../util/errors";
import { type PipelineDefinition, pipelineDefinition, USES_PATTERN } from "./schema-pipeline";

/** `pipelines/` at the package root; this file compiles to dist/provider/build/recipe/. */
export const BUILTIN_PIPELINE_DIR = path.resolve(__dirname, "..", "..", "..", "..", "pipelines");

export interface LoadedPipeline {
  name: string;
  file: string;
  definition: PipelineDefinition;
  source: SourceInfo;
}

export class PipelineNotFoundError extends Error {}

function isInside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

export class PipelineLoader {
  readonly dirs: readonly string[];
  private readonly cache = new Map<string, LoadedPipeline>();

  constructor(userDirs: readonly string[] = [], builtinDir = BUILTIN_PIPELINE_DIR) {
    this.dirs = [...userDirs.map((d) => path.resolve(d)), builtinDir];
  }

  /**
   * Throws DistrolessError E_HOSTILE for names that could escape a pipeline directory,
   * PipelineNotFoundError when no directory has the pipeline.
   */
  load(name: string): LoadedPipeline {
    if (!USES_PATTERN.test(name) || name.split("/").some((seg) => seg === "." || seg === "..")) {
      throw new DistrolessError(
        "E_HOSTILE",
        `refusing pipeline name ${JSON.stringify(name)}: it must be a relative name inside a pipeline directory`,
      );
    }
    const cached = this.cache.get(name);
    if (cached) return cached;
    for (const dir of this.dirs) {
      const file = path.join(dir, `${name}.yaml`);
      if (!isInside(dir, file) || !existsSync(file)) continue;
      const realDir = realpathSync(dir);
      const real = realpathSync(file);
      if (!isInside(realDir, real)) {
        throw new DistrolessError(
          "E_HOSTILE",
          `pipeline ${JSON.stringify(name)} resolves outside ${dir} (to ${real})`,
        );
      }
      const size = statSync(real).size;
      if (size > MAX_CONFIG_BYTES)
        throw new DistrolessError("E_HOSTILE", `pipeline file is ${size} bytes`, { subject: file });
      const validated = validateYaml(pipelineDefinition, readFileSync(real, "utf8"), file);
      const loaded: LoadedPipeline = { name, file, definition: validated.value, source: validated.source };
      this.cache.set(name, loaded);
      return loaded;
    }
    throw new PipelineNotFoundError(
      `pipeline ${JSON.stringify(name)} not found (searched ${this.dirs.join(", ")})`,
    );
  }
}
