import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseApkoConfig } from "../../provider/image/config";
import { parseRepositorySource } from "../../provider/repository/source";
import { worldEntryProblem } from "../../provider/resolve/constraint";
import { resolvePackages } from "../../provider/resolve/resolve";
import { isDistrolessError } from "../../provider/util/errors";
import { configError } from "../helpers/config-errors";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

/** A world entry whose version is not an apk version is an error naming it, as in apk-tools. */
describe("world entries", () => {
  test("versions must be apk versions; a >< operand must be a checksum", () => {
    for (const ok of [
      "busybox",
      "pkg>=1.2",
      "pkg=1.2.3_rc1-r0",
      "pkg~1",
      "pkg@edge<2",
      "pkg=1.2@local",
      "/bin/sh",
    ]) {
      assert.equal(worldEntryProblem(ok), undefined, ok);
    }
    assert.match(worldEntryProblem("pkg>=abc!!") ?? "", /"abc!!" is not a valid apk version/);
    assert.match(worldEntryProblem("pkg=1..2") ?? "", /"1\.\.2" is not a valid apk version/);
    assert.match(worldEntryProblem("pkg><Q1abc") ?? "", /not a package checksum/);
    assert.match(worldEntryProblem("pkg>=") ?? "", /invalid version constraint/);
  });

  test("apko.yaml: the bad entry is named with its line", () => {
    const err = configError(() =>
      parseApkoConfig("contents:\n  packages:\n    - busybox\n    - pkg>=abc!!\n", "apko.yaml"),
    );
    assert.match(err.message, /apko\.yaml:4:.*contents\.packages\[1\].*"pkg>=abc!!".*"abc!!"/);
  });

  test("the resolver refuses it instead of resolving silently", needsFixtures(), async () => {
    const root = fixture("local-repo");
    const err = await resolvePackages(
      {
        repositories: [parseRepositorySource(root)],
        keys: [{ kind: "local", location: `${root}/melange.rsa.pub` }],
        packages: ["pretend-baselayout>=abc!!"],
        archs: ["x86_64"],
      },
      { cacheDir: tempDir() },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isDistrolessError(err, "E_CONFIG"), String(err));
    assert.match(err.message, /invalid package constraint "pretend-baselayout>=abc!!"/);
  });
});
