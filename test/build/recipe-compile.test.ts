// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { compileRecipe, loadRecipe, recipeTargetsArch } from "../../provider/build/recipe";
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
    // As in melange, ${{package.name}} is substituted as text before the condition is parsed, so
    // the example's unquoted `${{package.name}} == 'hello'` is a bare word: melange compile refuses it.
    const asIs = await loadRecipe(melange("examples", "conditional.yaml"));
    assert.match(
      configError(() => compileRecipe(asIs, { arch: "x86_64" })).message,
      /conditional\.yaml:34:9: pipeline\[1\]\.if: if: unexpected "h" .* of "hello == 'hello'"/,
    );
    // Quoted, the same conditions work.
    const quoted = path.join(tempDir(), "conditional.yaml");
    writeFileSync(
      quoted,
      readFileSync(melange("examples", "conditional.yaml"), "utf8").replace(
        /if: (\$\{\{package\.name\}\}) (.=) 'hello'/g,
        `if: "'$1' $2 'hello'"`,
      ),
    );
    const recipe = await loadRecipe(quoted);
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
