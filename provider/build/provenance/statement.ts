/**
 * The SLSA provenance melange writes with --generate-provenance: an in-toto Statement v1 whose
 * subject is the apk (named `<name>-<ver>-r<epoch>.apk`, digest its datahash, as melange names it)
 * and whose predicate is SLSA provenance v1 with melange's build type and the package configuration
 * (`.melange.yaml`) as external parameter. Beyond melange it records what the build was a function
 * of: the recipe file's digest, the source tree digest and the build environment lock (each
 * package by its control checksum), so a package can be traced back to every input.
 *
 * Deterministic on purpose: no start/finish times (melange's wall-clock ones would make every
 * rebuild a new provenance, and a new attestation on every image that ships it); the build's
 * inputDigest identifies the invocation instead.
 */
import { parse } from "yaml";
import { q1Decode } from "../../util/hash";
import { type EnvironmentLock, environmentLockDigest } from "../environment/lock";

export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";
export const SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1";
/** melange's build type: the external parameters follow its schema (package-configuration). */
export const MELANGE_BUILD_TYPE = "https://chainguard.dev/buildtypes/melange/v1";
export const BUILDER_ID = "pkg:npm/pulumi-distroless";

export interface ProvenanceInput {
  name: string;
  /** `<version>-r<epoch>` */
  fullVersion: string;
  arch: string;
  /** The apk's datahash (hex SHA-256 of its data segment). */
  datahash: string;
  /** The `.melange.yaml` the package carries. */
  melangeYaml: string;
  /** `sha256:` of the recipe (the file's bytes, or the canonical inline recipe). */
  recipeDigest: string;
  recipeFile?: string;
  /** `sha256:` of the source tree copied into the workspace. */
  sourceDigest: string;
  environment: EnvironmentLock;
  /** The build's inputDigest. */
  inputDigest: string;
  runner: string;
  sourceDateEpoch: number;
  namespace: string;
  builderVersion: string;
}

function hexOf(digest: string): Record<string, string> {
  const [alg, hex] = digest.includes(":") ? digest.split(":", 2) : ["sha256", digest];
  return { [alg!]: hex! };
}

export function provenanceStatement(input: ProvenanceInput): Record<string, unknown> {
  const ns = encodeURIComponent(input.namespace);
  const environment = input.environment.packages.map((p) => {
    const sha1 = q1Decode(p.checksum);
    return {
      name: p.name,
      uri: `pkg:apk/${ns}/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}?arch=${encodeURIComponent(p.arch)}`,
      // `C:` is the SHA-1 of the package's control segment, which covers its datahash.
      digest: sha1 ? { sha1: sha1.toString("hex") } : {},
    };
  });
  return {
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ name: `${input.name}-${input.fullVersion}.apk`, digest: { sha256: input.datahash } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: MELANGE_BUILD_TYPE,
        externalParameters: {
          "package-configuration": parse(input.melangeYaml) as unknown,
          package: { name: input.name, version: input.fullVersion, arch: input.arch },
          recipe: {
            ...(input.recipeFile ? { name: input.recipeFile } : {}),
            digest: hexOf(input.recipeDigest),
          },
        },
        internalParameters: {
          runner: input.runner,
          "source-date-epoch": input.sourceDateEpoch,
          namespace: input.namespace,
        },
        resolvedDependencies: [
          { name: "source", digest: hexOf(input.sourceDigest) },
          {
            name: "build-environment",
            digest: hexOf(environmentLockDigest(input.environment)),
            annotations: { kind: input.environment.kind, constraints: input.environment.constraints },
          },
          ...environment,
        ],
      },
      runDetails: {
        builder: { id: BUILDER_ID, version: { "pulumi-distroless": input.builderVersion } },
        metadata: { invocationId: input.inputDigest },
      },
    },
  };
}
