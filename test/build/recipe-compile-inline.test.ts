// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  type BuildPlan,
  type CompileOptions,
  compileRecipe,
  PipelineLoader,
  parseRecipe,
} from "../../provider/build/recipe";
import { isDistrolessError } from "../../provider/util/errors";
import { configError } from "../helpers/config-errors";
import { tempDir } from "../helpers/tmp";

/** The variables every build environment has (see recipe-compile.test.ts for their values). */
const BUILD_DEFAULTS = new Set([
  "GOMODCACHE",
  "GOPATH",
  "HOME",
  "PATH",
  "SOURCE_DATE_EPOCH",
  "SSL_CERT_FILE",
]);

function compileText(
  yaml: string,
  options: Partial<CompileOptions> = {},
  file = "/recipes/r.yaml",
): BuildPlan {
  return compileRecipe(parseRecipe(yaml, file), { arch: "x86_64", ...options });
}

describe("compiling recipes", () => {
  test("every built-in substitution, blanks inside the braces tolerated", () => {
    const plan = compileText(
      `package:
  name: demo
  version: 1.2.3
  epoch: 4
  description: the demo
vars:
  where: \${{targets.destdir}}/share
options:
  extra: {}
pipeline:
  - runs: |
      \${{package.name}} \${{ package.version }} \${{package.epoch}} \${{package.full-version}} \${{package.description}}
      \${{package.srcdir}} \${{targets.outdir}} \${{targets.destdir}} \${{targets.contextdir}} \${{context.name}}
      \${{build.arch}} \${{build.goarch}} \${{host.triplet.gnu}} \${{host.triplet.rust}}
      \${{cross.triplet.gnu.musl}} \${{targets.package.demo-doc}} \${{vars.where}} \${{options.extra.enabled}}
subpackages:
  - name: \${{package.name}}-doc
    pipeline:
      - runs: \${{subpkg.name}} \${{targets.subpkgdir}} \${{targets.contextdir}} \${{context.name}} \${{targets.destdir}}
`,
      { arch: "arm/v7", options: ["extra"] },
    );
    assert.equal(
      plan.steps[0]!.script,
      [
        "demo 1.2.3 4 1.2.3-r4 the demo",
        "/home/build /home/build/melange-out /home/build/melange-out/demo /home/build/melange-out/demo demo",
        "armv7 arm armv7l-unknown-linux-gnueabihf armv7-unknown-linux-gnueabihf",
        "armv7l-unknown-linux-musleabihf /home/build/melange-out/demo-doc /home/build/melange-out/demo/share true",
        "",
      ].join("\n"),
    );
    assert.equal(
      plan.subpackages[0]!.steps[0]!.script,
      "demo-doc /home/build/melange-out/demo-doc /home/build/melange-out/demo-doc demo-doc /home/build/melange-out/demo",
    );
  });

  test("unknown substitutions are refused at compile time, naming the line", () => {
    const main = configError(() =>
      compileText(
        "package: {name: a, version: 1}\npipeline:\n  - runs: |\n      echo ${{targets.subpkgdir}}\n",
      ),
    );
    assert.equal(
      main.message,
      "/recipes/r.yaml:3:11: pipeline[0].runs: unknown substitution ${{targets.subpkgdir}}",
    );
    const notRange = configError(() =>
      compileText(
        "package: {name: a, version: 1}\nsubpackages:\n  - name: b\n    pipeline:\n      - runs: echo ${{range.key}}\n",
      ),
    );
    assert.match(
      notRange.message,
      /subpackages\[0\]\.pipeline\[0\]\.runs: unknown substitution \$\{\{range\.key\}\}/,
    );
    const dir = configError(() =>
      compileText(
        "package: {name: a, version: 1}\npipeline:\n  - working-directory: ${{vars.nope}}\n    runs: x\n",
      ),
    );
    assert.match(dir.message, /pipeline\[0\]\.working-directory: unknown substitution \$\{\{vars\.nope\}\}/);
    const dep = configError(() =>
      compileText("package: {name: a, version: 1, dependencies: {runtime: ['${{nope}}']}}\n"),
    );
    assert.match(dep.message, /package\.dependencies\.runtime\[0\]: unknown substitution \$\{\{nope\}\}/);
    const cond = configError(() =>
      compileText("package: {name: a, version: 1}\npipeline:\n  - if: ${{vars.x}} == 'y'\n    runs: x\n"),
    );
    assert.match(cond.message, /pipeline\[0\]\.if: if: undefined variable \$\{\{vars\.x\}\}/);
  });

  test("vars may use built-ins and other vars; cycles are refused", () => {
    const plan = compileText(
      "package: {name: a, version: 1.2.3}\nvars:\n  full: ${{vars.short}}.3\n  short: ${{vars.major}}.2\n  major: '1'\nvar-transforms:\n  - {from: '${{vars.full}}-${{build.arch}}', match: '^(\\d+)\\.(\\d+).*-(.*)$', replace: '${2}_$3', to: t}\npipeline:\n  - runs: echo ${{vars.full}} ${{vars.t}}\n",
    );
    assert.equal(plan.steps[0]!.script, "echo 1.2.3 2_x86_64");
    const cyc = configError(() =>
      compileText("package: {name: a, version: 1}\nvars:\n  a: ${{vars.b}}\n  b: ${{vars.a}}\n"),
    );
    assert.match(cyc.message, /vars\.a: vars refer to each other in a cycle \(a -> b -> a\)/);
  });

  test("environment propagates from parents to children; children override", () => {
    const plan = compileText(
      "package: {name: a, version: 1}\nenvironment:\n  environment: {G: global, FOO: global}\npipeline:\n  - environment: {FOO: FOO, BAR: BAR}\n    working-directory: src\n    pipeline:\n      - runs: one\n      - environment: {FOO: BAR, BAZ: BAZ}\n        working-directory: /abs\n        runs: two\n",
    );
    const env = (i: number) =>
      Object.fromEntries(Object.entries(plan.steps[i]!.environment).filter(([k]) => !BUILD_DEFAULTS.has(k)));
    assert.deepEqual(env(0), { BAR: "BAR", FOO: "FOO", G: "global" });
    assert.deepEqual(env(1), { BAR: "BAR", BAZ: "BAZ", FOO: "BAR", G: "global" });
    assert.deepEqual(
      plan.steps.map((s) => s.workingDirectory),
      ["/home/build/src", "/abs"],
    );
    assert.deepEqual(
      Object.keys(plan.steps[1]!.environment),
      [...Object.keys(plan.steps[1]!.environment)].sort(),
    );
  });

  test("subpackage if: decided with range values; false drops the subpackage", () => {
    const plan = compileText(
      "package: {name: a, version: 1}\ndata:\n  - name: d\n    items: {x: keep, y: drop}\nsubpackages:\n  - name: a-${{range.key}}\n    range: d\n    if: \"'${{range.value}}' == 'keep'\"\n",
    );
    assert.deepEqual(
      plan.subpackages.map((s) => s.name),
      ["a-x"],
    );
    // Like melange, range values are substituted as text before the condition is parsed: unquoted,
    // they are bare words, which a condition refuses.
    const bare = configError(() =>
      compileText(
        "package: {name: a, version: 1}\ndata:\n  - name: d\n    items: {x: keep}\nsubpackages:\n  - name: a-${{range.key}}\n    range: d\n    if: ${{range.value}} == 'keep'\n",
      ),
    );
    assert.match(bare.message, /subpackages\[0\]\.if: unexpected "k" .* of "keep == 'keep'"/);
  });

  test("uses: unknown with keys, missing required inputs, malformed checksums name the line", () => {
    const unknown = configError(() =>
      compileText(
        "package: {name: a, version: 1}\npipeline:\n  - uses: fetch\n    with:\n      uri: https://example.com/a.tgz\n      sha256: abc\n",
      ),
    );
    assert.match(
      unknown.message,
      /^\/recipes\/r\.yaml:6:15: pipeline\[0\]\.with\.sha256: unknown input "sha256" to pipeline fetch; it takes: uri, expected-sha256, /,
    );
    const missing = configError(() =>
      compileText(
        "package: {name: a, version: 1}\npipeline:\n  - uses: go/build\n    with:\n      packages: .\n",
      ),
    );
    assert.match(
      missing.message,
      /\/recipes\/r\.yaml:5:7: pipeline\[0\]\.with: pipeline go\/build requires input "output"/,
    );
    const bad = configError(() =>
      compileText(
        "package: {name: a, version: 1}\npipeline:\n  - uses: git-checkout\n    with:\n      repository: https://x/y\n      expected-commit: main\n",
      ),
    );
    assert.match(
      bad.message,
      /pipeline\[0\]\.with\.expected-commit: expected-commit must be 40 hexadecimal digits, got "main"/,
    );
    const notFound = configError(() =>
      compileText("package: {name: a, version: 1}\npipeline:\n  - uses: no/such-pipeline\n"),
    );
    assert.equal(notFound.code, "E_MISSING");
    assert.match(notFound.message, /pipeline\[0\]\.uses: pipeline "no\/such-pipeline" not found/);
  });

  test("uses: defaults fill, with values substitute, needs follow inputs", () => {
    const plan = compileText(
      "package: {name: app, version: 2.0.0}\npipeline:\n  - uses: go/build\n    with:\n      packages: ./cmd/app\n      output: ${{package.name}}\n      ldflags: -X main.version=${{package.version}}\n      go-package: go-1.23\n",
    );
    const step = plan.steps[0]!;
    assert.match(step.script, /^out='\/home\/build\/melange-out\/app\/usr\/bin\/app'$/m);
    assert.match(
      step.script,
      /go build -o "\$out" -tags 'netgo,osusergo,' \\\n {2}-ldflags '-w -X main\.version=2\.0\.0' -trimpath -buildmode 'default' \\\n {3}\.\/cmd\/app$/m,
    );
    assert.deepEqual(step.needsPackages, ["go-1.23"]);
    assert.ok(plan.environment.contents.packages.includes("go-1.23"));
  });

  test("user pipelines: nested uses inherit inputs; a pipeline that uses itself is refused", () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, "my"));
    writeFileSync(
      path.join(dir, "my", "outer.yaml"),
      "inputs:\n  greeting: {default: hi}\n  who: {required: true}\nneeds:\n  packages: [outer-tool]\npipeline:\n  - uses: my/inner\n    with:\n      text: ${{inputs.greeting}} ${{inputs.who}}\n",
    );
    writeFileSync(
      path.join(dir, "my", "inner.yaml"),
      "inputs:\n  text: {}\npipeline:\n  - name: say\n    runs: echo '${{inputs.text}}' '${{inputs.who}}'\n",
    );
    writeFileSync(path.join(dir, "loop.yaml"), "pipeline:\n  - uses: loop\n");
    const plan = compileText(
      "package: {name: a, version: 1}\npipeline:\n  - name: greet\n    uses: my/outer\n    with: {who: world}\n",
      { pipelineDirs: [dir] },
    );
    assert.deepEqual(
      plan.steps.map((s) => [s.name, s.uses, s.script, s.needsPackages]),
      [["greet: my/inner: say", ["my/outer", "my/inner"], "echo 'hi world' 'world'", ["outer-tool"]]],
    );
    const loop = configError(() =>
      compileText("package: {name: a, version: 1}\npipeline:\n  - uses: loop\n", { pipelineDirs: [dir] }),
    );
    assert.match(loop.message, /pipeline loop uses itself/);
  });

  test("hostile uses: parent references are refused at validation, symlink escapes at compile", () => {
    const parent = configError(() =>
      parseRecipe("package: {name: a, version: 1}\npipeline:\n  - uses: ../../x\n", "/recipes/r.yaml"),
    );
    assert.match(
      parent.message,
      /^\/recipes\/r\.yaml:3:11: pipeline\[0\]\.uses: "\.\.\/\.\.\/x" is not a pipeline name/,
    );
    assert.throws(
      () => new PipelineLoader([]).load("a/../../x"),
      (err) => isDistrolessError(err, "E_HOSTILE"),
    );
    assert.throws(
      () => new PipelineLoader([]).load("/etc/passwd"),
      (err) => isDistrolessError(err, "E_HOSTILE"),
    );

    const dir = tempDir();
    const outside = tempDir();
    writeFileSync(path.join(outside, "secret.yaml"), "pipeline:\n  - runs: cat /etc/shadow\n");
    symlinkSync(path.join(outside, "secret.yaml"), path.join(dir, "evil.yaml"));
    const escaped = configError(() =>
      compileText("package: {name: a, version: 1}\npipeline:\n  - uses: evil\n", { pipelineDirs: [dir] }),
    );
    assert.equal(escaped.code, "E_HOSTILE");
    assert.match(escaped.message, /pipeline\[0\]\.uses: pipeline "evil" resolves outside/);
  });

  test("the build user and melange's defaults are added; the recipe's own values win", () => {
    const plan = compileText(
      "package: {name: a, version: 1}\nenvironment:\n  accounts:\n    run-as: root\n    users: [{username: dev, uid: 1500}]\n  environment: {HOME: /home/build/special, GOPATH: /go}\n",
    );
    assert.deepEqual(plan.environment.accounts, {
      runAs: "root",
      users: [
        { username: "dev", uid: 1500, gid: 1500, shell: "/bin/sh", homedir: "/home/dev" },
        { username: "build", uid: 1000, gid: 1000, shell: "/bin/sh", homedir: "/home/build" },
      ],
      groups: [{ groupname: "build", gid: 1000, members: ["build"] }],
    });
    assert.equal(plan.environment.environment.HOME, "/home/build/special");
    assert.equal(plan.environment.environment.GOPATH, "/go");
    assert.equal(plan.environment.environment.GOMODCACHE, "/var/cache/melange/gomodcache");
  });
});
