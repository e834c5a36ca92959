import * as assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { describe, test } from "node:test";
import { writeApk } from "../../provider/apk/apk-writer";
import type { DataEntry } from "../../provider/apk/data-entry";
import { assembleImage } from "../../provider/image/assemble";
import { validateApkoConfig } from "../../provider/image/config";
import type { InstallPlan } from "../../provider/image/install-plan";
import { isDistrolessError } from "../../provider/util/errors";
import { tempDir } from "../helpers/tmp";
import {
  dir,
  directPlan,
  file,
  fileText,
  pkgInfo,
  rawApk,
  readLayer,
  symlink,
  withParents,
} from "./image-helpers";

const config = () => validateApkoConfig({ archs: ["x86_64"] }, "hostile.yaml");

async function apk(root: string, name: string, entries: DataEntry[]): Promise<string> {
  const out = path.join(root, "repo", "x86_64", `${name}-1.0-r0.apk`);
  await writeApk({ pkginfo: pkgInfo(name, "1.0-r0", "x86_64"), entries, output: out });
  return out;
}

async function assemble(root: string, plan: InstallPlan) {
  return assembleImage({
    config: config(),
    plans: [plan],
    cacheDir: path.join(root, "cache"),
    outputDir: path.join(root, "oci"),
    keys: [],
  });
}

/** The refusal names the package, and nothing usable was left behind: no index, no stray temp files. */
async function refused(
  root: string,
  plan: InstallPlan,
  code: "E_HOSTILE" | "E_CHECKSUM" | "E_CONFLICT",
  pattern: RegExp,
) {
  await assert.rejects(assemble(root, plan), (e) => {
    assert.ok(isDistrolessError(e, code), `${code}, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
  assert.ok(!existsSync(path.join(root, "oci", "index.json")), "no index.json");
  for (const tmp of [path.join(root, "cache", "files", "tmp"), path.join(root, "cache", "unpacked", "tmp")]) {
    if (existsSync(tmp)) assert.deepEqual(readdirSync(tmp), [], "no half-written store entries");
  }
}

describe("hostile packages are refused", () => {
  test("writing through a symlink of the same package that points outside the root", async () => {
    const root = tempDir();
    const f = await apk(root, "evil", [symlink("escape", "../../../../tmp"), dir("escape/pwned")]);
    await refused(
      root,
      await directPlan("x86_64", [f]),
      "E_HOSTILE",
      /evil-1\.0-r0.*escape\/pwned.*outside the image root/,
    );
    const g = await apk(root, "evil2", [
      symlink("up", ".."),
      file("up/up/etc-passwd", "root::0:0::/:/bin/sh\n"),
    ]);
    await refused(root, await directPlan("x86_64", [g]), "E_HOSTILE", /outside the image root/);
  });

  test("writing through another package's symlink that points outside the root", async () => {
    const root = tempDir();
    const a = await apk(
      root,
      "innocent",
      withParents([symlink("usr/lib/plugins", "../../../../../var/run")]),
    );
    const b = await apk(root, "attacker", withParents([file("usr/lib/plugins/hook.so", "boom")]));
    await refused(
      root,
      await directPlan("x86_64", [a, b]),
      "E_HOSTILE",
      /attacker-1\.0-r0: usr\/lib\/plugins.*outside the image root/,
    );
  });

  test("symlink loops are refused rather than followed forever", async () => {
    const root = tempDir();
    const a = await apk(root, "loop", [symlink("a", "b"), symlink("b", "a")]);
    const b = await apk(root, "victim", [file("a/x", "x")]);
    await refused(
      root,
      await directPlan("x86_64", [a, b]),
      "E_HOSTILE",
      /victim-1\.0-r0: a\/x.*too many levels of symlinks/,
    );
    const c = await apk(root, "dangling", [symlink("d", "nowhere"), file("d/x", "x")]);
    await refused(
      root,
      await directPlan("x86_64", [c]),
      "E_CONFLICT",
      /d\/x goes through a symlink to nowhere, which does not exist/,
    );
  });

  test("an absolute symlink resolves from the image root, not the host's", async () => {
    const root = tempDir();
    const f = await apk(root, "abs", [
      dir("etc"),
      symlink("conf", "/etc"),
      file("conf/app.conf", "inside\n"),
    ]);
    await assemble(root, await directPlan("x86_64", [f]));
    const layer = await readLayer(path.join(root, "oci"), "amd64");
    assert.equal(fileText(layer, "etc/app.conf"), "inside\n");
  });

  for (const name of ["../escape", "usr/../../escape", "./../x"]) {
    test(`an entry named ${JSON.stringify(name)} is refused`, async () => {
      const root = tempDir();
      const f = path.join(root, "repo", "x86_64", "dots-1.0-r0.apk");
      await fsp.mkdir(path.dirname(f), { recursive: true });
      writeFileSync(
        f,
        rawApk("pkgname = dots\npkgver = 1.0-r0\narch = x86_64\n", [
          { name: "usr", type: "directory" },
          { name, body: "owned" },
        ]),
      );
      await refused(root, await directPlan("x86_64", [f]), "E_HOSTILE", /climbs out of the root/);
    });
  }

  test("a package that is not the one the lock names is refused before anything is installed", async () => {
    const root = tempDir();
    const good = await apk(root, "pkg", [file("etc/x", "1")]);
    const plan = await directPlan("x86_64", [good]);
    plan.packages[0]!.checksum = "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    await refused(root, plan, "E_CHECKSUM", /control checksum .* the lock says Q1AAAA/);
  });
});
