// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { parse as parseYaml } from "yaml";
import { readApkHead } from "../../provider/apk/apk-reader";
import {
  type DetectOptions,
  dependencyName,
  detectDependencies,
  mergeDependencies,
  sonameVersion,
} from "../../provider/build/detect/detect";
import { directoryPackageFs } from "../../provider/build/detect/package-fs";
import { parsePkgConfig } from "../../provider/build/detect/pkgconfig";
import { parseShebang } from "../../provider/build/detect/shebang";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { extractApk, toolAvailable } from "./build-helpers";

const ALL_ON: DetectOptions = { noProvides: false, noDepends: false, noCommands: false };
const generatedName = (d: string) => /^(so|cmd|pc):/.test(d);

/** Extracts a fixture apk and runs detection on its tree with the options its own recipe had. */
async function detectFixture(rel: string) {
  const file = fixture(rel);
  const head = await readApkHead(file);
  const dir = path.join(tempDir(), "pkg");
  await extractApk(file, dir);
  const recipe = head.control.find((c) => c.name === ".melange.yaml");
  const opts = recipe
    ? ((parseYaml(recipe.data.toString("utf8")) as { package?: { options?: Record<string, boolean> } })
        .package?.options ?? {})
    : {};
  const options: DetectOptions = {
    noProvides: opts["no-provides"] === true,
    noDepends: opts["no-depends"] === true,
    noCommands: opts["no-commands"] === true,
  };
  const detected = await detectDependencies({
    name: head.pkginfo.pkgname,
    fullVersion: head.pkginfo.pkgver,
    fs: directoryPackageFs(dir),
    options,
  });
  const declared = {
    depends: head.pkginfo.depends.filter(generatedName),
    provides: head.pkginfo.provides.filter(generatedName),
  };
  return { head, detected, declared };
}

const names = (list: readonly string[]) => [...new Set(list.map(dependencyName))].sort();
/**
 * The fixture apks are Wolfi's, built before melange 0.59 added `so-ver:` provides; their
 * .PKGINFO is compared with the rest of ours, and the `so-ver:` beside each `so:` checked apart.
 */
const withoutSoVer = (list: readonly string[]) => list.filter((d) => !d.startsWith("so-ver:"));

