/**
 * `pulumi-distroless compile` against `melange compile` on every recipe in the fixtures: what
 * melange accepts we compile, what it refuses we refuse naming the file, line and field; the e2e
 * recipes that `uses:` melange's own test pipelines compile once `--pipeline-dir` points at a
 * directory holding them, and are refused without it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { main } from "../../provider/cli/main";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { tool, toolSkip } from "../helpers/tools";

async function compile(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(["compile", ...args], {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
  });
  return { code, stdout, stderr };
}

/** Every recipe under configs/melange (the e2e test pipelines are pipelines, not recipes). */
function recipes(): string[] {
  const root = fixture("configs", "melange");
  return readdirSync(root, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".yaml") && !f.startsWith(path.join("e2e", "pipelines")))
    .sort()
    .map((f) => path.join(root, f));
}

/** A pipeline directory of the test's own, holding the e2e pipelines some recipes `uses:`. */
function testPipelineDir(): string {
  const dir = tempDir();
  const src = fixture("configs", "melange", "e2e", "pipelines");
  for (const f of readdirSync(src)) copyFileSync(path.join(src, f), path.join(dir, f));
  return dir;
}

describe("compile verb", needsFixtures(), () => {
  test("prints the compiled recipe as YAML: pipelines expanded, substitutions done", async () => {
    const recipe = fixture("configs", "melange", "examples", "go-build.yaml");
    const res = await runCli(["compile", recipe, "--arch", "aarch64"]);
    assert.equal(res.code, 0, res.stderr);
    const doc = parse(res.stdout) as {
      arch: string;
      package: { name: string };
      environment: { contents: { packages: string[] } };
      pipeline: { uses?: string[]; runs: string }[];
    };
    assert.equal(doc.arch, "aarch64");
    const goBuild = doc.pipeline.find((s) => s.uses?.includes("go/build"));
    assert.ok(goBuild, "the go/build step is there, expanded");
    assert.match(goBuild.runs, /go build -o "\$out"/);
    assert.doesNotMatch(res.stdout, /\$\{\{/);
    assert.ok(doc.environment.contents.packages.includes("go"), "the pipeline's needs join the environment");

    const two = await compile([recipe, "--arch", "x86_64", "--arch", "aarch64"]);
    assert.equal(two.code, 0, two.stderr);
    assert.equal(two.stdout.split(/^---$/m).length, 2, "one YAML document per arch");
    const bad = await compile([]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /compile needs exactly one MELANGE_YAML/);
  });

  test("every fixture recipe: accepted or refused as melange compile does", toolSkip("melange"), async () => {
    const melange = tool("melange")!;
    const pipelineDir = testPipelineDir();
    const work = tempDir();
    const mismatches: string[] = [];
    let accepted = 0;
    let refused = 0;
    for (const recipe of recipes()) {
      const args = [recipe, "--arch", "x86_64", "--pipeline-dir", pipelineDir];
      const theirs = spawnSync(melange, ["compile", ...args], { cwd: work, encoding: "utf8" });
      const ours = await compile(args);
      const name = path.relative(fixture("configs", "melange"), recipe);
      if (theirs.status === 0) {
        accepted++;
        if (ours.code !== 0) mismatches.push(`${name}: melange accepts, we refuse: ${ours.stderr.trim()}`);
        else
          assert.equal((parse(ours.stdout) as { package: { name: string } }).package.name.length > 0, true);
      } else {
        refused++;
        if (ours.code === 0) {
          mismatches.push(`${name}: melange refuses, we accept (${theirs.stderr.trim().split("\n").pop()})`);
        } else if (!/\.yaml:\d+:\d+: [a-z][\w.[\]-]*: /.test(ours.stderr)) {
          mismatches.push(`${name}: refused without naming the field: ${ours.stderr.trim()}`);
        }
      }
    }
    assert.deepEqual(mismatches, []);
    // The corpus has both kinds, so neither branch above is vacuous.
    assert.ok(accepted > 50 && refused >= 6, `accepted ${accepted}, refused ${refused}`);
  });

  test("recipes using their own pipelines need --pipeline-dir", async () => {
    const users = recipes().filter((r) => /e2e\/(accounts-|env-propagation-uses)/.test(r));
    assert.ok(users.length >= 9);
    const pipelineDir = testPipelineDir();
    for (const recipe of users) {
      const without = await compile([recipe, "--arch", "x86_64"]);
      assert.equal(without.code, 1, recipe);
      assert.match(
        without.stderr,
        /pipeline(\[\d+\])+\.uses: pipeline "check-(accounts|env)" not found/,
        recipe,
      );
      const withDir = await compile([recipe, "--arch", "x86_64", "--pipeline-dir", pipelineDir]);
      assert.equal(withDir.code, 0, `${recipe}: ${withDir.stderr}`);
      const doc = parse(withDir.stdout) as {
        pipeline: { uses?: string[] }[];
        subpackages: { pipeline: { uses?: string[] }[] }[];
      };
      const uses = [...doc.pipeline, ...doc.subpackages.flatMap((s) => s.pipeline)].flatMap(
        (s) => s.uses ?? [],
      );
      assert.ok(
        uses.some((u) => u.startsWith("check-")),
        `${recipe}: the test pipeline was expanded`,
      );
    }
  });
});
