/**
 * Pipeline steps (in recipes and in pipeline files). A step runs a shell script (`runs`), or expands
 * a reusable pipeline (`uses` + `with`), and may hold nested steps (`pipeline`) that inherit its
 * working directory and environment.
 */
import { bool, int, lazy, list, object, opt, record, refine, type Schema, str } from "../../config";

/** `uses` names a pipeline file under a pipeline directory: path segments only, no `.`/`..`. */
export const USES_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]*(\/[A-Za-z0-9][A-Za-z0-9._+-]*)*$/;

export interface PipelineInput {
  description?: string;
  default?: string;
  required?: boolean;
}

export interface PipelineStep {
  if?: string;
  name?: string;
  uses?: string;
  with?: Record<string, string>;
  runs?: string;
  pipeline?: PipelineStep[];
  needs?: { packages?: string[] };
  label?: string;
  assertions?: { requiredSteps?: number };
  workingDirectory?: string;
  environment?: Record<string, string>;
}

/** A pipeline file: a step plus the inputs it declares. */
export interface PipelineDefinition extends PipelineStep {
  inputs?: Record<string, PipelineInput>;
}

const usesName = str({
  nonEmpty: true,
  pattern: USES_PATTERN,
  patternHint: "a pipeline name (e.g. fetch or go/build; no leading /, no . or .. segments)",
});

const stepFields = {
  if: opt(str()),
  name: opt(str()),
  uses: opt(usesName),
  with: opt(record(str())),
  runs: opt(str()),
  pipeline: opt(list(lazy((): Schema<PipelineStep> => pipelineStep))),
  needs: opt(object({ packages: opt(list(str({ nonEmpty: true }))) })),
  label: opt(str()),
  assertions: opt(object({ "required-steps": opt(int({ min: 0 })) })),
  "working-directory": opt(str({ nonEmpty: true })),
  environment: opt(record(str())),
};

/** melange's rules about what a step may combine. */
function stepProblem(s: PipelineStep): string | undefined {
  if (s.with !== undefined && s.uses === undefined) return "with is given but no uses";
  if (s.uses !== undefined && s.runs !== undefined)
    return `a step cannot have both uses (${s.uses}) and runs`;
  if (s.with !== undefined && s.runs !== undefined) return "a step cannot have both with and runs";
  if (s.uses !== undefined && s.pipeline !== undefined && s.pipeline.length > 0) {
    return `a step cannot have both uses (${s.uses}) and a nested pipeline`;
  }
  return undefined;
}

export const pipelineStep: Schema<PipelineStep> = refine(object(stepFields), stepProblem);

export const pipelineDefinition: Schema<PipelineDefinition> = refine(
  object({
    ...stepFields,
    inputs: opt(
      record(
        object({
          description: opt(str()),
          default: opt(str()),
          required: opt(bool()),
        }),
      ),
    ),
  }),
  stepProblem,
);
