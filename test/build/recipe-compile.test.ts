// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
import assert from "node:assert/strict";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import {
  type BuildPlan,
  type CompileOptions,
  compileRecipe,
  loadRecipe,
  PipelineLoader,
  parseRecipe,
  recipeTargetsArch,
} from "../../provider/build/recipe";
import { isDistrolessError } from "../../provider/util/errors";
import { configError } from "../helpers/config-errors";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

const BASE_ENV = {
  GOMODCACHE: "/var/cache/melange/gomodcache",
  GOPATH: "/home/build/.cache/go",
  HOME: "/home/build",
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin",
  SOURCE_DATE_EPOCH: "0",
  SSL_CERT_FILE: "/etc/ssl/certs/ca-certificates.crt",
};

function compileText(
  yaml: string,
  options: Partial<CompileOptions> = {},
  file = "/recipes/r.yaml",
): BuildPlan {
  return compileRecipe(parseRecipe(yaml, file), { arch: "x86_64", ...options });
}

const melange = (...p: string[]) => fixture("configs", "melange", ...p);

describe("compiling fixture recipes", needsFixtures(), () => {
  test("greeter: main step and one subpackage per greeting, in sorted key order", async () => {
    const file = melange("e2e", "greeter-build-test.yaml");
    const plan = compileRecipe(await loadRecipe(file), { arch: "aarch64", sourceDateEpoch: 1700000000 });
    const env = { ...BASE_ENV, SOURCE_DATE_EPOCH: "1700000000" };
    assert.equal(plan.arch, "aarch64");
    assert.equal(plan.package.fullVersion, "1.0-r0");
    assert.deepEqual(plan.package.dependencies, { runtime: ["busybox"], provides: [], replaces: [] });
    assert.deepEqual(plan.environment.contents.packages, ["busybox"]);
    assert.deepEqual(plan.environment.archs, ["aarch64"]);
    assert.deepEqual(plan.environment.environment, env);
    assert.deepEqual(plan.steps, [
      {
        name: "install greeter",
        uses: [],
        origin: `${file}:34:5 pipeline[0]`,
        script: [
          "bdir=/home/build/melange-out/greeter/usr/bin",
          'mkdir -p "$bdir"',
          'cat > "$bdir/greeter" <<"EOF"',
          "#!/bin/sh",
          "greeting=${0##*/}",
          '[ "$greeting" = "greeter" ] && greeting="howdy"',
          'echo "$greeting${1:+, $1}"',
          "EOF",
          'chmod 755 "$bdir/greeter"',
          "",
        ].join("\n"),
        workingDirectory: "/home/build",
        environment: env,
        needsPackages: [],
      },
    ]);
    const greetings: Array<[string, string, number]> = [
      ["english", "hello", 0],
      ["hawaiian", "aloha", 0],
      ["latvian", "sveiki", 0],
    ];
    assert.deepEqual(
      plan.subpackages.map((s) => ({
        name: s.name,
        description: s.description,
        deps: s.dependencies,
        outDir: s.outDir,
        steps: s.steps,
      })),
      greetings.map(([key, value]) => ({
        name: `greeter-${key}`,
        description: `Greet in ${key}`,
        deps: { runtime: ["greeter"], provides: [], replaces: [] },
        outDir: `/home/build/melange-out/greeter-${key}`,
        steps: [
          {
            name: "subpackages[0].pipeline[0]",
            uses: [],
            origin: `${file}:54:9 subpackages[0].pipeline[0]`,
            script: `mkdir -p "/home/build/melange-out/greeter-${key}/usr/bin"\nln -s greeter /home/build/melange-out/greeter-${key}/usr/bin/${value}\n`,
            workingDirectory: "/home/build",
            environment: env,
            needsPackages: [],
          },
        ],
      })),
    );
  });

  test("env-propagation-uses: the recipe's and the uses step's environment reach the pipeline's steps", async () => {
    const pipelines = tempDir();
    // Same content as melange's e2e-tests/pipelines/check-env.yaml (the pipeline the recipe uses).
    writeFileSync(
      path.join(pipelines, "check-env.yaml"),
      'name: Check environment variable propagation\npipeline:\n  - name: "Verify environment variables"\n    runs: |\n      [ "$GLOBAL_VAR" = "from_config" ]\n      [ "$PIPELINE_VAR" = "from_uses" ]\n',
    );
    const file = melange("e2e", "env-propagation-uses-build.yaml");
    const plan = compileRecipe(await loadRecipe(file), { arch: "x86_64", pipelineDirs: [pipelines] });
    assert.deepEqual(plan.environment.contents.repositories, [
      { raw: "https://packages.wolfi.dev/os", kind: "url", location: "https://packages.wolfi.dev/os" },
    ]);
    assert.deepEqual(plan.environment.environment, { ...BASE_ENV, GLOBAL_VAR: "from_config" });
    assert.deepEqual(plan.steps, [
      {
        name: "check-env: Verify environment variables",
        uses: ["check-env"],
        origin: `${path.join(pipelines, "check-env.yaml")}:3:5 pipeline[0] (pipeline check-env, used at ${file}:21:5 pipeline[0])`,
        script: '[ "$GLOBAL_VAR" = "from_config" ]\n[ "$PIPELINE_VAR" = "from_uses" ]\n',
        workingDirectory: "/home/build",
        environment: { ...BASE_ENV, GLOBAL_VAR: "from_config", PIPELINE_VAR: "from_uses" },
        needsPackages: [],
      },
    ]);
  });

  test("vars and var-transforms: values in steps, working directories and subpackage names", async () => {
    const plan = compileRecipe(await loadRecipe(melange("examples", "vars.yaml")), { arch: "x86_64" });
    assert.deepEqual(plan.vars, {
      foo: "Hello",
      bar: "World",
      buildLocation: "/home/build/foo",
      "short-package-version": "2.12",
    });
    assert.deepEqual(
      plan.steps.map((s) => [s.workingDirectory, s.script]),
      [
        ["/home/build/foo", 'echo "current working directory: $(pwd)"\n'],
        ["/home/build/melange-out/hello", 'echo "Hello World"\n'],
      ],
    );
    assert.deepEqual(
      plan.subpackages.map((s) => [s.name, s.steps[0]?.script]),
      [["subpackage-2.12", 'echo "subpackage-2.12"']],
    );
    const overridden = compileRecipe(await loadRecipe(melange("examples", "vars.yaml")), {
      arch: "x86_64",
      vars: { foo: "Bye" },
    });
    assert.equal(overridden.steps[1]!.script, 'echo "Bye World"\n');

    const transformed = compileRecipe(await loadRecipe(melange("examples", "var-transforms.yaml")), {
      arch: "x86_64",
    });
    assert.match(
      transformed.steps[0]!.script,
      /^uri='https:\/\/github\.com\/foo\/bar\/archive\/refs\/tags\/1\.2\.3\+4\.tar\.gz'$/m,
    );
  });

  test("provides and runtime dependencies are substituted", async () => {
    const plan = compileRecipe(await loadRecipe(melange("examples", "replacement-provides.yaml")), {
      arch: "x86_64",
    });
    assert.deepEqual(plan.package.dependencies.provides, [
      "replacement-provides-version=0.0.1",
      "replacement-provides-foo=FOO",
      "replacement-provides-bar=BAR",
    ]);
  });

  test("range subpackages: one per item, sorted, range.value in descriptions and scripts", async () => {
    const plan = compileRecipe(await loadRecipe(melange("examples", "minimal.yaml")), { arch: "x86_64" });
    assert.deepEqual(
      plan.subpackages.map((s) => [s.name, s.description, s.steps[0]!.script]),
      [
        [
          "lagomorph-hare",
          "data about the lagomorph lepus saxatilis",
          'echo "lepus saxatilis" > /home/build/melange-out/lagomorph-hare/hare\n',
        ],
        [
          "lagomorph-pika",
          "data about the lagomorph ochotona princeps",
          'echo "ochotona princeps" > /home/build/melange-out/lagomorph-pika/pika\n',
        ],
        [
          "lagomorph-rabbit",
          "data about the lagomorph sylvìlagus floridanus",
          'echo "sylvìlagus floridanus" > /home/build/melange-out/lagomorph-rabbit/rabbit\n',
        ],
      ],
    );
  });

  test("if: steps are kept per arch; required-steps is checked before anything runs", async () => {
    const recipe = await loadRecipe(melange("examples", "conditional.yaml"));
    const scripts = (arch: string) => compileRecipe(recipe, { arch }).steps.map((s) => s.script);
    assert.deepEqual(scripts("x86_64"), [
      'echo "build arch is x86_64!"\n',
      "echo \"package name matches 'hello'!\"\n",
      'mkdir -p "/home/build/melange-out/hello"\n',
    ]);
    assert.equal(scripts("arm64")[0], 'echo "build arch is aarch64!"\n');
    const err = configError(() => compileRecipe(recipe, { arch: "riscv64" }));
    assert.match(
      err.message,
      /conditional\.yaml:24:23: pipeline\[0\]\.assertions\.required-steps: requires 1 of its steps to run, but 0 would$/,
    );
  });

  test("target-architecture limits the archs a recipe compiles for", async () => {
    const recipe = await loadRecipe(melange("examples", "one-arch.yaml"));
    assert.equal(recipeTargetsArch(recipe, "amd64"), true);
    assert.equal(recipeTargetsArch(recipe, "aarch64"), false);
    assert.match(
      configError(() => compileRecipe(recipe, { arch: "aarch64" })).message,
      /one-arch is not built for aarch64 \(target-architecture: x86_64\)/,
    );
  });

  test("options: vars, packages and subpackages follow the enabled options", async () => {
    const recipe = await loadRecipe(melange("examples", "options.yaml"));
    const plain = compileRecipe(recipe, { arch: "x86_64" });
    const rustls = compileRecipe(recipe, { arch: "x86_64", options: ["rustls"] });
    assert.deepEqual(
      plain.subpackages.map((s) => s.name),
      ["curl-dev", "curl-doc", "libcurl-openssl4"],
    );
    assert.deepEqual(
      rustls.subpackages.map((s) => s.name),
      ["curl-dev", "curl-doc", "libcurl-rustls4"],
    );
    assert.deepEqual(rustls.subpackages[2]!.dependencies, {
      runtime: [],
      provides: ["libcurl4=7.87.1"],
      replaces: [],
      providerPriority: 10,
    });
    assert.equal(plain.steps.length, 5, "the rustls-only echo step is dropped");
    assert.equal(rustls.steps.length, 6);
    assert.equal(rustls.steps[1]!.script, 'echo "Building with RUSTLS backend"\n');
    assert.match(plain.steps[1]!.script, /--with-openssl \\\n--without-rustls/);
    assert.match(rustls.steps[2]!.script, /--without-openssl \\\n--with-rustls/);
    assert.ok(plain.environment.contents.packages.includes("openssl-dev"));
    assert.ok(!rustls.environment.contents.packages.includes("openssl-dev"));
    assert.ok(rustls.environment.contents.packages.includes("rustls-ffi"));
    assert.deepEqual(rustls.options, ["rustls"]);
    assert.match(
      configError(() => compileRecipe(recipe, { arch: "x86_64", options: ["gnutls"] })).message,
      /no build option named "gnutls" \(options: rustls\)/,
    );
  });

  test("working directories are inherited by nested steps", async () => {
    const plan = compileRecipe(await loadRecipe(melange("examples", "working-directory.yaml")), {
      arch: "x86_64",
    });
    assert.deepEqual(
      plan.steps.map((s) => s.workingDirectory),
      ["/home/build/foo", "/home/build/bar", "/home/build/baz", "/home/build"],
    );
  });

  test("built-in pipelines expand with defaults and needs: gnu-hello", async () => {
    const file = melange("examples", "gnu-hello.yaml");
    const plan = compileRecipe(await loadRecipe(file), { arch: "x86_64" });
    assert.deepEqual(
      plan.steps.map((s) => [s.name, s.uses]),
      [
        ["fetch", ["fetch"]],
        ["autoconf/configure", ["autoconf/configure"]],
        ["autoconf/make", ["autoconf/make"]],
        ["autoconf/make-install", ["autoconf/make-install"]],
        ["strip", ["strip"]],
      ],
    );
    const fetch = plan.steps[0]!.script;
    assert.match(fetch, /^uri='https:\/\/mirrors\.ocf\.berkeley\.edu\/gnu\/hello\/hello-2\.12\.tar\.gz'$/m);
    assert.match(fetch, /^sha256='cf04af86dc085268c5f4470fbae49b18afbc221b78096aab842d934a76bad0ab'$/m);
    assert.match(fetch, /tar -x \$compression -o --strip-components='1' -C '\.' -f "\$name"/);
    assert.match(plan.steps[1]!.script, /--host='x86_64-pc-linux-gnu'/);
    assert.match(plan.steps[3]!.script, /DESTDIR='\/home\/build\/melange-out\/hello'/);
    assert.deepEqual(plan.steps[4]!.needsPackages, ["binutils"]);
    assert.deepEqual(plan.environment.contents.packages, ["build-base", "busybox", "binutils"]);
    assert.doesNotMatch(plan.steps.map((s) => s.script).join("\n"), /\$\{\{/);
  });
});

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
      Object.fromEntries(Object.entries(plan.steps[i]!.environment).filter(([k]) => !(k in BASE_ENV)));
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
      "package: {name: a, version: 1}\ndata:\n  - name: d\n    items: {x: keep, y: drop}\nsubpackages:\n  - name: a-${{range.key}}\n    range: d\n    if: ${{range.value}} == 'keep'\n",
    );
    assert.deepEqual(
      plan.subpackages.map((s) => s.name),
      ["a-x"],
    );
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
      /go build -o "\$out" -tags '' -ldflags '-X main\.version=2\.0\.0' -trimpath {2}\.\/cmd\/app$/m,
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
