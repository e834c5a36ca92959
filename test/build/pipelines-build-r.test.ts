// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
/**
 * A real build through R/build (Debian's r-base-core, which scripts/setup.sh installs): an R package
 * (DESCRIPTION, NAMESPACE, R/*.R) installed from its source directory and, in a subpackage, from
 * the source tarball `R CMD build` makes of it, into R's library dir; then loaded with library().
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { describe, test } from "node:test";
import { build, filesOf, has, needsHostTools, runOk, textOf, unpacked } from "./pipelines-build-helpers";

const R_PACKAGE = {
  "pkgs/hellor/DESCRIPTION":
    "Package: hellor\nVersion: 0.1.0\nTitle: Says Hello\nDescription: Says hello.\nAuthor: t\nMaintainer: t <t@example.com>\nLicense: MIT\n",
  "pkgs/hellor/NAMESPACE": "export(hello)\n",
  "pkgs/hellor/R/hello.R": 'hello <- function() "hello from R"\n',
};

const RECIPE = `package: {name: R-hellor, version: 0.1.0, epoch: 0}
pipeline:
  - uses: R/build
    with:
      package: hellor
      path: pkgs/hellor
      version: 0.1.0
subpackages:
  - name: R-hellor-from-tarball
    pipeline:
      - runs: R CMD build --no-build-vignettes --no-manual pkgs/hellor
      - uses: R/build
        with:
          package: hellor
          path: hellor_0.1.0.tar.gz
          version: 0.1.0
`;

const LIB = "usr/lib/R/library";

describe("real build through the R pipeline", () => {
  test(
    "R/build: an R package installed from its source dir and from its tarball, loadable with library()",
    needsHostTools(has("Rscript", "--version") && has("R", "--version"), "R (r-base-core) is needed"),
    async () => {
      const built = await build(RECIPE, R_PACKAGE);
      for (const name of ["R-hellor", "R-hellor-from-tarball"]) {
        const files = filesOf(built, name);
        for (const f of ["NAMESPACE", "R/hellor.rdb", "R/hellor.rdx", "Meta/package.rds"])
          assert.ok(files.has(`${LIB}/hellor/${f}`), `${name}: ${LIB}/hellor/${f}`);
        assert.match(textOf(built, name, `${LIB}/hellor/DESCRIPTION`), /^Version: 0\.1\.0$/m);
        // Nothing but the library (and the SBOM every package carries) outside R's library dir.
        assert.deepEqual(
          [...files.entries()]
            .filter(([f, e]) => e.type === "file" && !f.startsWith(`${LIB}/hellor/`))
            .map(([f]) => f),
          [`var/lib/db/sbom/${name}-0.1.0-r0.spdx.json`],
        );
        const root = await unpacked(built, name);
        assert.equal(
          runOk("Rscript", [
            "-e",
            `library(hellor, lib.loc = "${path.join(root, LIB)}"); cat(hello(), "\\n", sep = "")`,
          ]),
          "hello from R\n",
        );
      }
    },
  );
});
