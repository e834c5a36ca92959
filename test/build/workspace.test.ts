/**
 * The build workspace: the source tree is mounted (an overlay) instead of copied where the machine
 * allows it, with a copy's semantics. A recipe that writes into its source tree (appends in place,
 * `sed -i`, rm, chmod) sees its writes, and the user's source dir is left exactly as it was:
 * contents, modes, inodes (a hard link is not written through). Ignored files and private keys stay
 * out of the workspace when it is mounted too. Runs with the host runner and in the sandbox; the
 * recipe's test section gets a fresh workspace of the source the same way.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { buildPackage } from "../../provider/build/build";
import { hostArch } from "../../provider/image/config/arch";
import { findOnPath } from "../../provider/util/which";
import { tempDir } from "../helpers/tmp";
import {
  apkFiles,
  type BusyboxRepo,
  hostBusyboxAvailable,
  makeBusyboxRepo,
  toolAvailable,
} from "./build-helpers";

const RECIPE = `package:
  name: writes-source
  version: 1.0.0
  epoch: 0
  copyright:
    - license: MIT
      license-path: LICENSE
environment:
  contents:
    packages:
      - busybox
pipeline:
  - runs: |
      test ! -e secret.txt
      test ! -e deploy.rsa
      echo two >> a.txt
      echo more >> linked.txt
      sed -i s/bee/BEE/ sub/b.txt
      chmod 600 sub/b.txt
      rm gone.txt
      echo "written by the recipe" > LICENSE
      d=\${{targets.destdir}}/usr/share/ws
      mkdir -p $d
      cp a.txt linked.txt sub/b.txt $d/
      ls -a | sort > $d/listing
      ls -l sub/b.txt | cut -c1-10 > $d/b-mode
test:
  environment:
    contents:
      packages:
        - busybox
  pipeline:
    - runs: |
        test "$(cat a.txt)" = one
        test ! -e secret.txt
        echo three >> a.txt
        echo more >> linked.txt
`;

/** path -> "type mode ino content" of every entry under dir: what must not change. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (abs: string, rel: string) => {
    for (const name of readdirSync(abs).sort()) {
      const p = path.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      const body = st.isFile() ? readFileSync(p, "latin1") : st.isSymbolicLink() ? "link" : "dir";
      out.set(r, `${st.mode.toString(8)} ${st.ino} ${st.size} ${body}`);
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(dir, "");
  return out;
}

/** A source dir the recipe writes into; `filtered` adds an ignored file and a private key. */
function makeSource(dir: string, filtered: boolean): string {
  const src = path.join(dir, filtered ? "src-filtered" : "src-complete");
  mkdirSync(path.join(src, "sub"), { recursive: true });
  writeFileSync(path.join(src, "a.txt"), "one\n");
  writeFileSync(path.join(src, "sub", "b.txt"), "bee\n");
  writeFileSync(path.join(src, "gone.txt"), "to be removed by the recipe\n");
  writeFileSync(path.join(src, "LICENSE"), "the source's license\n");
  symlinkSync("a.txt", path.join(src, "a-link"));
  // A file with a second name outside the source dir: appending through the workspace must not
  // reach it (a hard-linked workspace would).
  writeFileSync(path.join(dir, `outside-${filtered}`), "linked\n");
  execFileSync("ln", [path.join(dir, `outside-${filtered}`), path.join(src, "linked.txt")]);
  if (filtered) {
    writeFileSync(path.join(src, ".melangeignore"), "secret.txt\n");
    writeFileSync(path.join(src, "secret.txt"), "ignored\n");
    writeFileSync(path.join(src, "deploy.rsa"), "a private key by its name\n");
  }
  return src;
}

const canSandbox = toolAvailable("bwrap") && hostBusyboxAvailable();

