import * as assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { readApkHead } from "../../provider/apk/apk-reader";
import { buildPackage } from "../../provider/build/build";
import { compileRecipe, loadRecipe } from "../../provider/build/recipe";
import { publishPackages } from "../../provider/repository/publish";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import {
  apkFiles,
  type BusyboxRepo,
  hostBusyboxAvailable,
  imageBundle,
  makeBusyboxRepo,
  runcRun,
  toolAvailable,
} from "./build-helpers";

const canRun = toolAvailable("bwrap") && hostBusyboxAvailable();
const skip = canRun ? needsFixtures() : { skip: "needs bwrap and Debian's busybox-static (/bin/busybox)" };

describe("bubblewrap builds in a busybox guest", skip, () => {
  // Made here, not in before(): a temp dir's cleanup belongs to the suite, not to the hook.
  const dir = tempDir();
  const cacheDir = path.join(dir, "cache");
  let bb: BusyboxRepo;
  const env = () => ({ repositories: [bb.repo], keyring: [bb.publicKey], cacheDir });

  before(async () => {
    bb = await makeBusyboxRepo(dir);
  });

  test("greeter (melange's e2e recipe) builds in the sandbox, reproducibly, reusing the cached guest", async () => {
    const lines: string[] = [];
    const progress = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(`warn: ${m}`) };
    const build = (out: string) =>
      buildPackage({
        recipeFile: fixture("configs/melange/e2e/greeter-build-test.yaml"),
        sourceDir: path.join(dir, "empty"),
        arch: "x86_64",
        runner: "bubblewrap",
        outDir: out,
        signingKey: bb.privateKey,
        progress,
        ...env(),
      });
    const first = await build(path.join(dir, "greeter-1"));
    assert.equal(first.runner, "bubblewrap");
    assert.deepEqual(
      first.environment.packages.map((p) => `${p.name}-${p.version}`),
      ["busybox-1.35.0-r0"],
    );
    assert.deepEqual(
      first.packages.map((p) => path.basename(p.file)),
      [
        "greeter-1.0-r0.apk",
        "greeter-english-1.0-r0.apk",
        "greeter-hawaiian-1.0-r0.apk",
        "greeter-latvian-1.0-r0.apk",
      ],
    );
    const greeter = await apkFiles(first.packages[0]!.file);
    assert.equal(greeter.get("usr/bin/greeter")?.mode, 0o755);
    assert.match(greeter.get("usr/bin/greeter")!.content!.toString(), /greeting="howdy"/);
    const hello = await apkFiles(first.packages[1]!.file);
    assert.equal(hello.get("usr/bin/hello")?.linkname, "greeter");
    const head = await readApkHead(first.packages[0]!.file);
    assert.deepEqual(head.pkginfo.depends, ["busybox"]);
    assert.deepEqual(head.pkginfo.provides, ["cmd:greeter=1.0-r0"]);
    assert.deepEqual((await readApkHead(first.packages[2]!.file)).pkginfo.depends, ["greeter"]);
    // The environment lock is recorded in .melange.yaml, as melange records its resolved packages.
    assert.match(
      head.control.find((c) => c.name === ".melange.yaml")!.data.toString(),
      /- busybox=1\.35\.0-r0/,
    );

    lines.length = 0;
    const second = await build(path.join(dir, "greeter-2"));
    assert.ok(
      lines.some((l) => /build guest \w+ reused from the cache/.test(l)),
      lines.join("\n"),
    );
    assert.equal(second.inputDigest, first.inputDigest);
    for (let i = 0; i < first.packages.length; i++) {
      assert.deepEqual(readFileSync(second.packages[i]!.file), readFileSync(first.packages[i]!.file));
    }
  });

  test("the greeter packages run under runc and pass the recipe's own tests", async (t) => {
    if (!toolAvailable("runc") || !toolAvailable("umoci", ["--version"])) {
      t.skip("runc or umoci is not installed");
      return;
    }
    const out = path.join(dir, "greeter-runc");
    const built = await buildPackage({
      recipeFile: fixture("configs/melange/e2e/greeter-build-test.yaml"),
      sourceDir: path.join(dir, "empty"),
      arch: "x86_64",
      runner: "bubblewrap",
      outDir: out,
      signingKey: bb.privateKey,
      ...env(),
    });
    // Published with busybox into the repository, then an image of greeter and its subpackages
    // made by the image assembler (resolve -> install -> layer -> OCI layout), unpacked by umoci.
    await publishPackages({
      root: bb.repo,
      packages: built.packages.map((p) => p.file),
      signingKey: bb.privateKey,
    });
    const bundle = await imageBundle({
      repo: bb.repo,
      publicKey: bb.publicKey,
      packages: ["greeter-english", "greeter-hawaiian", "greeter-latvian"],
      dir: path.join(dir, "image"),
      cacheDir,
    });

    const plan = compileRecipe(await loadRecipe(fixture("configs/melange/e2e/greeter-build-test.yaml")), {
      arch: "x86_64",
    });
    const blob = plan.vars["tester-blob"]!;
    const script = `${blob}\ntestrun greeter howdy\ntestrun hello\ntestrun aloha\ntestrun sveiki\n`;
    const res = runcRun(bundle, ["/bin/sh", "-c", script]);
    assert.equal(res.code, 0, `${res.stdout}\n${res.stderr}`);
    assert.equal((res.stdout.match(/^PASS:/gm) ?? []).length, 12, res.stdout);
    assert.doesNotMatch(res.stdout + res.stderr, /FAIL/);
    const bob = runcRun(bundle, ["/usr/bin/sveiki", "bob"]);
    assert.equal(bob.stdout, "sveiki, bob\n");
  });

  test("the sandbox: run-as uid 1000, clean environment, own pid namespace, read-only guest", async () => {
    const src = path.join(dir, "probe-src");
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, "input.txt"), "from the source dir\n");
    const recipe = (runAs?: string) => `package:
  name: probe
  version: 1
  epoch: 0
environment:
  contents:
    packages:
      - busybox
${runAs ? `  accounts:\n    run-as: ${runAs}\n` : ""}pipeline:
  - name: probe
    working-directory: sub/dir
    environment:
      STEP_VAR: step-value
    runs: |
      o=\${{targets.destdir}}/probe
      mkdir -p $o
      id -u > $o/uid
      id -g > $o/gid
      pwd > $o/pwd
      echo "$HOME" > $o/home
      echo "$STEP_VAR" > $o/stepvar
      echo "\${PD_HOST_SECRET:-unset}" > $o/hostvar
      echo "$PATH" > $o/path
      ls /proc | grep -c '^[0-9]' > $o/pids
      if touch /usr/bin/intruder 2>/dev/null; then echo writable; else echo read-only; fi > $o/guest
      echo ok > /tmp/scratch && cat /tmp/scratch > $o/tmp
      cp /home/build/input.txt $o/input
`;
    const results: Record<string, Record<string, string>> = {};
    for (const [label, runAs] of [
      ["default", undefined],
      ["root", "root"],
    ] as const) {
      const file = path.join(dir, `probe-${label}.melange.yaml`);
      writeFileSync(file, recipe(runAs));
      process.env.PD_HOST_SECRET = "leaked";
      let built: Awaited<ReturnType<typeof buildPackage>>;
      try {
        built = await buildPackage({
          recipeFile: file,
          sourceDir: src,
          arch: "x86_64",
          runner: "bubblewrap",
          outDir: path.join(dir, `probe-out-${label}`),
          ...env(),
        });
      } finally {
        delete process.env.PD_HOST_SECRET;
      }
      const files = await apkFiles(built.packages[0]!.file);
      results[label] = Object.fromEntries(
        [...files]
          .filter(([p]) => p.startsWith("probe/"))
          .map(([p, f]) => [p.slice(6), f.content!.toString().trim()]),
      );
      for (const [p, f] of files)
        assert.deepEqual([f.uid, f.gid], [0, 0], `${label}: ${p} owned by root in the package`);
    }
    const d = results.default!;
    assert.deepEqual([d.uid, d.gid], ["1000", "1000"]);
    assert.equal(d.pwd, "/home/build/sub/dir");
    assert.equal(d.home, "/home/build");
    assert.equal(d.stepvar, "step-value");
    assert.equal(d.hostvar, "unset");
    assert.equal(d.path, "/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin");
    assert.ok(Number(d.pids) <= 4, `the step sees ${d.pids} processes`);
    assert.equal(d.guest, "read-only");
    assert.equal(d.tmp, "ok");
    assert.equal(d.input, "from the source dir");
    assert.deepEqual([results.root!.uid, results.root!.gid], ["0", "0"]);
  });
});
