// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
/**
 * The built-in pipelines against melange v0.59.1's own (pkg/build/pipelines): the same set, and for
 * each the same inputs with the same `required` flags and defaults. The table below was written by
 * reading melange's pipeline files at that tag; a pipeline or input added, dropped or changed on
 * either side shows up here as a difference.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileRecipe, PipelineLoader, parseRecipe } from "../../provider/build/recipe";
import { SHAPED_INPUT_VALUES, SHIPPED_PIPELINES } from "./shipped-pipelines";

/** An input melange declares `required: true`. */
const REQ = { required: true } as const;
/** An input with neither a default nor `required`. */
const OPT = { required: false } as const;
type Declared = typeof REQ | typeof OPT | string;

const MELANGE_V0_59_1: Record<string, Record<string, Declared>> = {
  "R/build": { package: REQ, path: ".", version: REQ },
  "autoconf/configure": { dir: ".", host: "${{host.triplet.gnu}}", build: "${{host.triplet.gnu}}", opts: "" },
  "autoconf/make": { dir: ".", opts: "", targets: "" },
  "autoconf/make-install": { dir: ".", opts: "", targets: "install" },
  "cargo/build": {
    output: OPT,
    opts: "--release",
    modroot: ".",
    rustflags: "",
    prefix: "usr",
    "install-dir": "bin",
    "output-dir": "target/release",
    jobs: OPT,
  },
  "cmake/build": { "output-dir": "output", opts: OPT },
  "cmake/configure": { "output-dir": "output", opts: OPT },
  "cmake/install": { "output-dir": "output" },
  fetch: {
    "strip-components": "1",
    directory: ".",
    extract: "true",
    "expected-sha256": OPT,
    "expected-sha512": OPT,
    "expected-none": OPT,
    "purl-name": "${{package.name}}",
    "purl-version": "${{package.version}}",
    uri: REQ,
    timeout: "5",
    "dns-timeout": "20",
    "retry-limit": "5",
    delete: "false",
    reason: OPT,
  },
  "git-am": { patches: REQ },
  "git-checkout": {
    repository: REQ,
    destination: ".",
    depth: "unset",
    branch: OPT,
    tag: OPT,
    "expected-commit": OPT,
    "expected-commit-is-branch-tip": "false",
    "recurse-submodules": "false",
    "shallow-submodules": "false",
    "submodule-jobs": "1",
    "cherry-picks": OPT,
    "type-hint": OPT,
    "sparse-paths": OPT,
    "max-retries": "3",
    "initial-backoff": "2",
    "max-backoff": "60",
    reason: OPT,
  },
  "go/build": {
    "go-package": "go",
    packages: REQ,
    tags: OPT,
    toolchaintags: "netgo,osusergo",
    output: REQ,
    vendor: "false",
    modroot: ".",
    prefix: "usr",
    ldflags: OPT,
    strip: "-w",
    "install-dir": "bin",
    deps: OPT,
    experiments: "",
    "extra-args": "",
    amd64: "v2",
    arm64: "v8.0",
    buildmode: "default",
    tidy: "false",
    "ignore-untracked-files": "true",
  },
  "go/build/v2": {
    packages: ".",
    tags: OPT,
    toolchaintags: "netgo,osusergo",
    output: "",
    vendor: "false",
    modroot: ".",
    prefix: "usr",
    ldflags: OPT,
    strip: "-w",
    "install-dir": "bin",
    experiments: "",
    "extra-args": "",
    amd64: "v2",
    arm64: "v8.0",
    buildmode: "default",
    "ignore-untracked-files": "true",
  },
  "go/bump": {
    deps: REQ,
    modroot: ".",
    "go-version": "",
    replaces: OPT,
    tidy: "true",
    "show-diff": "false",
    "tidy-compat": "",
    work: "false",
  },
  "go/covdata": { package: "go", "cover-dir": "/home/build" },
  "go/install": {
    "go-package": "go",
    package: REQ,
    version: OPT,
    prefix: "usr",
    "install-dir": "bin",
    ldflags: OPT,
    strip: "-w",
    tags: OPT,
    toolchaintags: "netgo,osusergo",
    experiments: "",
    amd64: "v2",
    arm64: "v8.0",
  },
  "llvm/covreport": { package: "llvm-19", object: "", "ignore-filename-regex": "" },
  "maven/configure-mirror": {},
  "maven/pombump": {
    "patch-file": "./pombump-deps.yaml",
    "properties-file": "./pombump-properties.yaml",
    dependencies: OPT,
    properties: OPT,
    pom: "pom.xml",
    debug: "false",
    "show-dependency-tree": "false",
  },
  "meson/compile": { "output-dir": "output" },
  "meson/configure": { "output-dir": "output", opts: OPT },
  "meson/install": { "output-dir": "output" },
  "npm/install": {
    package: REQ,
    version: REQ,
    prefix: "${{targets.contextdir}}/usr/",
    overrides: OPT,
    "npm-package": "npm",
  },
  patch: { "strip-components": "1", fuzz: "2", patches: OPT, series: OPT },
  "pecl/install": { extension: REQ },
  "pecl/phpize": { "php-config": "php-config", prefix: "/usr" },
  "perl/cleanup": {},
  "perl/make": {},
  "python/build": {},
  "python/build-wheel": {},
  "python/import": { python: "DEFAULT", import: OPT, from: OPT, imports: OPT, venv: OPT },
  "python/install": {},
  "python/test": { command: REQ },
  "ruby/build": { dir: ".", gem: REQ, output: OPT, opts: OPT },
  "ruby/clean": {},
  "ruby/install": { dir: ".", gem: OPT, "gem-file": OPT, version: REQ, opts: "" },
  "split/alldocs": { package: OPT },
  "split/bin": { package: OPT },
  "split/debug": { package: OPT },
  "split/dev": { package: OPT, prefix: "/usr" },
  "split/infodir": { package: OPT },
  "split/lib": { package: OPT, patterns: OPT, paths: OPT },
  "split/locales": { package: OPT },
  "split/manpages": { package: OPT },
  "split/static": { package: OPT },
  strip: { opts: "-g" },
  "xcover/ensure": { package: "xcover", "min-coverage": "" },
  "xcover/profile": {
    package: "xcover",
    "executable-path": REQ,
    "exclude-functions": OPT,
    "include-functions": OPT,
    scope: "project",
    "log-level": "info",
    verbose: "false",
    "wait-timeout": "60",
  },
  "xcover/status": { package: "xcover" },
  "xcover/stop": { package: "xcover" },
  "xcover/wait": { package: "xcover", "wait-timeout": "60" },
};

