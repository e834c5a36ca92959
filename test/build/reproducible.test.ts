import * as assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readApkHead, scanApkData } from "../../provider/apk/apk-reader";
import { generateSigningKey, writeKeyPair } from "../../provider/apk/keys";
import { buildPackage } from "../../provider/build/build";
import { computeInputDigest } from "../../provider/build/input-digest";
import { prepareBuild } from "../../provider/build/prepare";
import { tempDir } from "../helpers/tmp";
import { apkFiles } from "./build-helpers";

const RECIPE = `package:
  name: repro
  version: 1.0
  epoch: 2
  description: reproducibility test
  copyright:
    - license: Apache-2.0
  scriptlets:
    post-install: |
      #!/bin/sh
      echo installed
environment:
  contents:
    packages:
      - busybox
pipeline:
  - name: install
    runs: |
      mkdir -p \${{targets.destdir}}/usr/bin \${{targets.destdir}}/usr/share/repro
      cp hello.sh \${{targets.destdir}}/usr/bin/hello
      chmod 755 \${{targets.destdir}}/usr/bin/hello
      cp -R data \${{targets.destdir}}/usr/share/repro/
      ln -s hello \${{targets.destdir}}/usr/bin/hi
      ln \${{targets.destdir}}/usr/bin/hello \${{targets.destdir}}/usr/bin/hello-again
      touch -d 2001-02-03 \${{targets.destdir}}/usr/bin/hello
subpackages:
  - name: repro-doc
    description: docs
    pipeline:
      - runs: |
          mkdir -p \${{targets.subpkgdir}}/usr/share/doc/repro
          cp README \${{targets.subpkgdir}}/usr/share/doc/repro/
`;

function sourceDir(root: string): { recipe: string; src: string } {
  const src = path.join(root, "src");
  mkdirSync(path.join(src, "data/nested"), { recursive: true });
  writeFileSync(path.join(src, "repro.melange.yaml"), RECIPE);
  writeFileSync(path.join(src, "hello.sh"), "#!/bin/sh\necho hello\n");
  writeFileSync(path.join(src, "README"), "read me\n");
  writeFileSync(path.join(src, "data/a.txt"), "a\n");
  writeFileSync(path.join(src, "data/nested/b.bin"), Buffer.alloc(300_000, 7));
  writeFileSync(path.join(src, "notes.tmp"), "scratch\n");
  writeFileSync(path.join(src, ".melangeignore"), "*.tmp\n/build-output/\n");
  return { recipe: path.join(src, "repro.melange.yaml"), src };
}

async function build(recipe: string, out: string, epoch = 0) {
  const r = await buildPackage({
    recipeFile: recipe,
    arch: "x86_64",
    runner: "host",
    outDir: out,
    sourceDateEpoch: epoch,
    cacheDir: path.join(out, "cache"),
    signingKey: path.join(path.dirname(out), "..", "key.rsa"),
  });
  return { result: r, bytes: r.packages.map((p) => readFileSync(p.file)) };
}

