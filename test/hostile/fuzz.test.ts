import * as assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { tempDir } from "../helpers/tmp";
import { testKey } from "../image/image-helpers";
import { type Corpus, makeCorpus, runFuzz } from "./fuzz-corpus";

/**
 * A bounded, seeded fuzz run (bench/fuzz.ts runs many more from any seed): every mutant of a signed
 * apk and a signed APKINDEX is refused with a DistrolessError or reads back exactly as the original;
 * the unverified parse (inspect's) never throws anything but a DistrolessError.
 */

const SEED = 20261127;
const CASES = 300;

let corpus: Corpus;
const DIR = tempDir("pd-fuzz-");

before(async () => {
  corpus = await makeCorpus(DIR, await testKey("fuzz.rsa"));
});

describe("fuzzing the apk and index readers", () => {
  test(`${CASES} apk and ${CASES} index mutants from seed ${SEED}: refused or identical, never a crash`, async () => {
    const results = await runFuzz(corpus, SEED, CASES);
    const bugs = results.filter((r) => r.outcome.startsWith("bug:"));
    assert.deepEqual(
      bugs.map((b) => `${b.outcome} after ${b.mutation}: ${b.detail}`),
      [],
      "every mutant is refused or identical",
    );
    const count = (o: string) => results.filter((r) => r.outcome === o).length;
    // Both outcomes occur, so the run exercised the readers rather than one early exit.
    assert.ok(count("refused") > CASES / 2, `refused ${count("refused")}`);
    assert.ok(count("identical") > 0, `identical ${count("identical")}`);
  });
});