/** What our pipeline file declares for one input, in the table's terms. */
function declared(input: { required?: boolean; default?: string }): Declared {
  if (input.required) return REQ;
  return input.default ?? OPT;
}

const shipped = SHIPPED_PIPELINES;

const HEX = SHAPED_INPUT_VALUES;

describe("built-in pipelines match melange v0.59.1", () => {
  test("the same 51 pipelines", () => {
    assert.deepEqual(shipped, Object.keys(MELANGE_V0_59_1).sort());
    assert.equal(shipped.length, 51);
  });

  test("every pipeline declares melange's inputs, required flags and defaults, and no others", () => {
    const loader = new PipelineLoader();
    for (const [name, inputs] of Object.entries(MELANGE_V0_59_1)) {
      const ours = loader.load(name).definition.inputs ?? {};
      assert.deepEqual(
        Object.keys(ours).sort(),
        Object.keys(inputs).sort(),
        `${name}: input names differ from melange's`,
      );
      for (const [input, want] of Object.entries(inputs)) {
        assert.deepEqual(declared(ours[input]!), want, `${name}: input ${input}`);
      }
    }
  });

  test("every pipeline compiles with only its required inputs, leaving no substitution behind", () => {
    for (const [name, inputs] of Object.entries(MELANGE_V0_59_1)) {
      const withs = Object.entries(inputs)
        .filter(([, d]) => d === REQ)
        .map(([k]) => `\n          ${k}: '${HEX[k] ?? `value-of-${k}`}'`)
        .join("");
      const recipe = `package: {name: a, version: 1.0.0}\nsubpackages:\n  - name: a-sub\n    pipeline:\n      - uses: ${name}${withs ? `\n        with:${withs}` : ""}\n`;
      const plan = compileRecipe(parseRecipe(recipe, `/recipes/${name.replace(/\//g, "-")}.yaml`), {
        arch: "x86_64",
      });
      const steps = plan.subpackages[0]!.steps;
      assert.ok(steps.length > 0, name);
      for (const step of steps) assert.doesNotMatch(step.script, /\$\{\{/, `${name}: ${step.name}`);
      // A required input left out is refused, naming the pipeline and the input.
      for (const [input] of Object.entries(inputs).filter(([, d]) => d === REQ)) {
        const without = recipe.replace(new RegExp(`\\n {10}${input}: '[^']*'`), "");
        assert.throws(
          () => compileRecipe(parseRecipe(without, "/recipes/r.yaml"), { arch: "x86_64" }),
          new RegExp(`pipeline ${name.replace(/\//g, "\\/")} requires input "${input}"`),
          `${name} without ${input}`,
        );
      }
    }
  });
});
