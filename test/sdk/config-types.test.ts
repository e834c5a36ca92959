import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { stringify } from "yaml";
import { parseRecipe } from "../../provider/build/recipe";
import { validateApkoConfig } from "../../provider/image/config";
import type { ApkoConfigObject, ApkPackageArgs, DistrolessImageArgs, MelangeRecipeObject } from "../../sdk";

/*
 * The `config` types come from the validators' schemas. These lines are checked by the compiler
 * (`npm run build` fails when an expected error disappears or a valid config stops typechecking); the
 * runtime part feeds the typed objects to the validators, so the types accept what they accept.
 */

const apko: ApkoConfigObject = {
  contents: { repositories: ["https://packages.wolfi.dev/os"], keyring: [], packages: ["busybox"] },
  entrypoint: { command: "/bin/sh -l" },
  accounts: { runAs: "65532", users: [{ username: "nonroot", uid: 65532 }] },
  paths: [{ path: "/data", type: "directory", permissions: "0755", uid: 65532, gid: 65532 }],
  archs: ["x86_64"],
  workDir: "/data",
};

const recipe: MelangeRecipeObject = {
  package: {
    name: "hello",
    version: "1.0.0",
    epoch: 0,
    description: "hello",
    copyright: [{ license: "Apache-2.0" }],
  },
  pipeline: [{ runs: "echo hi" }],
};

// @ts-expect-error a key the apko schema does not have
const misspelled: ApkoConfigObject = { contents: { pakages: ["busybox"] } };
// @ts-expect-error configFile and config together
const both: DistrolessImageArgs = { configFile: "apko.yaml", config: apko, outputPath: "out" };
// @ts-expect-error neither configFile nor config
const neither: ApkPackageArgs = { signingKey: "k" };
const fromFile: ApkPackageArgs = { configFile: "melange.yaml", signingKey: "k" };
const fromObject: ApkPackageArgs = { config: recipe, signingKey: "k" };

describe("typed config objects", () => {
  test("what the types accept, the validators accept", () => {
    const validated = validateApkoConfig(apko, "apko config object");
    assert.deepEqual(validated.contents.packages, ["busybox"]);
    assert.equal(validated.paths[0]!.permissions, 0o755);
    const parsed = parseRecipe(stringify({ ...recipe }), "melange.yaml");
    assert.equal(parsed.package.name, "hello");
    assert.ok(misspelled && both && neither && fromFile.configFile && fromObject.config);
  });
});
