/**
 * Everything about a build that can be known without running it: the compiled plan, the runner, the
 * source tree and the resolved build environment, and from them the inputDigest. Compile errors
 * (hostile `uses`, unknown substitutions, invalid fields) surface here, before any sandbox starts.
 */
import * as path from "node:path";
import { loadPrivateKey, type SigningKey } from "../apk/keys";
import { defaultCacheDir } from "../repository/cache";
import { DistrolessError } from "../util/errors";
import { type Progress, silentProgress } from "../util/log";
import type { EnvironmentLock } from "./environment/lock";
import { type EnvironmentSources, type ResolvedEnvironment, resolveEnvironment } from "./environment/resolve";
import { computeInputDigest } from "./input-digest";
import { compileRecipe, loadRecipe } from "./recipe";
import type { BuildPlan } from "./recipe/plan";
import type { Recipe } from "./recipe/schema";
import { checkBubblewrap } from "./runners/bubblewrap";
import { findOnPath, type RunnerName } from "./runners/runner";
import { listSourceTree, type SourceTree, sourceTreeDigest } from "./source/source-tree";

export interface BuildInputs extends Omit<EnvironmentSources, "progress" | "cacheDir"> {
  /** A melange.yaml file, a validated recipe, or a plan compiled already. One is required. */
  recipeFile?: string;
  recipe?: Recipe;
  plan?: BuildPlan;
  /** Default: the recipe file's directory (none for inline recipes and plans). */
  sourceDir?: string;
  /** apk or OCI arch name. */
  arch: string;
  /** A private key (PEM file path or loaded key). Unsigned packages when absent. */
  signingKey?: string | SigningKey;
  /** "auto": bubblewrap where it works, else melange when on PATH. Default "auto". */
  runner?: RunnerName | "auto";
  /** Default 0. */
  sourceDateEpoch?: number;
  /** Recipe vars to override, build options to enable, extra pipeline dirs. */
  vars?: Record<string, string>;
  buildOptions?: string[];
  pipelineDirs?: string[];
  /** Written as the packages' maintainer and SBOM purl namespace (melange's --namespace). */
  namespace?: string;
  /** Default: $XDG_CACHE_HOME/pulumi-distroless. */
  cacheDir?: string;
  progress?: Progress;
}

export interface PreparedBuild {
  plan: BuildPlan;
  recipeFile?: string;
  runner: RunnerName;
  source: SourceTree;
  sourceDigest: string;
  /** Resolved for bubblewrap; the constraints as written for host and melange. */
  environment: EnvironmentLock;
  /** Fetches locked packages (bubblewrap only). */
  resolved?: ResolvedEnvironment;
  signingKey?: SigningKey;
  sourceDateEpoch: number;
  namespace: string;
  cacheDir: string;
  inputDigest: string;
}

export async function chooseRunner(requested: RunnerName | "auto" | undefined): Promise<RunnerName> {
  const r = requested ?? "auto";
  if (r !== "auto") return r;
  if (process.platform === "linux") {
    try {
      checkBubblewrap();
      return "bubblewrap";
    } catch {
      // fall through
    }
  }
  if (await findOnPath("melange")) return "melange";
  throw new DistrolessError(
    "E_MISSING",
    "no sandbox to build in: bubblewrap (bwrap) is not available and no melange binary is on PATH; install bubblewrap, or choose the host runner for trusted recipes",
  );
}

export async function prepareBuild(inputs: BuildInputs): Promise<PreparedBuild> {
  const progress = inputs.progress ?? silentProgress;
  const sourceDateEpoch = inputs.sourceDateEpoch ?? inputs.plan?.sourceDateEpoch ?? 0;
  if (!Number.isInteger(sourceDateEpoch) || sourceDateEpoch < 0) {
    throw new DistrolessError(
      "E_CONFIG",
      `SOURCE_DATE_EPOCH must be a non-negative integer (got ${sourceDateEpoch})`,
    );
  }
  let plan = inputs.plan;
  if (!plan) {
    const recipe = inputs.recipe ?? (inputs.recipeFile ? await loadRecipe(inputs.recipeFile) : undefined);
    if (!recipe)
      throw new DistrolessError("E_CONFIG", "a build needs a recipe file, a recipe or a compiled plan");
    plan = compileRecipe(recipe, {
      arch: inputs.arch,
      sourceDateEpoch,
      ...(inputs.vars ? { vars: inputs.vars } : {}),
      ...(inputs.buildOptions ? { options: inputs.buildOptions } : {}),
      ...(inputs.pipelineDirs ? { pipelineDirs: inputs.pipelineDirs } : {}),
    });
  }
  const runner = await chooseRunner(inputs.runner);
  const sourceDir =
    inputs.sourceDir ?? (inputs.recipeFile ? path.dirname(path.resolve(inputs.recipeFile)) : undefined);
  const signingKey =
    typeof inputs.signingKey === "string" ? await loadPrivateKey(inputs.signingKey) : inputs.signingKey;
  const cacheDir = inputs.cacheDir ?? defaultCacheDir();
  const source = await listSourceTree(sourceDir, {
    ...(signingKey ? { signingKey } : {}),
    onLarge: (m) => progress.warn(m),
    cacheDir,
  });
  if (source.excluded.length > 0) {
    progress.warn(
      `not copied into the build workspace (private key material): ${source.excluded
        .map((e) => `${e.path} (${e.reason})`)
        .join(", ")}; a key other than the signing key can be taken back with "!path" in .melangeignore`,
    );
  }
  const sourceDigest = await sourceTreeDigest(source);

  let environment: EnvironmentLock;
  let resolved: ResolvedEnvironment | undefined;
  if (runner === "bubblewrap") {
    resolved = await resolveEnvironment(plan.environment, plan.arch, { ...inputs, cacheDir, progress });
    environment = resolved.lock;
  } else {
    environment = {
      arch: plan.arch,
      kind: "unresolved",
      packages: [],
      constraints: [...plan.environment.contents.packages],
    };
  }

  const namespace = inputs.namespace ?? "unknown";
  const inputDigest = computeInputDigest({
    plan,
    sourceDigest,
    environment,
    options: {
      runner,
      sourceDateEpoch,
      namespace,
      ...(signingKey
        ? { signingKey: { keyName: signingKey.keyName, publicKeyPem: signingKey.publicKeyPem } }
        : {}),
    },
  });
  const prepared: PreparedBuild = {
    plan,
    runner,
    source,
    sourceDigest,
    environment,
    sourceDateEpoch,
    namespace,
    cacheDir,
    inputDigest,
  };
  if (inputs.recipeFile) prepared.recipeFile = inputs.recipeFile;
  if (resolved) prepared.resolved = resolved;
  if (signingKey) prepared.signingKey = signingKey;
  return prepared;
}
