import * as assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { generateSigningKey } from "../../provider/apk/keys";
import { readProvenanceFile, SLSA_PROVENANCE_V1 } from "../../provider/build/provenance";
import { provider as imageProvider } from "../../provider/dynamic/image";
import { provider as packageProvider } from "../../provider/dynamic/package";
import { signingKeyOf } from "../../provider/dynamic/signing";
import { publishPackages } from "../../provider/repository/publish";
import { generateCosignKeyPair } from "../../provider/sign/keys";
import { sha256Hex } from "../../provider/util/hash";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { needsTools } from "../registry/readback";
import { cosign, LOCAL_REGISTRY_FLAGS, needsCosign } from "./cosign-tool";

const RECIPE = `package:
  name: prov
  version: 0.3.0
  epoch: 1
  copyright:
    - license: Apache-2.0
pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/share/prov
      cp hello.txt \${{targets.destdir}}/usr/share/prov/
`;

interface ProvenanceOut {
  arch: string;
  name: string;
  checksum: string;
  file: string;
  digest: string;
}

describe("ApkPackage provenance, attested by DistrolessImage, verified by cosign", () => {
  let registry: RegistryServer | undefined;
  after(async () => {
    await registry?.stop();
  });

  test(
    "the SLSA statement beside the apk records recipe, source and environment; cosign verifies the image attestation",
    needsTools(),
    async (t) => {
      const work = tempDir();
      const src = path.join(work, "src");
      mkdirSync(src);
      writeFileSync(path.join(src, "hello.txt"), "hello\n");
      const recipeFile = path.join(work, "prov.melange.yaml");
      writeFileSync(recipeFile, RECIPE);
      const apkKeyPem = (await generateSigningKey(2048)).privateKeyPem;
      const cache = path.join(work, "cache");

      const pkgInputs = {
        resourceName: "prov",
        configFile: recipeFile,
        sourceDir: src,
        signingKey: apkKeyPem,
        runner: "host",
        outDir: path.join(work, "out"),
        cacheDir: cache,
      };
      const checked = await packageProvider.check({}, pkgInputs);
      const { outs } = await packageProvider.create(checked.inputs);
      const provenance = outs.provenance as ProvenanceOut[];
      const packages = outs.packages as { file: string; datahash: string; checksum: string }[];
      assert.equal(provenance.length, 1);
      assert.equal(path.basename(provenance[0]!.file), "prov-0.3.0-r1.attest.tar.gz");
      assert.equal(path.dirname(provenance[0]!.file), path.dirname(packages[0]!.file), "beside the apk");
      assert.equal(provenance[0]!.checksum, packages[0]!.checksum);

      const statement = await readProvenanceFile(provenance[0]!.file, provenance[0]!.digest);
      assert.equal(statement._type, "https://in-toto.io/Statement/v1");
      assert.equal(statement.predicateType, SLSA_PROVENANCE_V1);
      assert.deepEqual(statement.subject, [
        { name: "prov-0.3.0-r1.apk", digest: { sha256: packages[0]!.datahash } },
      ]);
      const predicate = statement.predicate as {
        buildDefinition: {
          externalParameters: {
            recipe: { digest: { sha256: string } };
            "package-configuration": { package: { name: string } };
          };
          resolvedDependencies: { name: string; digest: Record<string, string> }[];
        };
        runDetails: { metadata: { invocationId: string } };
      };
      const def = predicate.buildDefinition;
      assert.equal(def.externalParameters.recipe.digest.sha256, sha256Hex(readFileSync(recipeFile)));
      assert.equal(def.externalParameters["package-configuration"].package.name, "prov");
      assert.deepEqual(
        def.resolvedDependencies.slice(0, 2).map((d) => d.name),
        ["source", "build-environment"],
      );
      assert.match(def.resolvedDependencies[0]!.digest.sha256!, /^[0-9a-f]{64}$/);
      assert.match(
        predicate.runDetails.metadata.invocationId,
        /^sha256:[0-9a-f]{64}$/,
        "the build's inputDigest",
      );

      // A changed source file: another source digest in the provenance.
      writeFileSync(path.join(src, "hello.txt"), "hello again\n");
      const rebuilt = await packageProvider.create((await packageProvider.check({}, pkgInputs)).inputs);
      const again = await readProvenanceFile((rebuilt.outs.provenance as ProvenanceOut[])[0]!.file);
      const sourceOf = (s: Record<string, unknown>) =>
        (s.predicate as typeof predicate).buildDefinition.resolvedDependencies[0]!.digest.sha256;
      assert.notEqual(sourceOf(again), sourceOf(statement));

      if (needsCosign().skip) {
        t.skip(needsCosign().skip);
        return;
      }
      // The repository and the image, with the rebuilt package's provenance.
      const key = signingKeyOf({ signingKey: apkKeyPem });
      const repo = path.join(work, "repo");
      await publishPackages({
        root: repo,
        packages: (rebuilt.outs.packages as { file: string }[]).map((p) => p.file),
        signingKey: key,
      });
      const pubFile = path.join(work, key.keyName);
      writeFileSync(pubFile, key.publicKeyPem);
      registry = await startRegistry();
      const cosignPair = generateCosignKeyPair("pw");
      const cosignPub = path.join(work, "cosign.pub");
      writeFileSync(cosignPub, cosignPair.publicKeyPem);
      const otherPub = path.join(work, "other.pub");
      writeFileSync(otherPub, generateCosignKeyPair("x").publicKeyPem);
      const imageRepo = `${registry.host}/prov/app`;
      const imageInputs = {
        resourceName: "img",
        config: {
          contents: { repositories: [repo], keyring: [pubFile], packages: ["prov"] },
          archs: ["x86_64"],
        },
        repository: imageRepo,
        tags: ["v1"],
        signKey: cosignPair.privateKeyPem,
        signKeyPassword: "pw",
        provenance: [rebuilt.outs.provenance],
        cacheDir: cache,
      };
      const imageChecked = await imageProvider.check({}, imageInputs);
      assert.match(String((imageChecked.inputs.resolved as { provenance?: string }).provenance), /^sha256:/);
      const image = await imageProvider.create(imageChecked.inputs);
      const platform = (image.outs.platforms as Record<string, string>).x86_64!;
      assert.ok((image.outs.attestationDigests as Record<string, string>).x86_64);

      const ok = cosign(
        "verify-attestation",
        "--key",
        cosignPub,
        "--type",
        "slsaprovenance1",
        ...LOCAL_REGISTRY_FLAGS,
        `${imageRepo}@${platform}`,
      );
      assert.equal(ok.code, 0, ok.out);
      const payload = JSON.parse(ok.out.split("\n").find((l) => l.startsWith("{"))!) as { payload: string };
      const attested = JSON.parse(Buffer.from(payload.payload, "base64").toString("utf8")) as {
        predicateType: string;
        predicate: typeof predicate;
      };
      assert.equal(attested.predicateType, SLSA_PROVENANCE_V1);
      assert.equal(
        attested.predicate.buildDefinition.resolvedDependencies[0]!.digest.sha256,
        sourceOf(again),
      );
      const spdx = cosign(
        "verify-attestation",
        "--key",
        cosignPub,
        "--type",
        "spdxjson",
        ...LOCAL_REGISTRY_FLAGS,
        `${imageRepo}@${platform}`,
      );
      assert.equal(spdx.code, 0, "the SBOM attestation is still there beside it");
      const wrongKey = cosign(
        "verify-attestation",
        "--key",
        otherPub,
        "--type",
        "slsaprovenance1",
        ...LOCAL_REGISTRY_FLAGS,
        `${imageRepo}@${platform}`,
      );
      assert.notEqual(wrongKey.code, 0, wrongKey.out);

      // Nothing changed: the same provenance is not a change.
      const diff = await imageProvider.diff(
        String(image.id),
        image.outs,
        (await imageProvider.check(image.outs, imageInputs)).inputs,
      );
      assert.equal(diff.changes, false);
    },
  );
});
