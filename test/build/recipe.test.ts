// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { loadRecipe, parseRecipe, validateRecipe } from "../../provider/build/recipe";
import { configError, configRejection } from "../helpers/config-errors";
import { fixture, needsFixtures } from "../helpers/fixtures";

describe("melange configuration_load fixtures", needsFixtures(), () => {
  const dir = fixture("configs", "melange", "configuration_load");
  const file = (name: string) => path.join(dir, `${name}.melange.yaml`);

  // What each must do, per melange's own tests of these files (pkg/build/testdata/configuration_load)
  // and its validatePipelines rules (uses+runs and with+runs are errors there too).
  const rejected: Record<string, { line: number; path: string; message: RegExp }> = {
    "invalid-duplicate-package-name": {
      line: 6,
      path: "subpackages[0].name",
      message: /subpackage "hello" has the same name as the main package/,
    },
    "invalid-package-name": {
      line: 2,
      path: "package.name",
      message: /package name "boost-\\"mobile\\"" is not a valid package name/,
    },
    "invalid-range-subpackage-name": {
      line: 19,
      path: "subpackages[0].name",
      message:
        /subpackage name \(for range item "donatello"\) "turtle-\\"donatello\\"" is not a valid package name/,
    },
    "missing-package-name": {
      line: 2,
      path: "package.name",
      message: /package\.name: is required but empty/,
    },
    "unknown-fields": {
      line: 7,
      path: "environment.repositories",
      message: /environment\.repositories: unknown field/,
    },
    "uses-and-runs": {
      line: 7,
      path: "pipeline[0]",
      message: /a step cannot have both uses \(go\/build\) and runs/,
    },
    "with-and-runs": { line: 7, path: "pipeline[0]", message: /with is given but no uses/ },
  };

  test("the fixture set is the one these tests know", () => {
    const names = readdirSync(dir)
      .map((f) => f.replace(/\.melange\.yaml$/, ""))
      .sort();
    assert.deepEqual(names, [
      "env-vars-set-that-have-default-values",
      "github",
      "invalid-duplicate-package-name",
      "invalid-package-name",
      "invalid-range-subpackage-name",
      "missing-package-name",
      "range-subpackages",
      "release-monitor",
      "unknown-fields",
      "uses-and-runs",
      "with-and-runs",
    ]);
  });

  for (const [name, want] of Object.entries(rejected)) {
    test(`${name} is rejected naming the problem, path and line`, async () => {
      const err = await configRejection(loadRecipe(file(name)));
      const first = err.issues[0]!;
      assert.equal(first.path, want.path);
      assert.equal(first.loc?.line, want.line);
      assert.match(err.message, want.message);
      assert.ok(err.message.includes(`${file(name)}:${want.line}:`), err.message);
    });
  }

  test("unknown-fields names both misplaced keys", async () => {
    const err = await configRejection(loadRecipe(file("unknown-fields")));
    assert.deepEqual(
      err.issues.map((i) => i.path),
      ["environment.repositories", "environment.keyring"],
    );
  });

  test("range-subpackages is accepted", async () => {
    const recipe = await loadRecipe(file("range-subpackages"));
    assert.equal(recipe.package.version, "world");
    assert.deepEqual(
      recipe.subpackages?.map((s) => s.range),
      ["animals", "ninja-turtles"],
    );
  });

  test("github and release-monitor update blocks are accepted", async () => {
    const gh = await loadRecipe(file("github"));
    assert.deepEqual(gh.update?.github, { identifier: "sigstore/cosign", stripPrefix: "v", useTag: true });
    const rm = await loadRecipe(file("release-monitor"));
    assert.deepEqual(rm.update?.releaseMonitor, { identifier: 193 });
  });

  test("env-vars-set-that-have-default-values keeps the recipe's HOME and GOPATH", async () => {
    const recipe = await loadRecipe(file("env-vars-set-that-have-default-values"));
    assert.deepEqual(recipe.environment?.environment, {
      HOME: "/home/build/special-case",
      GOPATH: "/var/cache/melange/go",
    });
  });
});