describe("dependency detection on real packages' trees", needsFixtures(), () => {
  test("hello (aarch64) and hello-wolfi (x86_64): so: from PT_INTERP/DT_NEEDED, cmd: for usr/bin/hello", async () => {
    for (const rel of ["apks/wolfi/hello-2.12-r0.apk", "apks/wolfi/hello-wolfi-2.12.1-r0.apk"]) {
      const { head, detected, declared } = await detectFixture(rel);
      const final = mergeDependencies(head.pkginfo.pkgname, { runtime: [], provides: [] }, detected);
      assert.deepEqual(final.runtime, declared.depends, rel);
      assert.deepEqual(final.provides, declared.provides, rel);
    }
  });

  test("aws-c-s3: every so: dependency, and the unstable SONAME provided (versioned 0 as melange does now)", async () => {
    const { head, detected, declared } = await detectFixture("apks/wolfi/aws-c-s3-0.4.9-r0.apk");
    const final = mergeDependencies(head.pkginfo.pkgname, { runtime: [], provides: [] }, detected);
    assert.deepEqual(final.runtime, declared.depends);
    // The libaws-c-s3.so.0unstable symlink resolves to our own library: found, then dropped as self-provided.
    assert.ok(detected.runtime.includes("so:libaws-c-s3.so.0unstable"));
    assert.ok(!final.runtime.includes("so:libaws-c-s3.so.0unstable"));
    // This apk was built by a melange that versioned it `=0unstable`; melange now writes `=0` (digits only).
    assert.deepEqual(names(withoutSoVer(final.provides)), names(declared.provides));
    assert.deepEqual(declared.provides, ["so:libaws-c-s3.so.0unstable=0unstable"]);
    // melange 0.59 adds so-ver:<soname>=<full version> beside the so: provide.
    assert.deepEqual(final.provides, [
      "so-ver:libaws-c-s3.so.0unstable=0.4.9-r0",
      "so:libaws-c-s3.so.0unstable=0",
    ]);
  });

  test("libcap: depends as declared; the SONAMEs of its runnable libraries are provided", async () => {
    const { head, detected, declared } = await detectFixture("apks/wolfi/libcap-2.69-r0.apk");
    // Before merging, exactly the .PKGINFO's so: dependencies (incl. its own libs via the .so.2 links).
    assert.deepEqual(detected.runtime, declared.depends);
    // That melange did not yet treat files with PT_INTERP *and* `.so.` in the name as libraries, so
    // the apk provides nothing; melange's own test for this apk now expects these provides, and then
    // drops the self-dependencies, as we do.
    assert.deepEqual(declared.provides, []);
    assert.deepEqual(detected.provides, [
      "so-ver:libcap.so.2=2.69-r0",
      "so-ver:libpsx.so.2=2.69-r0",
      "so:libcap.so.2=2",
      "so:libpsx.so.2=2",
    ]);
    const final = mergeDependencies(head.pkginfo.pkgname, { runtime: [], provides: [] }, detected);
    assert.deepEqual(final.runtime, ["so:ld-linux-aarch64.so.1", "so:libc.so.6"]);
  });

  test("neon (data segment cut down to .pc files and one library under usr/libexec)", async () => {
    const { head, detected, declared } = await detectFixture("apks/wolfi/neon-4604-r0.apk");
    // The fixture keeps 8 .pc files and libecpg_compat.so.3.14, all under usr/libexec/neon: not a
    // library or pkgconfig dir, so nothing is provided; the names are "vendored" (melange's rule).
    assert.deepEqual(detected.provides, []);
    const pcDeclared = names(declared.provides.filter((p) => p.startsWith("pc:")));
    const pcVendored = names(detected.vendored.filter((p) => p.startsWith("pc:")));
    // The old melange that built neon provided them from any directory: same four names.
    assert.deepEqual(pcVendored, pcDeclared);
    assert.ok(detected.vendored.includes("so:libecpg_compat.so.3=3"));
    // The cmd: and so: provides of the .PKGINFO came from binaries and libraries the fixture no
    // longer holds. What the remaining library needs is among the declared dependencies, except
    // what the full package provided itself (libecpg.so.6, libpgtypes.so.3, libpq.so.5).
    const final = mergeDependencies(
      head.pkginfo.pkgname,
      { runtime: [], provides: declared.provides.filter((p) => p.startsWith("so:")) },
      detected,
    );
    for (const d of final.runtime) assert.ok(declared.depends.includes(d), `${d} is declared`);
    assert.deepEqual(
      detected.runtime.filter((d) => !declared.depends.includes(d)),
      ["so:libecpg.so.6", "so:libpgtypes.so.3", "so:libpq.so.5"],
    );
  });

  test("packages with nothing to detect, and ruby gems", async () => {
    for (const rel of ["apks/wolfi/perl-json-4.11-r0.apk", "apks/wolfi/kubeflow-pipelines-2.1.3-r7.apk"]) {
      const { detected, declared } = await detectFixture(rel);
      assert.deepEqual(detected, { runtime: [], provides: [], vendored: [] }, rel);
      assert.deepEqual(declared, { depends: [], provides: [] }, rel);
    }
    const ruby = await detectFixture("apks/wolfi/ruby3.2-base64-0.2.0-r2.apk");
    assert.deepEqual(ruby.detected.runtime, ["ruby-3.2"]);
    assert.deepEqual(ruby.head.pkginfo.depends, ["ruby-3.2"]);
  });

  test("shbang-test (melange-built, no-provides): cmd: from #! lines, sh and python3 ignored", async () => {
    const { head, detected, declared } = await detectFixture("apks/melange-built/shbang-test-1-r1.apk");
    assert.deepEqual(detected.runtime, declared.depends);
    assert.deepEqual(head.pkginfo.depends, [
      "cmd:bash",
      "cmd:envDashSCmd",
      "cmd:python3.12",
      "so:ld-linux-x86-64.so.2",
      "so:libc.so.6",
    ]);
    assert.deepEqual(detected.provides, []); // no-provides also turns cmd: provides off
  });
});

