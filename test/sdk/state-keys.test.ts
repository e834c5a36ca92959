import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { generateSigningKey } from "../../provider/apk/keys";
import type { Props } from "../../provider/dynamic/define";
import { provider as imageProvider } from "../../provider/dynamic/image";
import { provider as packageProvider } from "../../provider/dynamic/package";
import { provider as repositoryProvider } from "../../provider/dynamic/repository";
import { generateCosignKeyPair } from "../../provider/sign/keys";
import { ApkPackage, ApkRepository, DistrolessImage } from "../../sdk";
import { projectRoot } from "../helpers/fixtures";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { makeTestCa } from "../helpers/test-ca";
import { tempDir } from "../helpers/tmp";
import { needsTools } from "../registry/readback";

const run = promisify(execFile);

/*
 * Every field the dynamic providers write into state is declared on its SDK class. The keys come
 * from the real providers (a package built with the host runner, published into a repository, and
 * an image that uses every output-bearing option: push with tags, signing, provenance, outputPath
 * and the settings kept for refresh/destroy), so a field a provider gains shows up here. Each key
 * is checked twice: the class declares it (tsc compiles `keyof` checks for exactly these keys) and
 * a constructed resource (under setMocks) carries it as an Output.
 */

const RECIPE = `package:
  name: keyed
  version: 1.0.0
  epoch: 0
  copyright:
    - license: Apache-2.0
pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/share/keyed
      echo keyed > \${{targets.destdir}}/usr/share/keyed/file
`;

pulumi.runtime.setMocks(
  { newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: (args) => args.inputs },
  "state-keys",
  "dev",
  false,
);

const stateKeys = (outs: Props) => Object.keys(outs).filter((k) => k !== "__provider");

describe("every state field the providers return is declared on the SDK classes", needsTools(), () => {
  const work = tempDir("pd-state-keys-");
  let registry: RegistryServer;
  const keys: Record<"ApkPackage" | "ApkRepository" | "DistrolessImage", string[]> = {
    ApkPackage: [],
    ApkRepository: [],
    DistrolessImage: [],
  };

  before(async () => {
    registry = await startRegistry();
    const recipeFile = path.join(work, "keyed.yaml");
    writeFileSync(recipeFile, RECIPE);
    const cache = path.join(work, "cache");
    const signingKey = (await generateSigningKey(2048)).privateKeyPem;
    const pkgChecked = await packageProvider.check(
      {},
      {
        resourceName: "keyed",
        configFile: recipeFile,
        signingKey,
        runner: "host",
        archs: ["x86_64"],
        outDir: path.join(work, "out"),
        cacheDir: cache,
      },
    );
    const pkg = await packageProvider.create(pkgChecked.inputs);
    keys.ApkPackage = stateKeys(pkg.outs);

    const repoChecked = await repositoryProvider.check(
      {},
      { resourceName: "repo", path: path.join(work, "repo"), signingKey, packages: [pkg.outs.packages] },
    );
    const repo = await repositoryProvider.create(repoChecked.inputs);
    keys.ApkRepository = stateKeys(repo.outs);

    const cosign = generateCosignKeyPair("pw");
    const caFile = path.join(work, "ca.pem");
    writeFileSync(caFile, makeTestCa().certPem);
    const imageChecked = await imageProvider.check(
      {},
      {
        resourceName: "img",
        config: { contents: { packages: ["keyed"] }, archs: ["x86_64"] },
        repositories: [repo.outs.reference],
        repository: `${registry.host}/keys/app`,
        tags: ["v1"],
        signKey: cosign.privateKeyPem,
        signKeyPassword: "pw",
        provenance: [pkg.outs.provenance],
        outputPath: path.join(work, "layout"),
        insecureRegistry: true,
        caFile,
        deleteTagsOnDestroy: true,
        sbom: true,
        cacheDir: cache,
      },
    );
    assert.equal(imageChecked.failures, undefined);
    const image = await imageProvider.create(imageChecked.inputs);
    keys.DistrolessImage = stateKeys(image.outs);
  });
  after(async () => {
    await registry?.stop();
  });

  test("the providers returned the fields this test is about", () => {
    for (const k of ["digest", "signatureDigests", "provenanceDigest", "outputFiles", "pushed", "caFile"]) {
      assert.ok(keys.DistrolessImage.includes(k), `image state has ${k}: ${keys.DistrolessImage.join(", ")}`);
    }
    assert.ok(keys.ApkPackage.includes("provenance"));
    assert.ok(keys.ApkRepository.includes("reference"));
  });

  test("the classes declare every field (a keyof check compiled by tsc)", async () => {
    const dir = path.join(work, "typecheck");
    mkdirSync(dir);
    const lines = [
      `import type { ApkPackage, ApkRepository, DistrolessImage } from ${JSON.stringify(path.join(projectRoot, "dist", "sdk"))};`,
    ];
    for (const [cls, list] of Object.entries(keys)) {
      lines.push(`export const ${cls}Keys: (keyof ${cls})[] = ${JSON.stringify(list)};`);
    }
    const file = path.join(dir, "keys.ts");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const tsc = path.join(projectRoot, "node_modules", "typescript", "bin", "tsc");
    const r = await run(
      process.execPath,
      [
        tsc,
        "--noEmit",
        "--strict",
        "--skipLibCheck",
        "--module",
        "commonjs",
        "--target",
        "es2022",
        "--types",
        "node",
        "--typeRoots",
        path.join(projectRoot, "node_modules", "@types"),
        file,
      ],
      { cwd: projectRoot },
    ).catch((err: { stdout?: string; stderr?: string }) => ({
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
      failed: true,
    }));
    assert.ok(!("failed" in r), `a state field is not declared:\n${r.stdout}${r.stderr}`);
  });

  test("a constructed resource carries every field as an Output", () => {
    const signingKey = pulumi.secret("PEM");
    const resources: Record<string, pulumi.Resource> = {
      ApkPackage: new ApkPackage("p", { configFile: "melange.yaml", signingKey }),
      ApkRepository: new ApkRepository("r", { path: "./repo", signingKey }),
      DistrolessImage: new DistrolessImage("i", { configFile: "apko.yaml", repository: "example.com/app" }),
    };
    for (const [cls, list] of Object.entries(keys)) {
      const resource = resources[cls] as unknown as Record<string, unknown>;
      for (const k of list) assert.ok(pulumi.Output.isInstance(resource[k]), `${cls}.${k} is an Output`);
    }
  });
});
