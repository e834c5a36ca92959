import * as assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readApkHead } from "../../provider/apk/apk-reader";
import { buildPackage } from "../../provider/build/build";
import { prepareBuild } from "../../provider/build/prepare";
import { compileRecipe, loadRecipe } from "../../provider/build/recipe";
import { bwrapArgs } from "../../provider/build/runners/bubblewrap";
import { hostPathRewriter } from "../../provider/build/runners/host";
import { melangeArgs } from "../../provider/build/runners/melange";
import { missingTool, stepScript } from "../../provider/build/runners/step-process";
import { hostArch } from "../../provider/image/config/arch";
import { makeMelangeEnv } from "../conformance/melange-env";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { needsTool } from "../helpers/tools";
import { apkFiles, hostBusyboxAvailable, toolAvailable } from "./build-helpers";

describe("runners", needsFixtures(), () => {
  test("the bubblewrap command line: melange's isolation flags, run-as, environment", async () => {
    const plan = compileRecipe(await loadRecipe(fixture("configs/melange/e2e/greeter-build-test.yaml")), {
      arch: "x86_64",
    });
    const step = plan.steps[0]!;
    const args = bwrapArgs(
      { guestRoot: "/g", environment: plan.environment, workspace: "/w", cacheMount: "/c" },
      step,
      stepScript(step),
    );
    const joined = args.join(" ");
    for (const flag of [
      "--ro-bind /g /",
      "--bind /w /home/build",
      "--bind /c /var/cache/melange",
      "--tmpfs /tmp",
      "--dev /dev",
      "--proc /proc",
      "--unshare-pid",
      "--die-with-parent",
      "--new-session",
      "--clearenv",
      "--unshare-user --uid 1000 --gid 1000",
      "--setenv HOME /home/build",
      "--chdir /home/build /bin/sh -c",
    ]) {
      assert.ok(joined.includes(flag), `missing ${flag} in: ${joined}`);
    }
    assert.ok(!args.includes("--unshare-net"), "network is shared by default (fetch needs it)");
    const offline = bwrapArgs(
      { guestRoot: "/g", environment: plan.environment, workspace: "/w", cacheMount: "/c", network: false },
      step,
      "true",
    );
    assert.ok(offline.includes("--unshare-net"));
    const script = args[args.length - 1]!;
    assert.match(script, /^set -e\n/);
    assert.match(script, /\ncd '\/home\/build'\n/);
    assert.ok(script.includes(step.script));
  });

  test("the host runner maps guest paths onto its workspace, and only whole path components", () => {
    const rewrite = hostPathRewriter({ workspace: "/tmp/ws", cacheMount: "/tmp/cache" });
    assert.equal(
      rewrite("cd /home/build/melange-out/x && ls /home/build"),
      "cd /tmp/ws/melange-out/x && ls /tmp/ws",
    );
    assert.equal(rewrite('HOME="/home/build"'), 'HOME="/tmp/ws"');
    assert.equal(rewrite("/home/builder /var/cache/melange/gomod"), "/home/builder /tmp/cache/gomod");
  });

  test("the host runner refuses working directories outside its workspace", async () => {
    const dir = tempDir();
    const file = path.join(dir, "escape.yaml");
    writeFileSync(
      file,
      "package:\n  name: escape\n  version: 1\n  epoch: 0\npipeline:\n  - working-directory: ../../etc\n    runs: touch pwned\n",
    );
    await assert.rejects(
      buildPackage({
        recipeFile: file,
        arch: "x86_64",
        runner: "host",
        outDir: path.join(dir, "out"),
        cacheDir: path.join(dir, "c"),
      }),
      /working-directory .* is outside \/home\/build/,
    );
    assert.ok(!existsSync("/etc/pwned"));
  });

  test("missing tools are recognised from the shells' messages", () => {
    assert.equal(missingTool(["/bin/sh: 3: jq: not found"]), "jq");
    assert.equal(missingTool(["sh: jq: not found"]), "jq");
    assert.equal(missingTool(["bash: line 1: cmake: command not found"]), "cmake");
    assert.equal(
      missingTool(["fetch: needs sha256sum, which the build environment lacks (add it)"]),
      "sha256sum",
    );
    assert.equal(missingTool(["all fine"]), undefined);
  });

  test("the package verb builds every --arch and prints each apk with its C:", async () => {
    const out = tempDir();
    const recipe = fixture("configs/melange/pretend-baselayout.melange.yaml");
    // The host runner can only build the host's arch (target-archs.ts; test/build/arch.test.ts).
    const archs = [hostArch()];
    const res = await runCli([
      "package",
      recipe,
      ...archs.flatMap((a) => ["--arch", a]),
      "--runner",
      "host",
      "--out",
      out,
      "--source-dir",
      path.join(out, "none"),
      "--signing-key",
      fixture("local-repo/melange.rsa"),
      "--cache-dir",
      path.join(out, "cache"),
    ]);
    assert.equal(res.code, 0, res.stderr);
    const lines = res.stdout.trim().split("\n");
    assert.equal(lines.length, archs.length);
    for (const [i, arch] of archs.entries()) {
      const [file, checksum] = lines[i]!.split(" ");
      assert.equal(path.resolve(file!), path.join(out, arch, "pretend-baselayout-1.0.0-r0.apk"));
      assert.equal((await readApkHead(path.resolve(file!))).controlChecksum, checksum);
    }
    const json = await runCli([
      "package",
      recipe,
      "--runner",
      "host",
      "--arch",
      hostArch(),
      "--out",
      out,
      "--json",
      "--source-date-epoch",
      "1700000000",
      "--source-dir",
      path.join(out, "none"),
      "--cache-dir",
      path.join(out, "cache"),
    ]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as {
      packages: { file: string; controlChecksum: string }[];
      inputDigests: Record<string, string>;
    };
    assert.match(parsed.inputDigests[hostArch()]!, /^sha256:/);
    assert.equal((await readApkHead(path.resolve(parsed.packages[0]!.file))).pkginfo.builddate, 1700000000);
    const bad = await runCli(["package", recipe, "--runner", "docker"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--runner must be one of/);
  });

  test("the melange runner passes the equivalent flags to a real melange", async (t) => {
    const out = tempDir();
    const prepared = await prepareBuild({
      recipeFile: fixture("configs/melange/pretend-baselayout.melange.yaml"),
      arch: "x86_64",
      runner: "melange",
      signingKey: fixture("local-repo/melange.rsa"),
      sourceDir: fixture("configs/melange"),
    });
    const args = await melangeArgs(
      prepared,
      { arch: "x86_64", outDir: out, repositories: ["https://r"], keyring: ["k.pub"], buildOptions: ["x"] },
      out,
    );
    assert.deepEqual(args.slice(0, 6), [
      "build",
      fixture("configs/melange/pretend-baselayout.melange.yaml"),
      "--arch",
      "x86_64",
      "--out-dir",
      out,
    ]);
    for (const pair of [
      ["--source-dir", prepared.source.root],
      ["--repository-append", "https://r"],
      ["--keyring-append", "k.pub"],
      ["--build-option", "x"],
      ["--namespace", "unknown"],
    ]) {
      const at = args.indexOf(pair[0]!);
      assert.ok(at >= 0 && args[at + 1] === pair[1], `${pair[0]} ${pair[1]}`);
    }
    const keyFile = args[args.indexOf("--signing-key") + 1]!;
    assert.equal(path.basename(keyFile), "melange.rsa");
    assert.match(readFileSync(keyFile, "utf8"), /BEGIN RSA PRIVATE KEY/);

    // The real melange (the pinned build in .cache/tools/bin, else PATH; on CI a missing one fails),
    // building offline against a local repository holding busybox, made and signed by our tools.
    const melange = needsTool(t, "melange");
    if (!melange) return;
    if (!toolAvailable("bwrap") || !hostBusyboxAvailable()) {
      t.skip("needs bwrap and Debian's busybox-static (/bin/busybox) for melange's bubblewrap guest");
      return;
    }
    const env = await makeMelangeEnv(path.join(out, "env"));
    const savedPath = process.env.PATH;
    // The runner looks for melange on PATH, as a user's machine has it.
    process.env.PATH = `${path.dirname(melange)}:${savedPath ?? ""}`;
    let viaMelange: Awaited<ReturnType<typeof buildPackage>>;
    try {
      viaMelange = await buildPackage({
        recipeFile: fixture("configs/melange/pretend-baselayout.melange.yaml"),
        sourceDir: path.join(out, "empty"),
        arch: "x86_64",
        runner: "melange",
        outDir: path.join(out, "melange"),
        signingKey: env.privateKey,
        repositories: [env.repo],
        keyring: [env.publicKey],
        cacheDir: env.cacheDir,
        sourceDateEpoch: 1700000000,
      });
    } finally {
      process.env.PATH = savedPath;
    }
    assert.equal(viaMelange.runner, "melange");
    const head = await readApkHead(viaMelange.packages[0]!.file);
    assert.match(head.control.find((c) => c.name === ".PKGINFO")!.data.toString(), /^# Generated by melange/);
    assert.equal(head.pkginfo.builddate, 1700000000);
    const files = await apkFiles(viaMelange.packages[0]!.file);
    const theirs = await apkFiles(fixture("local-repo/x86_64/pretend-baselayout-1.0.0-r0.apk"));
    assert.equal(files.get("etc/os-release")?.sha1, theirs.get("etc/os-release")?.sha1);
  });
});
