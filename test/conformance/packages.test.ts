/**
 * Differential conformance of packages (issue #16, "Packages"): every recipe of the corpus is built
 * by the real `melange build` (bubblewrap runner) and by ours (bubblewrap runner), against the same
 * offline environment repository at the same SOURCE_DATE_EPOCH, and each apk pair is compared
 * field by field (package-compare.ts). Any difference whose class docs/conformance.md's Packages
 * table does not list, with its reason, fails the test. Prints `identical datahash: N of M`.
 */
import * as assert from "node:assert/strict";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { createGzip } from "../../provider/archive/gzip-stream";
import { sha256Hex } from "../../provider/util/hash";
import { hostBusyboxAvailable, toolAvailable } from "../build/build-helpers";
import { needsFixtures, projectRoot } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { tool, toolSkip } from "../helpers/tools";
import { type MelangeEnv, makeMelangeEnv, melangeBuild, ourBuild } from "./melange-env";
import {
  compareApks,
  type Difference,
  describeDifference,
  readApkView,
  sameTarApartFromSbom,
} from "./package-compare";

/** The datahash our gzip would give a data tar (melange's, to see whether equal tars could match). */
async function ourGzipDatahash(tar: Buffer): Promise<string> {
  const gz = createGzip(6);
  const chunks: Buffer[] = [];
  gz.on("data", (c: Buffer) => chunks.push(c));
  const ended = once(gz, "end");
  gz.end(tar);
  await ended;
  return sha256Hex(Buffer.concat(chunks));
}

import { fixtureRecipes, generatedRecipes } from "./package-corpus";

/** The difference classes docs/conformance.md accepts for packages: `key` or `key@package` -> reason. */
export function acceptedPackageDifferences(): Map<string, string> {
  const doc = readFileSync(path.join(projectRoot, "docs", "conformance.md"), "utf8");
  const start = doc.indexOf("\n## Packages");
  assert.ok(start >= 0, "docs/conformance.md has no ## Packages section");
  const next = doc.indexOf("\n## ", start + 1);
  const section = doc.slice(start, next < 0 ? undefined : next);
  const out = new Map<string, string>();
  for (const line of section.split("\n")) {
    const m = /^\|\s*`([^`]+)`\s*\|\s*(.+?)\s*\|\s*$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

function sandboxSkip(): { skip?: string } {
  if (!toolAvailable("bwrap") || !hostBusyboxAvailable())
    return { skip: "needs bwrap and Debian's busybox-static (/bin/busybox)" };
  return toolSkip("melange");
}

describe("packages: ours against melange build", { ...needsFixtures(), ...sandboxSkip() }, () => {
  const dir = tempDir("pd-conf-pkg-");
  const accepted = acceptedPackageDifferences();
  const corpus = [...fixtureRecipes(path.join(dir, "fixtures")), ...generatedRecipes(path.join(dir, "gen"))];
  let env: MelangeEnv;
  const pairs: { file: string; identical: boolean; sameTar: boolean }[] = [];
  let gzipMatches: boolean | undefined;
  const seen = new Set<string>();

  before(async () => {
    env = await makeMelangeEnv(path.join(dir, "env"));
  });

  for (const [i, r] of corpus.entries()) {
    test(r.name, r.skip ? { skip: r.skip } : {}, async (t) => {
      const build = {
        recipe: r.recipe,
        sourceDir: r.sourceDir,
        ...(r.pipelineDirs ? { pipelineDirs: r.pipelineDirs } : {}),
        ...(r.namespace ? { namespace: r.namespace } : {}),
      };
      const theirsDir = path.join(dir, `melange-${i}`);
      await melangeBuild(tool("melange")!, env, { ...build, outDir: theirsDir });
      const ours = await ourBuild(env, { ...build, outDir: path.join(dir, `ours-${i}`) });
      const theirFiles = readdirSync(path.join(theirsDir, "x86_64"))
        .filter((f) => f.endsWith(".apk"))
        .sort();
      assert.deepEqual(
        ours.packages.map((p) => path.basename(p.file)).sort(),
        theirFiles,
        "the same packages, named the same",
      );
      const unlisted: Difference[] = [];
      for (const p of ours.packages) {
        const a = await readApkView(p.file);
        const b = await readApkView(path.join(theirsDir, "x86_64", path.basename(p.file)));
        const identical = a.datahash === b.datahash;
        pairs.push({ file: path.basename(p.file), identical, sameTar: sameTarApartFromSbom(a, b) });
        gzipMatches ??= (await ourGzipDatahash(b.tar)) === b.datahash;
        for (const d of compareApks(a, b)) {
          seen.add(d.key);
          t.diagnostic(`${path.basename(p.file)}: ${describeDifference(d)}`);
          // A row names a class (`entry:uname`) or a class in one package (`entry:only-ours@split-bin`).
          const pkg = a.pkginfo.find(([k]) => k === "pkgname")?.[1] ?? "";
          if (accepted.has(`${d.key}@${pkg}`)) seen.add(`${d.key}@${pkg}`);
          else if (!accepted.has(d.key)) unlisted.push(d);
        }
        // Equal datahash means byte-identical data segments: nothing in them may differ.
        if (identical)
          assert.ok(!compareApks(a, b).some((d) => d.key.startsWith("entry:") || d.key.startsWith("sbom:")));
      }
      assert.deepEqual(
        unlisted.map(describeDifference),
        [],
        "differences not listed (with their reason) in docs/conformance.md's Packages table",
      );
    });
  }

  after(() => {
    const same = pairs.filter((p) => p.identical).length;
    console.log(`identical datahash: ${same} of ${pairs.length}`);
    const sameTar = pairs.filter((p) => p.sameTar).length;
    console.log(`identical data tar (uncompressed) apart from the SBOM entry: ${sameTar} of ${pairs.length}`);
    if (gzipMatches !== undefined)
      console.log(
        `our gzip of melange's own data tar gives melange's datahash: ${gzipMatches ? "yes" : "no (different deflate implementations: equal tars still differ once compressed)"}`,
      );
    const stale = [...accepted.keys()].filter((k) => !seen.has(k));
    if (pairs.length > 0 && stale.length > 0)
      console.log(`docs/conformance.md lists differences this run did not see: ${stale.join(", ")}`);
  });
});