describe("reproducible builds", () => {
  test("same recipe, sources and SOURCE_DATE_EPOCH -> byte-identical apks; a source change changes them", async () => {
    const root = tempDir();
    await writeKeyPair(root, "key.rsa", await generateSigningKey(2048));
    const { recipe, src } = sourceDir(root);
    const first = await build(recipe, path.join(root, "out", "1"));
    const second = await build(recipe, path.join(root, "out", "2"));
    assert.equal(first.result.packages.length, 2);
    assert.deepEqual(first.bytes, second.bytes);
    assert.equal(first.result.inputDigest, second.result.inputDigest);

    // The same sources somewhere else: same bytes, same digest.
    const moved = path.join(root, "elsewhere");
    cpSync(src, moved, { recursive: true });
    const third = await build(path.join(moved, "repro.melange.yaml"), path.join(root, "out", "3"));
    assert.deepEqual(third.bytes, first.bytes);
    assert.equal(third.result.inputDigest, first.result.inputDigest);

    // An ignored file changes nothing.
    writeFileSync(path.join(src, "notes.tmp"), "changed scratch\n");
    const ignored = await build(recipe, path.join(root, "out", "4"));
    assert.deepEqual(ignored.bytes, first.bytes);
    assert.equal(ignored.result.inputDigest, first.result.inputDigest);

    // A source change: different bytes (the main package) and a different inputDigest.
    writeFileSync(path.join(src, "data/a.txt"), "a, changed\n");
    const changed = await build(recipe, path.join(root, "out", "5"));
    assert.notDeepEqual(changed.bytes[0], first.bytes[0]);
    assert.notEqual(changed.result.inputDigest, first.result.inputDigest);

    // SOURCE_DATE_EPOCH: every mtime and builddate.
    const dated = await build(recipe, path.join(root, "out", "6"), 1_700_000_000);
    assert.notEqual(dated.result.inputDigest, changed.result.inputDigest);
    const head = await readApkHead(dated.result.packages[0]!.file);
    assert.equal(head.pkginfo.builddate, 1_700_000_000);
    const mtimes = new Set<number>();
    await scanApkData(head, async (e) => {
      mtimes.add(e.header.mtime);
    });
    assert.deepEqual([...mtimes], [1_700_000_000]);
  });

  test("package contents: hardlinks, symlinks, modes, owners, scriptlets, .melange.yaml, SBOM", async () => {
    const root = tempDir();
    await writeKeyPair(root, "key.rsa", await generateSigningKey(2048));
    const { recipe } = sourceDir(root);
    const { result } = await build(recipe, path.join(root, "out", "1"));
    const [main, doc] = result.packages;
    assert.equal(main!.file, path.join(root, "out/1/x86_64/repro-1.0-r2.apk"));
    assert.equal(doc!.file, path.join(root, "out/1/x86_64/repro-doc-1.0-r2.apk"));
    const files = await apkFiles(main!.file);
    assert.deepEqual(
      [...files.keys()],
      [
        "usr",
        "usr/bin",
        "usr/bin/hello",
        "usr/bin/hello-again",
        "usr/bin/hi",
        "usr/share",
        "usr/share/repro",
        "usr/share/repro/data",
        "usr/share/repro/data/a.txt",
        "usr/share/repro/data/nested",
        "usr/share/repro/data/nested/b.bin",
        "var",
        "var/lib",
        "var/lib/db",
        "var/lib/db/sbom",
        "var/lib/db/sbom/repro-1.0-r2.spdx.json",
      ],
    );
    assert.equal(files.get("usr/bin/hello")?.mode, 0o755);
    assert.equal(files.get("usr/bin/hello-again")?.type, "hardlink");
    assert.equal(files.get("usr/bin/hello-again")?.linkname, "usr/bin/hello");
    assert.equal(files.get("usr/bin/hi")?.linkname, "hello");
    for (const [p, f] of files) assert.deepEqual([f.uid, f.gid], [0, 0], p);
    const head = await readApkHead(main!.file);
    assert.deepEqual(
      head.control.map((c) => [c.name, c.mode]),
      [
        [".PKGINFO", 0o644],
        [".melange.yaml", 0o644],
        [".post-install", 0o755],
      ],
    );
    assert.match(head.control[1]!.data.toString(), /name: repro\n/);
    assert.equal(head.control[2]!.data.toString(), "#!/bin/sh\necho installed\n");
    assert.deepEqual(head.pkginfo.provides, ["cmd:hello-again=1.0-r2", "cmd:hello=1.0-r2"]);
    assert.deepEqual(head.pkginfo.depends, []);
    assert.equal(head.pkginfo.origin, "repro");
    const docHead = await readApkHead(doc!.file);
    assert.equal(docHead.pkginfo.origin, "repro");
    assert.equal(docHead.pkginfo.pkgdesc, "docs");
    assert.deepEqual(docHead.pkginfo.licenses, ["Apache-2.0"]);
  });

  test("the inputDigest is a pure function of plan, sources, environment and options", async () => {
    const root = tempDir();
    const { recipe } = sourceDir(root);
    const a = await prepareBuild({ recipeFile: recipe, arch: "x86_64", runner: "host" });
    const b = await prepareBuild({ recipeFile: recipe, arch: "x86_64", runner: "host" });
    assert.equal(a.inputDigest, b.inputDigest);
    const base = {
      plan: a.plan,
      sourceDigest: a.sourceDigest,
      environment: a.environment,
      options: { runner: "host" as const, sourceDateEpoch: 0, namespace: "unknown" },
    };
    assert.equal(computeInputDigest(base), a.inputDigest);
    const variants = [
      computeInputDigest({ ...base, options: { ...base.options, sourceDateEpoch: 1 } }),
      computeInputDigest({ ...base, options: { ...base.options, runner: "bubblewrap" } }),
      computeInputDigest({ ...base, options: { ...base.options, namespace: "wolfi" } }),
      computeInputDigest({ ...base, sourceDigest: "sha256:00" }),
      computeInputDigest({ ...base, environment: { ...base.environment, constraints: ["busybox", "bash"] } }),
      computeInputDigest({ ...base, plan: { ...a.plan, vars: { x: "1" } } }),
      computeInputDigest({
        ...base,
        options: { ...base.options, signingKey: { keyName: "k.rsa.pub", publicKeyPem: "PEM" } },
      }),
    ];
    assert.equal(new Set([a.inputDigest, ...variants]).size, variants.length + 1);
    const arm = await prepareBuild({ recipeFile: recipe, arch: "aarch64", runner: "host" });
    assert.notEqual(arm.inputDigest, a.inputDigest);
  });
});