describe("every fixture recipe parses", needsFixtures(), () => {
  const root = fixture("configs", "melange");
  const files = [
    ...readdirSync(root).filter((f) => f.endsWith(".yaml")),
    ...readdirSync(path.join(root, "examples"))
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => `examples/${f}`),
    "examples/simple-hello/melange.yaml",
    // e2e/pipelines/ holds pipelines the e2e recipes `uses:`, not recipes.
    ...readdirSync(path.join(root, "e2e"))
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => `e2e/${f}`),
  ];

  test("there are recipes to parse", () => {
    assert.ok(files.length > 60, `${files.length} files`);
  });

  for (const f of files) {
    test(f, async () => {
      const recipe = await loadRecipe(path.join(root, f));
      assert.ok(recipe.package.name.length > 0);
    });
  }
});

describe("recipe schema", () => {
  test("numbers and floats in string fields keep their text", () => {
    const r = parseRecipe(
      "package:\n  name: a\n  version: 1.10\n  epoch: 2\n  resources:\n    cpu: .5\ndata:\n  - name: d\n    items:\n      a: 10\n",
      "r.yaml",
    );
    assert.equal(r.package.version, "1.10");
    assert.equal(r.package.epoch, 2);
    assert.equal(r.package.resources?.cpu, ".5");
    assert.deepEqual(r.data?.[0]?.items, { a: "10" });
  });

  test("bad values name their path and line", () => {
    const err = configError(() =>
      parseRecipe(
        "package:\n  name: a\n  version: 1\n  epoch: -1\n  copyright:\n    - paths: ['*']\n  target-architecture: [sparc]\npipeline:\n  - uses: ../../etc/passwd\n  - runs: x\n    assertions: {required-steps: two}\nvar-transforms:\n  - {from: x, match: '(?<=a)b', to: y}\n",
        "r.yaml",
      ),
    );
    assert.deepEqual(
      err.issues.map((i) => `${i.loc?.line} ${i.path}`),
      [
        "4 package.epoch",
        "6 package.copyright[0]",
        "7 package.target-architecture",
        "9 pipeline[0].uses",
        "11 pipeline[1].assertions.required-steps",
        "13 var-transforms[0].match",
      ],
    );
    assert.match(err.message, /copyright\[0\]: needs a license/);
    assert.match(err.message, /unknown architecture "sparc"/);
    assert.match(err.message, /"\.\.\/\.\.\/etc\/passwd" is not a pipeline name/);
    assert.match(err.message, /invalid regular expression: lookbehind is not supported by Go regexps/);
  });

  test("subpackage names: ranges expanded with vars, duplicates refused", () => {
    const err = configError(() =>
      parseRecipe(
        "package: {name: p, version: 1}\nvars: {suffix: x}\ndata:\n  - name: d\n    items: {a: '1', b: '2'}\nsubpackages:\n  - name: p-${{vars.suffix}}\n  - name: const\n    range: d\n",
        "r.yaml",
      ),
    );
    assert.match(
      err.message,
      /r\.yaml:8:11: subpackages\[1\]\.name: subpackage name "const" is used twice \(subpackages\[1\] and \[1\]\)/,
    );
    const missing = configError(() =>
      parseRecipe("package: {name: p, version: 1}\nsubpackages:\n  - {name: x, range: nope}\n", "r.yaml"),
    );
    assert.match(missing.message, /subpackages\[0\]\.range: no data named "nope" \(the recipe has no data\)/);
    const prio = configError(() =>
      parseRecipe("package: {name: p, version: 1, dependencies: {provider-priority: high}}\n", "r.yaml"),
    );
    assert.match(prio.message, /package\.dependencies\.provider-priority: "high" is not an integer/);
  });

  test("inline recipe objects (ApkPackage.config) accept camelCase", () => {
    const recipe = validateRecipe(
      {
        package: { name: "inline", version: "1.0.0", targetArchitecture: ["x86_64"] },
        pipeline: [{ workingDirectory: "src", runs: "make" }],
        varTransforms: [{ from: "${{package.version}}", match: "\\.", replace: "_", to: "u" }],
      },
      "ApkPackage(inline).config",
    );
    assert.equal(recipe.pipeline?.[0]?.workingDirectory, "src");
    assert.equal(recipe.varTransforms?.[0]?.to, "u");
    const err = configError(() =>
      validateRecipe({ package: { name: "x", version: "1" }, pipelines: [] }, "obj"),
    );
    assert.match(err.message, /^obj: pipelines: unknown field \(did you mean "pipeline"\?\)/);
  });
});
