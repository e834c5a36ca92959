/**
 * Differential conformance of images against the real apko (issue #16, "Images" and
 * "Cross-checks"): every generated case and every fixture apko config that builds offline is built
 * by `apko build` and by us from the same signed repository (written by our apk writer, index
 * writer and keygen, so apko installing it is the cross-check), at the same SOURCE_DATE_EPOCH.
 * Any entry-level difference not documented in docs/conformance.md fails its case; the goal is an
 * identical diff_id everywhere, and the run prints how close it is.
 */
import * as assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { fixture, fixturesAvailable } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { tool, toolSkip } from "../helpers/tools";
import { caseConfig, imageCases } from "./generate/cases";
import { writeConformanceRepo } from "./generate/repo";
import { type BuildOutput, buildWithApko, buildWithUs } from "./image-builds";
import { compareBuilds, type Difference, documentedDivergences, isDocumented } from "./image-compare";

const EPOCH = 1_700_000_000;

interface CaseRun {
  name: string;
  configFile: string;
  archs: string[];
  /** apko resolves relative repository/keyring paths against its working directory. */
  cwd: string;
}

/** The fixture configs, each as-is or with the reason it is substituted or skipped. */
const FIXTURES: { file: string; skip?: string; networkRepos?: boolean }[] = [
  { file: "apko.yaml" },
  { file: "apko-certs.yaml" },
  { file: "base_image.apko.yaml" },
  { file: "empty-layering.yaml" },
  // Alpine's and Chainguard's repositories need the network: built with the local repository only.
  { file: "apko-discover.yaml", networkRepos: true },
  {
    file: "layering.yaml",
    skip: "several layers per image: compared layer by layer with apko build in test/image/layering-apko.test.ts",
  },
];

describe("images: differential conformance with apko build", toolSkip("apko"), () => {
  const apko = tool("apko")!;
  const dir = tempDir("pd-conformance-");
  const runs: CaseRun[] = [];
  const table = documentedDivergences();
  const used = new Set<string>();
  let images = 0;
  let identical = 0;

  before(async () => {
    const repo = await writeConformanceRepo(dir);
    for (const [i, c] of imageCases().entries()) {
      const caseDir = path.join(dir, "cases", String(i));
      await fsp.mkdir(caseDir, { recursive: true });
      const configFile = path.join(caseDir, "apko.yaml");
      writeFileSync(configFile, stringify(caseConfig(c, repo.root, repo.publicKey)));
      runs.push({ name: c.name, configFile, archs: c.archs, cwd: caseDir });
    }
  });

  after(() => {
    console.log(
      `identical diff_id: ${identical} of ${images} images (${runs.length} generated cases + fixtures)`,
    );
  });

  const check = async (run: CaseRun) => {
    const workDir = path.join(path.dirname(run.configFile), "out");
    await fsp.mkdir(workDir, { recursive: true });
    const theirs: BuildOutput = await buildWithApko({
      apko,
      configFile: run.configFile,
      archs: run.archs,
      workDir,
      cwd: run.cwd,
      cacheDir: path.join(dir, "apko-cache"),
      epoch: EPOCH,
    });
    const ours = await buildWithUs({
      configFile: run.configFile,
      workDir,
      cacheDir: path.join(dir, "our-cache"),
      epoch: EPOCH,
    });
    for (const [platform, image] of theirs.images) {
      images++;
      if (ours.images.get(platform)?.diffId === image.diffId) identical++;
    }
    const diffs = await compareBuilds(run.name, theirs, ours);
    const undocumented: Difference[] = [];
    for (const d of diffs) {
      const row = isDocumented(d, table);
      if (row) used.add(`${row.where}|${row.field}|${row.cases}`);
      else undocumented.push(d);
    }
    const show = (d: Difference) =>
      `  ${d.where} ${d.field}: apko ${JSON.stringify(d.apko)} / ours ${JSON.stringify(d.ours)}`;
    assert.deepEqual(
      undocumented,
      [],
      `${run.name}: differences from apko not in docs/conformance.md:\n${undocumented.map(show).join("\n")}`,
    );
  };

  test("generated cases", async (t) => {
    assert.ok(runs.length >= 50, `only ${runs.length} generated cases`);
    for (const run of runs) await t.test(run.name, () => check(run));
  });

  test("fixture apko configs", { skip: fixturesAvailable() ? false : "no ../shared/fixtures" }, async (t) => {
    for (const f of FIXTURES) {
      await t.test(f.file, { skip: f.skip ?? false }, async () => {
        let configFile = fixture("configs", "apko", f.file);
        let cwd = path.dirname(configFile);
        if (f.networkRepos) {
          // A copy without the network repositories, its relative paths made absolute.
          const text = (await fsp.readFile(configFile, "utf8"))
            .replace(/^\s*- https:\/\/.*\n/gm, "")
            .replaceAll("../../", `${fixture()}/`);
          cwd = path.join(dir, "fixtures", f.file);
          await fsp.mkdir(cwd, { recursive: true });
          configFile = path.join(cwd, f.file);
          writeFileSync(configFile, text);
        }
        await check({ name: `fixture/${f.file}`, configFile, archs: ["x86_64", "aarch64"], cwd });
      });
    }
  });

  test("every documented divergence still occurs", () => {
    const stale = table.filter((r) => !used.has(`${r.where}|${r.field}|${r.cases}`));
    assert.deepEqual(stale, [], "rows of docs/conformance.md's Images table that no case needs any more");
  });
});
