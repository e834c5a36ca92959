/**
 * Our built-in pipelines against the real melange v0.59.1 (`melange compile`), pipeline by
 * pipeline: the same recipe, using the pipeline with every input set to a value of its own, must
 * compile with both, and each input's value must reach the compiled scripts and the build
 * environment's packages in both or in neither (an input melange runs with is one we run with);
 * an unknown `with:` key and each missing required input are refused by both.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { compileRecipe, PipelineLoader, parseRecipe } from "../../provider/build/recipe";
import { tempDir } from "../helpers/tmp";
import { tool, toolSkip } from "../helpers/tools";
import { SHAPED_INPUT_VALUES, SHIPPED_PIPELINES } from "./shipped-pipelines";

const pipelines = SHIPPED_PIPELINES;

const HEX = SHAPED_INPUT_VALUES;
const marker = (input: string) => HEX[input] ?? `zz${input}zz`;

function recipeYaml(name: string, withs: Record<string, string>): string {
  const lines = Object.entries(withs).map(([k, v]) => `\n          ${k}: '${v}'`);
  // In a subpackage, where the split pipelines belong (melange's refer to the subpackage's dir).
  return `package:\n  name: probe\n  version: 1.0.0\n  epoch: 0\nsubpackages:\n  - name: probe-sub\n    pipeline:\n      - uses: ${name}${lines.length ? `\n        with:${lines.join("")}` : ""}\n`;
}

interface MelangeResult {
  ok: boolean;
  stderr: string;
  /** Every compiled `runs` and the build environment's packages, as one text. */
  text: string;
}

function collectRuns(node: unknown, out: string[]): void {
  if (Array.isArray(node)) for (const n of node) collectRuns(n, out);
  else if (node && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) {
      if (k === "runs" && typeof v === "string") out.push(v);
      else collectRuns(v, out);
    }
  }
}

function melangeCompile(melange: string, dir: string, yaml: string): MelangeResult {
  const file = path.join(dir, "probe.yaml");
  writeFileSync(file, yaml);
  const res = spawnSync(melange, ["compile", "--arch", "x86_64", file], { cwd: dir, encoding: "utf8" });
  if (res.status !== 0) return { ok: false, stderr: res.stderr, text: "" };
  const doc = JSON.parse(res.stdout) as { environment?: { contents?: { packages?: string[] } } };
  const texts: string[] = [];
  collectRuns(doc, texts);
  texts.push(...(doc.environment?.contents?.packages ?? []));
  return { ok: true, stderr: res.stderr, text: texts.join("\n") };
}

function ourCompile(yaml: string): { ok: true; text: string } | { ok: false; message: string } {
  try {
    const plan = compileRecipe(parseRecipe(yaml, "/recipes/probe.yaml"), { arch: "x86_64" });
    return {
      ok: true,
      text: [
        ...plan.subpackages.flatMap((sp) => sp.steps.map((s) => s.script)),
        ...plan.environment.contents.packages,
      ].join("\n"),
    };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

describe("built-in pipelines against melange compile", toolSkip("melange"), () => {
  const loader = new PipelineLoader();
  const inputsOf = (name: string) => loader.load(name).definition.inputs ?? {};

  test("every input set: both compile, and the same inputs reach what runs", () => {
    const melange = tool("melange")!;
    const dir = tempDir();
    const differences: string[] = [];
    for (const name of pipelines) {
      const withs = Object.fromEntries(Object.keys(inputsOf(name)).map((k) => [k, marker(k)]));
      const yaml = recipeYaml(name, withs);
      const theirs = melangeCompile(melange, dir, yaml);
      const ours = ourCompile(yaml);
      if (!theirs.ok || !ours.ok) {
        differences.push(
          `${name}: melange ${theirs.ok ? "accepts" : `refuses (${theirs.stderr.trim().split("\n").pop()})`}, we ${ours.ok ? "accept" : `refuse (${ours.message})`}`,
        );
        continue;
      }
      const used = (text: string) => Object.keys(withs).filter((k) => text.includes(marker(k)));
      const only = (a: string[], b: string[]) => a.filter((k) => !b.includes(k));
      const [mine, melanges] = [used(ours.text), used(theirs.text)];
      if (only(mine, melanges).length || only(melanges, mine).length) {
        differences.push(
          `${name}: only melange uses [${only(melanges, mine).join(", ")}], only we use [${only(mine, melanges).join(", ")}]`,
        );
      }
    }
    assert.deepEqual(differences, []);
  });

  test("an unknown with key and each missing required input are refused by both", () => {
    const melange = tool("melange")!;
    const dir = tempDir();
    for (const name of pipelines) {
      const inputs = inputsOf(name);
      const required = Object.keys(inputs).filter((k) => inputs[k]!.required);
      const base = Object.fromEntries(required.map((k) => [k, marker(k)]));

      const unknown = recipeYaml(name, { ...base, "zz-not-an-input": "x" });
      const theirs = melangeCompile(melange, dir, unknown);
      assert.ok(!theirs.ok, `melange accepted an unknown input to ${name}`);
      assert.match(theirs.stderr, /undefined input "zz-not-an-input"/);
      const ours = ourCompile(unknown);
      assert.ok(!ours.ok, `we accepted an unknown input to ${name}`);
      assert.match(ours.message, /pipeline\[0\]\.with\.zz-not-an-input: unknown input "zz-not-an-input"/);

      for (const input of required) {
        const { [input]: _dropped, ...rest } = base;
        const missing = recipeYaml(name, rest);
        const theirs = melangeCompile(melange, dir, missing);
        assert.ok(!theirs.ok, `melange accepted ${name} without ${input}`);
        assert.match(theirs.stderr, new RegExp(`required input "${input}" for pipeline is missing`));
        const ours = ourCompile(missing);
        assert.ok(!ours.ok, `we accepted ${name} without ${input}`);
        assert.match(ours.message, new RegExp(`requires input "${input}"`));
      }
    }
  });
});