describe("detection rules", () => {
  test("the package options switch the generated parts off; declared relations always stay", async () => {
    const dir = tempDir();
    const root = path.join(dir, "pkg");
    mkdirSync(path.join(root, "usr/bin"), { recursive: true });
    mkdirSync(path.join(root, "usr/lib/pkgconfig"), { recursive: true });
    copyFileSync("/bin/busybox", path.join(root, "usr/bin/tool"));
    writeFileSync(path.join(root, "usr/bin/script"), "#!/usr/bin/env perl\nprint 1\n");
    chmodSync(path.join(root, "usr/bin/script"), 0o755);
    writeFileSync(
      path.join(root, "usr/lib/pkgconfig/foo.pc"),
      "prefix=/usr\nName: foo\nVersion: 2.0-rc1\nRequires: bar >= 1, baz\nRequires.private: qux\n",
    );
    const run = (o: Partial<DetectOptions>) =>
      detectDependencies({
        name: "foo",
        fullVersion: "1.2-r3",
        fs: directoryPackageFs(root),
        options: { ...ALL_ON, ...o },
      });

    const all = await run({});
    assert.deepEqual(all.provides, ["cmd:script=1.2-r3", "cmd:tool=1.2-r3", "pc:foo=1.2-r3"]);
    assert.deepEqual(all.runtime, ["cmd:perl", "pc:bar", "pc:baz", "pc:qux"]);
    assert.deepEqual((await run({ noCommands: true })).provides, ["pc:foo=1.2-r3"]);
    assert.deepEqual((await run({ noProvides: true })).provides, []);
    assert.deepEqual((await run({ noDepends: true })).runtime, []);

    const final = mergeDependencies(
      "foo",
      { runtime: ["zlib", "pc:foo"], provides: ["foo-virtual"] },
      await run({ noDepends: true, noProvides: true }),
    );
    assert.deepEqual(final, { runtime: ["pc:foo", "zlib"], provides: ["foo-virtual"] });
  });

  test("a package never depends on what it provides; conflicts are kept", () => {
    const final = mergeDependencies(
      "libfoo",
      { runtime: ["libfoo", "!libbar", "so:libfoo.so.1>=1"], provides: [] },
      {
        runtime: ["so:libc.so.6", "so:libfoo.so.1"],
        provides: ["so:libfoo.so.1=1", "cmd:foo=1-r0"],
        vendored: [],
      },
    );
    assert.deepEqual(final.runtime, ["!libbar", "so:libc.so.6"]);
    assert.deepEqual(final.provides, ["cmd:foo=1-r0", "so:libfoo.so.1=1"]);
  });

  test("so-ver: dependencies lose their version, as melange 0.59 writes them, and still drop when self-provided", () => {
    const final = mergeDependencies(
      "app",
      { runtime: ["so-ver:libbar.so.2>=2.1-r0", "so-ver:libapp.so.1>=1-r0"], provides: [] },
      {
        runtime: ["so:libbar.so.2"],
        provides: ["so-ver:libapp.so.1=1-r0", "so:libapp.so.1=1"],
        vendored: [],
      },
    );
    assert.deepEqual(final.runtime, ["so-ver:libbar.so.2", "so:libbar.so.2"]);
  });

  test("libraries the NVIDIA driver injects are neither depended on nor provided; no-provides drops so-ver: too", async (t) => {
    if (!toolAvailable("gcc")) {
      t.skip("needs gcc to make the ELF files");
      return;
    }
    const dir = tempDir();
    const lib = path.join(dir, "p/usr/lib");
    mkdirSync(lib, { recursive: true });
    writeFileSync(path.join(dir, "f.c"), "int f(void) { return 1; }\n");
    for (const soname of ["libcuda.so.1", "libmine.so.3"]) {
      const res = spawnSync(
        "gcc",
        ["-shared", "-fPIC", `-Wl,-soname,${soname}`, "-o", path.join(lib, soname), "f.c"],
        {
          cwd: dir,
        },
      );
      assert.equal(res.status, 0, String(res.stderr));
      chmodSync(path.join(lib, soname), 0o755);
    }
    // A program linked against both: only libmine is a dependency.
    mkdirSync(path.join(dir, "p/usr/bin"), { recursive: true });
    writeFileSync(path.join(dir, "main.c"), "int f(void);\nint main(void) { return f(); }\n");
    const app = path.join(dir, "p/usr/bin/app");
    const linked = spawnSync(
      "gcc",
      ["-o", app, "main.c", "-Wl,--no-as-needed", `-L${lib}`, "-l:libcuda.so.1", "-l:libmine.so.3"],
      {
        cwd: dir,
      },
    );
    assert.equal(linked.status, 0, String(linked.stderr));
    const run = (o: Partial<DetectOptions>) =>
      detectDependencies({
        name: "p",
        fullVersion: "3.0-r1",
        fs: directoryPackageFs(path.join(dir, "p")),
        options: { ...ALL_ON, ...o },
      });
    const all = await run({});
    assert.deepEqual(all.provides, ["cmd:app=3.0-r1", "so-ver:libmine.so.3=3.0-r1", "so:libmine.so.3=3"]);
    assert.ok(all.runtime.includes("so:libmine.so.3"), all.runtime.join(" "));
    assert.ok(!all.runtime.includes("so:libcuda.so.1"), all.runtime.join(" "));
    assert.deepEqual((await run({ noProvides: true })).provides, []);
  });

  test("a -dev package's .so symlink depends on the SONAME of the library in its sibling", async (t) => {
    const libz = [
      "/usr/lib/x86_64-linux-gnu/libz.so.1",
      "/lib/x86_64-linux-gnu/libz.so.1",
      "/usr/lib/aarch64-linux-gnu/libz.so.1",
    ].find(existsSync);
    if (!libz) {
      t.skip("no libz.so.1 on this machine to play the library");
      return;
    }
    const dir = tempDir();
    const real = path.basename(realpathSync(libz));
    mkdirSync(path.join(dir, "z/usr/lib"), { recursive: true });
    mkdirSync(path.join(dir, "z-dev/usr/lib"), { recursive: true });
    copyFileSync(libz, path.join(dir, "z/usr/lib", real));
    chmodSync(path.join(dir, "z/usr/lib", real), 0o755);
    symlinkSync(real, path.join(dir, "z-dev/usr/lib/libz.so"));
    const z = { name: "z", fs: directoryPackageFs(path.join(dir, "z")) };
    const dev = { name: "z-dev", fs: directoryPackageFs(path.join(dir, "z-dev")) };
    const relatives = [z, dev];
    const main = await detectDependencies({
      name: "z",
      fullVersion: "1-r0",
      fs: z.fs,
      relatives,
      options: ALL_ON,
    });
    assert.deepEqual(main.provides, ["so-ver:libz.so.1=1-r0", "so:libz.so.1=1"]);
    const devDeps = await detectDependencies({
      name: "z-dev",
      fullVersion: "1-r0",
      fs: dev.fs,
      relatives,
      options: ALL_ON,
    });
    assert.deepEqual(devDeps.runtime, ["so:libz.so.1"]);

    // The same library outside a library dir is vendored, unless etc/ld.so.conf.d adds the dir.
    mkdirSync(path.join(dir, "v/opt/x/lib"), { recursive: true });
    copyFileSync(libz, path.join(dir, "v/opt/x/lib", real));
    chmodSync(path.join(dir, "v/opt/x/lib", real), 0o755);
    const vfs = () => directoryPackageFs(path.join(dir, "v"));
    const vendored = await detectDependencies({ name: "v", fullVersion: "1-r0", fs: vfs(), options: ALL_ON });
    assert.deepEqual(vendored.provides, []);
    assert.deepEqual(vendored.vendored, ["so-ver:libz.so.1=1-r0", "so:libz.so.1=1"]);
    mkdirSync(path.join(dir, "v/etc/ld.so.conf.d"), { recursive: true });
    writeFileSync(path.join(dir, "v/etc/ld.so.conf.d/x.conf"), "# extra\n/opt/x/lib\n");
    const declaredDir = await detectDependencies({
      name: "v",
      fullVersion: "1-r0",
      fs: vfs(),
      options: ALL_ON,
    });
    assert.deepEqual(declaredDir.provides, ["so-ver:libz.so.1=1-r0", "so:libz.so.1=1"]);
  });

  test("a hostile .so symlink pointing out of the package reads nothing from the host", async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, "p/usr/lib"), { recursive: true });
    symlinkSync("/usr/lib/x86_64-linux-gnu/libz.so.1", path.join(dir, "p/usr/lib/libevil.so"));
    symlinkSync("../../../../../../etc/passwd", path.join(dir, "p/usr/lib/libevil2.so.1"));
    const r = await detectDependencies({
      name: "p",
      fullVersion: "1-r0",
      fs: directoryPackageFs(path.join(dir, "p")),
      options: ALL_ON,
    });
    assert.deepEqual(r, { runtime: [], provides: [], vendored: [] });
  });

  test("#! parsing as melange does it", () => {
    const sb = (s: string) => parseShebang(Buffer.from(s));
    assert.equal(sb("#!/usr/bin/env bash\n").interpreter, "bash");
    assert.equal(sb("#!/usr/bin/env -S bash -x\n").interpreter, "bash");
    assert.ok(sb("#!/usr/bin/env bash -x\n").warning);
    assert.equal(sb("#!/bin/sh\n").interpreter, undefined);
    assert.equal(sb("#!/usr/bin/awk -f\n").interpreter, undefined);
    assert.equal(sb("#!/usr/bin/perl").interpreter, "/usr/bin/perl");
    assert.equal(sb("#!   \n").interpreter, undefined);
    assert.equal(sb("cs101").interpreter, undefined);
  });

  test("pkg-config files and SONAME versions", () => {
    const pc = parsePkgConfig(
      "prefix=/usr\nlibdir=${prefix}/lib\n# c\nName: x\nVersion: 1.2\nRequires: a>=1,b c < 3 \\\n  d\n",
    );
    assert.equal(pc.version, "1.2");
    assert.deepEqual(pc.requires, ["a", "b", "c", "d"]);
    assert.equal(sonameVersion("libfoo.so.1.2.3"), "1.2.3");
    assert.equal(sonameVersion("libaws-c-s3.so.0unstable"), "0");
    assert.equal(sonameVersion("libfoo.so"), "0");
  });
});
