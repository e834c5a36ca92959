/** `--generate-provenance`: a provenance file beside every apk of a build (statement.ts, attest-file.ts). */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { digestOf } from "../../util/canonical";
import { ociDigest } from "../../util/hash";
import type { EmittedPackage } from "../emit/emit-package";
import type { BuildInputs, PreparedBuild } from "../prepare";
import { provenanceFileName, type WrittenProvenance, writeProvenanceFile } from "./attest-file";
import { provenanceStatement } from "./statement";

export { provenanceFileName, readProvenanceFile, type WrittenProvenance } from "./attest-file";
export { SLSA_PROVENANCE_V1 } from "./statement";

/** This library's version (package.json sits four levels above dist/provider/build/provenance). */
function builderVersion(): string {
  try {
    return (require("../../../../package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** The recipe's digest: the file's bytes as written, or the canonical form of an inline recipe. */
export async function recipeDigest(inputs: BuildInputs): Promise<string> {
  if (inputs.recipeFile) return ociDigest(await fsp.readFile(inputs.recipeFile));
  return digestOf(inputs.recipe ?? inputs.plan ?? null);
}

export async function writeBuildProvenance(
  prepared: PreparedBuild,
  inputs: BuildInputs,
  packages: readonly EmittedPackage[],
  melangeYaml: string,
): Promise<Map<string, WrittenProvenance>> {
  const recipe = await recipeDigest(inputs);
  const out = new Map<string, WrittenProvenance>();
  for (const p of packages) {
    const statement = provenanceStatement({
      name: p.name,
      fullVersion: p.version,
      arch: p.arch,
      datahash: p.datahash,
      melangeYaml,
      recipeDigest: recipe,
      ...(prepared.recipeFile ? { recipeFile: path.basename(prepared.recipeFile) } : {}),
      sourceDigest: prepared.sourceDigest,
      environment: prepared.environment,
      inputDigest: prepared.inputDigest,
      runner: prepared.runner,
      sourceDateEpoch: prepared.sourceDateEpoch,
      namespace: prepared.namespace,
      builderVersion: builderVersion(),
    });
    const written = await writeProvenanceFile({
      // Beside the apk, named from the same checked parts.
      file: path.join(path.dirname(p.file), provenanceFileName(p.name, p.version)),
      identity: `${p.name}-${p.version}`,
      statement,
      sourceDateEpoch: prepared.sourceDateEpoch,
      ...(prepared.signingKey ? { signingKey: prepared.signingKey } : {}),
    });
    out.set(p.file, written);
  }
  return out;
}
