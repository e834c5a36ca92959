// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
/**
 * A real run of llvm/covreport (Debian's llvm, clang and clang's profile runtime, which
 * scripts/setup.sh installs): a program built with clang's coverage instrumentation runs once in the
 * build, and the pipeline merges its profile and reports the coverage llvm-cov measures, with and
 * without the file filter; with no object to report on it fails the build saying so.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { build, filesOf, has, needsHostTools } from "./pipelines-build-helpers";

const SOURCES = {
  "hello.c":
    '#include <stdio.h>\nint unused(void);\nint main(void) { puts("hello from clang"); return 0; }\n',
  // Never called: half the functions are covered, all of them once this file is filtered out.
  "other.c": "int unused(void) { return 7; }\n",
};

const BUILD_AND_RUN = `  - runs: |
      clang -fprofile-instr-generate -fcoverage-mapping -o hello hello.c other.c
      LLVM_PROFILE_FILE=default_%p.profraw ./hello
      mkdir -p \${{targets.destdir}}/usr/bin
      cp hello \${{targets.destdir}}/usr/bin/hello
`;

describe("real run of the llvm/covreport pipeline", () => {
  test(
    "llvm/covreport: the merged profile's coverage of the object, ignore-filename-regex honoured; no object fails",
    needsHostTools(
      has("clang", "--version") && has("llvm-profdata", "merge", "--help") && has("llvm-cov", "--version"),
      "clang (with libclang-rt-dev) and llvm are needed",
    ),
    async () => {
      const built = await build(
        `package: {name: hello-cov, version: 1.0.0, epoch: 0}\npipeline:\n${BUILD_AND_RUN}  - uses: llvm/covreport\n    with:\n      package: llvm-14\n      object: ./hello\n      ignore-filename-regex: other\\.c\n  - uses: llvm/covreport\n    with:\n      object: ./hello\n`,
        SOURCES,
      );
      assert.ok(filesOf(built, "hello-cov").has("usr/bin/hello"));
      const reports = [...built.log.matchAll(/Statements coverage: (\S+)/g)].map((m) => m[1]);
      assert.deepEqual(reports, ["100.00%", "50.00%"], built.log);

      // No object given and no apk database to find the package's binary in: a clear failure.
      await assert.rejects(
        build(
          `package: {name: hello-cov, version: 1.0.0, epoch: 0}\npipeline:\n${BUILD_AND_RUN}  - uses: llvm/covreport\n`,
          SOURCES,
        ),
        /llvm\/covreport: no object to report on \(set object\)/,
      );
    },
  );
});
