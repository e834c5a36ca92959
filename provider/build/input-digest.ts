/**
 * A package build's inputDigest: what the apks are a function of. The Pulumi layer compares it to
 * decide whether to build again, so it must change whenever the output could, and must not change
 * for anything else (where the source lives, this library's version, log settings).
 *
 *   digest( normalized compiled plan, source tree digest, environment lock digest, build options )
 *
 * Pure and cheap: computing it runs nothing. The plan is canonicalized (keys sorted; `origin`
 * locations and the recipe's file name are dropped, since they only place a step for messages).
 */
import { digestOf } from "../util/canonical";
import { sha256Hex } from "../util/hash";
import { type EnvironmentLock, environmentLockDigest } from "./environment/lock";
import type { BuildPlan } from "./recipe/plan";

export interface DigestOptions {
  /** The runner class: host builds use host tools, so they are not interchangeable with sandboxed ones. */
  runner: "bubblewrap" | "host" | "melange";
  sourceDateEpoch: number;
  /** Name and public key of the signing key (never the private key): they are part of the apk bytes. */
  signingKey?: { keyName: string; publicKeyPem: string };
  /** purl namespace / maintainer written into the packages. */
  namespace: string;
}

export interface DigestInputs {
  plan: BuildPlan;
  /** `sourceTreeDigest()` of the source directory. */
  sourceDigest: string;
  /** The resolved build environment (for the host runner: the unresolved constraints). */
  environment: EnvironmentLock;
  options: DigestOptions;
}

/** The plan without what only locates things for messages. */
function normalizedPlan(plan: BuildPlan): unknown {
  const steps = (list: BuildPlan["steps"]) => list.map(({ origin: _origin, ...rest }) => rest);
  const { source: _source, ...environment } = plan.environment;
  return {
    ...plan,
    environment,
    steps: steps(plan.steps),
    subpackages: plan.subpackages.map((s) => ({ ...s, steps: steps(s.steps) })),
  };
}

export function computeInputDigest(inputs: DigestInputs): string {
  const o = inputs.options;
  const doc = {
    v: 1,
    plan: normalizedPlan(inputs.plan),
    source: inputs.sourceDigest,
    environment: environmentLockDigest(inputs.environment),
    options: {
      runner: o.runner,
      sourceDateEpoch: o.sourceDateEpoch,
      signingKey: o.signingKey
        ? { keyName: o.signingKey.keyName, publicKey: sha256Hex(o.signingKey.publicKeyPem) }
        : null,
      namespace: o.namespace,
    },
  };
  return digestOf(doc);
}