describe("the build workspace", () => {
  const dir = tempDir("pd-workspace-");
  let bb: BusyboxRepo | undefined;
  /** Where this machine can mount the workspace (root, unshare): then it must. */
  let mountable = false;

  before(async () => {
    mountable = process.platform === "linux" && (await findOnPath("unshare")) !== undefined;
    if (canSandbox) bb = await makeBusyboxRepo(path.join(dir, "bb"));
  });

  for (const runner of ["host", "bubblewrap"] as const) {
    for (const filtered of [false, true]) {
      const name = `${runner} runner, ${filtered ? "source with ignored files and keys" : "whole source dir"}`;
      test(`${name}: the recipe writes into its source tree; the source dir is unchanged`, async (t) => {
        if (runner === "bubblewrap" && !bb) {
          t.skip("needs bwrap and Debian's busybox-static (/bin/busybox)");
          return;
        }
        const work = path.join(dir, `${runner}-${filtered}`);
        mkdirSync(work);
        const src = makeSource(work, filtered);
        writeFileSync(path.join(work, "recipe.yaml"), RECIPE);
        const before = snapshot(src);
        const outsideBefore = readFileSync(path.join(work, `outside-${filtered}`), "utf8");
        const lines: string[] = [];
        const built = await buildPackage({
          recipeFile: path.join(work, "recipe.yaml"),
          sourceDir: src,
          arch: runner === "host" ? hostArch() : "x86_64",
          runner,
          outDir: path.join(work, "out"),
          cacheDir: path.join(dir, "cache"),
          progress: { info: (m) => lines.push(m), warn: (m) => lines.push(`warn: ${m}`) },
          ...(bb ? { repositories: [bb.repo], keyring: [bb.publicKey], signingKey: bb.privateKey } : {}),
        });
        const files = await apkFiles(built.packages[0]!.file);
        const text = (p: string) => files.get(`usr/share/ws/${p}`)?.content?.toString("utf8");
        assert.equal(text("a.txt"), "one\ntwo\n");
        assert.equal(text("linked.txt"), "linked\nmore\n");
        assert.equal(text("b.txt"), "BEE\n");
        assert.equal(text("b-mode"), "-rw-------\n");
        const listed = text("listing")!.trim().split("\n");
        const expected = [".", "..", "LICENSE", "a-link", "a.txt", "linked.txt", "melange-out", "sub"];
        assert.deepEqual(listed, filtered ? [...expected, ".melangeignore"].sort() : expected);
        // license-path is read from the workspace after the steps: the recipe's text, not the source's.
        const sbom = [...files.entries()].find(([p]) => p.startsWith("var/lib/db/sbom/"))![1];
        assert.match(sbom.content!.toString("utf8"), /written by the recipe/);

        assert.ok(lines.includes("testing writes-source (1 step(s))"), lines.join("\n"));
        assert.deepEqual(snapshot(src), before);
        assert.equal(readFileSync(path.join(work, `outside-${filtered}`), "utf8"), outsideBefore);
        const mounted = lines.includes("workspace: source tree mounted (overlay), not copied");
        const mayMount = mountable && (runner === "bubblewrap" || process.getuid?.() === 0);
        assert.equal(mounted, mayMount, lines.join("\n"));
      });
    }
  }

  test("a kept workspace is a copy holding the whole tree and what the recipe wrote", async () => {
    const work = path.join(dir, "kept");
    mkdirSync(work);
    const src = makeSource(work, false);
    writeFileSync(
      path.join(work, "recipe.yaml"),
      RECIPE.replace(/environment:[\s\S]*?pipeline:/, "pipeline:"),
    );
    const lines: string[] = [];
    const built = await buildPackage({
      recipeFile: path.join(work, "recipe.yaml"),
      sourceDir: src,
      arch: hostArch(),
      runner: "host",
      outDir: path.join(work, "out"),
      cacheDir: path.join(dir, "cache"),
      keepWorkspace: true,
      progress: { info: (m) => lines.push(m), warn: (m) => lines.push(`warn: ${m}`) },
    });
    const kept = built.workspace!;
    assert.equal(readFileSync(path.join(kept, "a.txt"), "utf8"), "one\ntwo\n");
    assert.equal(readFileSync(path.join(kept, "sub", "b.txt"), "utf8"), "BEE\n");
    assert.ok(readdirSync(path.join(kept, "melange-out", "writes-source")).includes("usr"));
    assert.ok(
      lines.includes("workspace: source tree copied (the workspace is to be kept)"),
      lines.join("\n"),
    );
    rmSync(path.dirname(kept), { recursive: true, force: true });
  });
});
