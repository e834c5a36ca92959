/**
 * split/manpages, split/infodir and split/locales move what melange 0.59's do and leave behind what
 * its leave behind (test/conformance/packages.test.ts compares the same with `melange build`).
 */
import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { buildPackage } from "../../provider/build/build";
import { tempDir } from "../helpers/tmp";
import { apkFiles } from "./build-helpers";

const RECIPE = `package:
  name: docs
  version: 1.0
  epoch: 0
pipeline:
  - runs: |
      d=\${{targets.destdir}}
      mkdir -p $d/usr/bin $d/usr/share/man/man1 $d/usr/man/man5 $d/usr/local/share/man/man8
      mkdir -p $d/usr/share/info $d/usr/share/locale/de/LC_MESSAGES $d/usr/lib/locale/C.utf8
      echo tool > $d/usr/bin/tool
      echo page > $d/usr/share/man/man1/tool.1
      echo conf > $d/usr/man/man5/tool.5
      echo admin > $d/usr/local/share/man/man8/tool.8
      echo info > $d/usr/share/info/tool.info
      echo index > $d/usr/share/info/dir
      echo mo > $d/usr/share/locale/de/LC_MESSAGES/tool.mo
      echo ctype > $d/usr/lib/locale/C.utf8/LC_CTYPE
subpackages:
  - name: docs-doc
    pipeline:
      - uses: split/manpages
      - uses: split/infodir
  - name: docs-lang
    pipeline:
      - uses: split/locales
`;

describe("split pipelines for documentation and translations", () => {
  test("man pages of every man dir land in usr/share/man; the emptied usr/share stays in the main package", async () => {
    const dir = tempDir();
    const src = path.join(dir, "src");
    mkdirSync(src, { recursive: true });
    const recipe = path.join(dir, "docs.yaml");
    writeFileSync(recipe, RECIPE);
    const built = await buildPackage({
      recipeFile: recipe,
      sourceDir: src,
      arch: "x86_64",
      runner: "host",
      outDir: path.join(dir, "out"),
      cacheDir: path.join(dir, "cache"),
    });
    const listing = async (name: string) => {
      const pkg = built.packages.find((p) => p.name === name)!;
      return [...(await apkFiles(pkg.file)).keys()].filter((p) => !p.startsWith("var/lib/db/sbom")).sort();
    };
    assert.deepEqual(await listing("docs"), [
      "usr",
      "usr/bin",
      "usr/bin/tool",
      "usr/lib",
      "usr/lib/locale",
      "usr/lib/locale/C.utf8",
      "usr/lib/locale/C.utf8/LC_CTYPE",
      "usr/share",
      "var",
      "var/lib",
      "var/lib/db",
    ]);
    assert.deepEqual(await listing("docs-doc"), [
      "usr",
      "usr/share",
      "usr/share/info",
      "usr/share/info/tool.info",
      "usr/share/man",
      "usr/share/man/man1",
      "usr/share/man/man1/tool.1",
      "usr/share/man/man5",
      "usr/share/man/man5/tool.5",
      "usr/share/man/man8",
      "usr/share/man/man8/tool.8",
      "var",
      "var/lib",
      "var/lib/db",
    ]);
    assert.deepEqual(await listing("docs-lang"), [
      "usr",
      "usr/share",
      "usr/share/locale",
      "usr/share/locale/de",
      "usr/share/locale/de/LC_MESSAGES",
      "usr/share/locale/de/LC_MESSAGES/tool.mo",
      "var",
      "var/lib",
      "var/lib/db",
    ]);
  });
});
