// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  bool,
  def,
  int,
  list,
  object,
  oneOf,
  opt,
  parseYamlDocument,
  record,
  refine,
  req,
  str,
  validateObject,
  validateYaml,
} from "../../provider/config";
import { isDistrolessError } from "../../provider/util/errors";
import { configError } from "../helpers/config-errors";

const step = object({
  name: opt(str()),
  runs: opt(str()),
  "working-directory": opt(str()),
  with: opt(record(str())),
});

const schema = object({
  package: req(
    object({ name: req(str({ nonEmpty: true })), version: req(str()), epoch: def(int({ min: 0 }), () => 0) }),
  ),
  pipeline: opt(list(step)),
  kind: opt(oneOf(["a", "b"])),
  enabled: opt(bool()),
  build_repositories: opt(list(str())),
});

describe("config toolkit", () => {
  test("validated values are typed, camelCased and defaulted", () => {
    const { value } = validateYaml(
      schema,
      "package:\n  name: hello\n  version: 1.10\npipeline:\n  - working-directory: src\n    runs: make\n",
      "recipe.yaml",
    );
    // The compiler checks these property types; the asserts check the values.
    const version: string = value.package.version;
    const epoch: number = value.package.epoch;
    const wd: string | undefined = value.pipeline?.[0]?.workingDirectory;
    assert.equal(version, "1.10", "scalars are taken as written, not as the number 1.1");
    assert.equal(epoch, 0);
    assert.equal(wd, "src");
    assert.deepEqual(value, {
      package: { name: "hello", version: "1.10", epoch: 0 },
      pipeline: [{ runs: "make", workingDirectory: "src" }],
    });
  });

  test("an unknown key names the file, the YAML path, the line and a suggestion", () => {
    const err = configError(() =>
      validateYaml(
        schema,
        "package:\n  name: x\n  version: 1\npipeline:\n  - runs: make\n    workdir: src\n",
        "r.yaml",
      ),
    );
    assert.equal(err.code, "E_CONFIG");
    assert.equal(err.issues.length, 1);
    assert.deepEqual(err.issues[0]!.loc, { line: 6, col: 5 });
    assert.equal(err.issues[0]!.path, "pipeline[0].workdir");
    assert.match(err.message, /^r\.yaml:6:5: pipeline\[0\]\.workdir: unknown field/);
    assert.match(err.message, /expected one of: name, runs, working-directory, with/);
  });

  test("a near-miss key gets a did-you-mean", () => {
    const err = configError(() => validateYaml(schema, "package:\n  name: x\n  versoin: 1\n", "r.yaml"));
    assert.match(err.message, /package\.versoin: unknown field \(did you mean "version"\?\)/);
  });

  test("every problem is reported, in file order, with its own line", () => {
    const err = configError(() =>
      validateYaml(
        schema,
        "kind: c\npackage:\n  name: ''\n  version: [1]\n  epoch: -1\nenabled: maybe\n",
        "r.yaml",
      ),
    );
    assert.deepEqual(
      err.issues.map((i) => [i.path, i.loc?.line]),
      [
        ["kind", 1],
        ["package.name", 3],
        ["package.version", 4],
        ["package.epoch", 5],
        ["enabled", 6],
      ],
    );
    assert.match(err.message, /^r\.yaml: 5 problems:\n {2}r\.yaml:1:7: kind: "c" is not one of "a", "b"/);
    assert.match(err.message, /r\.yaml:4:12: package\.version: expected a string, got a list/);
    assert.match(err.message, /package\.epoch: must be at least 0, got -1/);
  });

  test("broken YAML names the file, line and the parser's message", () => {
    const err = configError(() =>
      validateYaml(schema, "package:\n  name: [x\n  version: 1\n", "broken.yaml"),
    );
    assert.equal(err.issues[0]!.path, "");
    assert.ok(err.issues[0]!.loc);
    assert.match(err.message, /^broken\.yaml:\d+:\d+: invalid YAML: /);
  });

  test("duplicate keys are an error at the second occurrence", () => {
    const err = configError(() =>
      validateYaml(schema, "package:\n  name: a\n  version: 1\n  name: b\n", "dup.yaml"),
    );
    assert.deepEqual(err.issues[0]!.loc, { line: 4, col: 3 });
    assert.match(err.message, /^dup\.yaml:4:3: invalid YAML: Map keys must be unique/);
  });

  test("several documents in one file are refused", () => {
    configError(() => parseYamlDocument("a: 1\n---\nb: 2\n", "two.yaml"));
  });

  test("empty values count as absent; required ones say so", () => {
    const err = configError(() =>
      validateYaml(schema, "package:\n  name:\n  version: 1\npipeline:\n", "r.yaml"),
    );
    assert.equal(err.issues.length, 1);
    assert.match(err.message, /^r\.yaml:2:\d+: package\.name: is required but empty$/);
    const missing = configError(() => validateYaml(schema, "package:\n  version: 1\n", "r.yaml"));
    assert.match(missing.message, /package\.name: is required$/);
  });

  test("plain objects validate without positions, camelCase keys accepted", () => {
    const { value } = validateObject(
      schema,
      {
        package: { name: "p", version: "1" },
        buildRepositories: ["./r"],
        pipeline: [{ workingDirectory: "w" }],
      },
      "DistrolessImage.config",
    );
    assert.deepEqual(value.buildRepositories, ["./r"]);
    assert.equal(value.pipeline?.[0]?.workingDirectory, "w");

    const err = configError(() =>
      validateObject(schema, { package: { name: "p", version: 1 }, pipeline: [{ runz: "x" }] }, "obj"),
    );
    assert.equal(err.issues[0]!.loc, undefined);
    assert.equal(
      err.message,
      'obj: pipeline[0].runz: unknown field (did you mean "runs"?); expected one of: name, runs, working-directory, with',
    );
  });

  test("camelCase is not accepted in YAML files, and one key may not be given twice", () => {
    const err = configError(() =>
      validateYaml(schema, "package: {name: a, version: 1}\nbuildRepositories: []\n", "a.yaml"),
    );
    assert.match(err.message, /buildRepositories: unknown field/);
    const twice = configError(() =>
      validateObject(
        schema,
        { package: { name: "a", version: "1" }, build_repositories: [], buildRepositories: [] },
        "o",
      ),
    );
    assert.match(
      twice.message,
      /build_repositories: given twice \(as build_repositories and buildRepositories\)/,
    );
  });

  test("objects must be plain data", () => {
    const err = configError(() =>
      validateObject(schema, { package: { name: "a", version: new Date(0) } }, "o"),
    );
    assert.match(err.message, /package\.version: expected plain data/);
    const cyclic: Record<string, unknown> = { package: { name: "a", version: "1" } };
    cyclic.pipeline = [cyclic];
    assert.match(configError(() => validateObject(schema, cyclic, "o")).message, /circular reference/);
  });

  test("aliases resolve; alias bombs are refused as hostile", () => {
    const { value } = validateYaml(
      schema,
      "package:\n  name: &n a\n  version: '1'\npipeline:\n  - name: *n\n",
      "a.yaml",
    );
    assert.equal(value.pipeline?.[0]?.name, "a");
    const misplaced = configError(() =>
      validateYaml(
        schema,
        "package: &p\n  name: a\n  version: '1'\npipeline:\n  - with: {x: *p}\n",
        "a.yaml",
      ),
    );
    assert.match(misplaced.message, /^a\.yaml:5:15: pipeline\[0\]\.with\.x: expected a string, got a map$/);
    const layers = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++)
      layers.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(", ")}]`,
      );
    try {
      parseYamlDocument(`${layers.join("\n")}\n`, "bomb.yaml");
      assert.fail("expected an error");
    } catch (err) {
      assert.ok(isDistrolessError(err, "E_HOSTILE"), String(err));
    }
  });

  test("refinements report at the value's position", () => {
    const even = object({ n: req(refine(int(), (n) => (n % 2 === 0 ? undefined : "must be even"))) });
    const err = configError(() => validateYaml(even, "\n\nn: 3\n", "e.yaml"));
    assert.equal(err.message, "e.yaml:3:4: n: must be even");
  });

  test("source info locates paths, falling back to the nearest parent", () => {
    const { source } = validateYaml(
      schema,
      "package:\n  name: a\n  version: '1'\npipeline:\n  - runs: |\n      make\n",
      "s.yaml",
    );
    assert.deepEqual(source.locate("pipeline[0].runs"), { line: 5, col: 11 });
    assert.deepEqual(source.locate("pipeline[0].with.x"), { line: 5, col: 5 });
    const err = source.error("pipeline[0].runs", "unknown substitution ${{x}}");
    assert.equal(err.message, "s.yaml:5:11: pipeline[0].runs: unknown substitution ${{x}}");
  });
});
