import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { readIndexArchive } from "../../provider/apk/index-archive";
import { Keyring } from "../../provider/apk/keys";
import { apkFiles, hostBusyboxAvailable, makeBusyboxRepo, toolAvailable } from "../build/build-helpers";
import { type CliResult, runCli, runProcess } from "../helpers/cli";
import { tempDir } from "../helpers/tmp";
import { needsTool } from "../helpers/tools";

/*
 * The tutorial this project grew from, line for line, through `pulumi-distroless melange …` and
 * `pulumi-distroless apko …`: keygen, a recipe built in the sandbox, an image from the packages it
 * wrote. The real melange and apko run the same lines (differential check), and each tool's output
 * is fed to the other side's next step.
 */

const TUTORIAL = [
  ["melange", "keygen"],
  ["melange", "build", "melange.yaml", "--signing-key", "melange.rsa", "--arch", "amd64"],
  ["apko", "build", "apko.yaml", "tag", "out.tar", "-k", "melange.rsa.pub", "--arch", "amd64"],
];

function recipe(repo: string, key: string): string {
  return [
    "package:",
    "  name: hello",
    "  version: 1.0.0",
    "  epoch: 0",
    "  description: the tutorial's package",
    "  copyright:",
    "    - license: Apache-2.0",
    "environment:",
    "  contents:",
    `    repositories: [${JSON.stringify(repo)}]`,
    `    keyring: [${JSON.stringify(key)}]`,
    "    packages: [busybox]",
    "pipeline:",
    "  - runs: |",
    `      mkdir -p "\${{targets.destdir}}/usr/share/hello"`,
    `      echo "hello \${GREETING:-world}" > "\${{targets.destdir}}/usr/share/hello/greeting"`,
    "",
  ].join("\n");
}

const APKO_YAML = ["contents:", "  repositories: [./packages]", "  packages: [hello]", ""].join("\n");

const canRun = toolAvailable("bwrap") && hostBusyboxAvailable();
function sandboxSkip(): { skip?: string } {
  if (canRun) return {};
  const reason = "needs bwrap and Debian's busybox-static (/bin/busybox)";
  if (process.env.CI) throw new Error(`missing on CI: ${reason}`);
  return { skip: reason };
}

/** A project directory holding the recipe and the apko config, as the tutorial starts. */
function project(base: { repo: string; publicKey: string }): string {
  const dir = tempDir("pd-tutorial-");
  writeFileSync(path.join(dir, "melange.yaml"), recipe(base.repo, base.publicKey));
  writeFileSync(path.join(dir, "apko.yaml"), APKO_YAML);
  return dir;
}

function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}\n${r.stdout}\n${r.stderr}`);
}

/** A file of the image's (only) layer in a docker archive, through GNU tar. */
function layerFile(archive: string, file: string): string {
  const manifest = JSON.parse(
    spawnSync("tar", ["-xOf", archive, "manifest.json"], { encoding: "utf8" }).stdout,
  ) as { RepoTags: string[]; Layers: string[] }[];
  assert.equal(manifest.length, 1);
  const layer = spawnSync("tar", ["-xOf", archive, manifest[0]!.Layers[0]!]).stdout;
  const unpacked = spawnSync("tar", ["-xzO", file], { input: layer });
  assert.equal(unpacked.status, 0, `${file} in the layer: ${unpacked.stderr}`);
  return unpacked.stdout.toString();
}

function repoTags(archive: string): string[] {
  const manifest = JSON.parse(
    spawnSync("tar", ["-xOf", archive, "manifest.json"], { encoding: "utf8" }).stdout,
  ) as { RepoTags: string[] }[];
  return manifest[0]!.RepoTags;
}

describe("the tutorial's melange and apko command lines", sandboxSkip(), () => {
  let base: { repo: string; publicKey: string };
  const baseDir = tempDir("pd-tutorial-base-");
  before(async () => {
    base = await makeBusyboxRepo(baseDir);
  });

  test("run verbatim through pulumi-distroless: a signed package, its signed index, a loadable image", async () => {
    const dir = project(base);
    for (const line of TUTORIAL) ok(await runCli(line, { cwd: dir }), line.join(" "));

    const apk = path.join(dir, "packages", "x86_64", "hello-1.0.0-r0.apk");
    const files = await apkFiles(apk);
    assert.equal(files.get("usr/share/hello/greeting")?.content?.toString(), "hello world\n");
    // --generate-index is on by default, as in melange: the index is signed by the key built with.
    const index = await readIndexArchive(
      readFileSync(path.join(dir, "packages", "x86_64", "APKINDEX.tar.gz")),
      {
        keyring: await Keyring.fromPaths([path.join(dir, "melange.rsa.pub")]),
      },
    );
    assert.deepEqual(
      index.entries.map((e) => `${e.name}-${e.version}`),
      ["hello-1.0.0-r0"],
    );
    assert.equal(index.verifiedBy?.keyName, "melange.rsa.pub");

    const archive = path.join(dir, "out.tar");
    assert.deepEqual(repoTags(archive), ["tag:latest"], "apko reads a bare tag as NAME:latest");
    assert.equal(layerFile(archive, "usr/share/hello/greeting"), "hello world\n");
    // apko writes the SBOMs into the working directory by default.
    for (const f of ["sbom-index.spdx.json", "sbom-x86_64.spdx.json"]) {
      const sbom = JSON.parse(readFileSync(path.join(dir, f), "utf8")) as { spdxVersion: string };
      assert.match(sbom.spdxVersion, /^SPDX-2/, f);
    }
  });

  test("the real melange and apko accept the same lines; each side builds from the other's packages", async (t) => {
    const melange = needsTool(t, "melange");
    const apko = needsTool(t, "apko");
    if (!melange || !apko) return;
    const ours = project(base);
    const theirs = project(base);
    for (const line of TUTORIAL.slice(0, 2)) ok(await runCli(line, { cwd: ours }), `ours: ${line.join(" ")}`);
    for (const [toolName, ...args] of TUTORIAL.slice(0, 2)) {
      ok(await runProcess(melange, args, { cwd: theirs }), `real ${toolName}: ${args.join(" ")}`);
    }
    // Swap the package directories: our apko over melange's packages, apko over ours.
    const swap = (from: string, to: string) => {
      const target = path.join(to, "swapped");
      mkdirSync(target);
      cpSync(path.join(from, "packages"), path.join(target, "packages"), { recursive: true });
      cpSync(path.join(from, "melange.rsa.pub"), path.join(target, "melange.rsa.pub"));
      writeFileSync(path.join(target, "apko.yaml"), APKO_YAML);
      return target;
    };
    const oursOverTheirs = swap(theirs, ours);
    const theirsOverOurs = swap(ours, theirs);
    const [, , apkoLine] = TUTORIAL;
    ok(await runCli(apkoLine!, { cwd: oursOverTheirs }), "our apko build over melange's packages");
    ok(
      await runProcess(apko, apkoLine!.slice(1), { cwd: theirsOverOurs }),
      "real apko build over our packages",
    );
    for (const dir of [oursOverTheirs, theirsOverOurs]) {
      const archive = path.join(dir, "out.tar");
      assert.equal(layerFile(archive, "usr/share/hello/greeting"), "hello world\n", dir);
      assert.ok(existsSync(path.join(dir, "sbom-x86_64.spdx.json")), `${dir}: SBOM in the working directory`);
    }
  });

  test("melange build --lint-require and --generate-provenance reach the build", async () => {
    const dir = project(base);
    ok(await runCli(["melange", "keygen", "k.rsa", "--key-size", "2048"], { cwd: dir }), "keygen");
    const build = ["melange", "build", "--arch=x86_64", "--signing-key=k.rsa", "--out-dir", "out"];
    const unknown = await runCli([...build, "--lint-require", "dev,no-such-linter"], { cwd: dir });
    assert.equal(unknown.code, 1, unknown.stderr);
    assert.match(unknown.stderr, /unknown linter "no-such-linter"/);
    ok(await runCli([...build, "--lint-warn=dev", "--generate-provenance"], { cwd: dir }), "provenance");
    assert.ok(
      existsSync(path.join(dir, "out", "x86_64", "hello-1.0.0-r0.attest.tar.gz")),
      "provenance beside the apk",
    );
  });

  test("melange build --env-file and --vars-file, then --generate-index=false", async () => {
    const dir = project(base);
    writeFileSync(path.join(dir, "build.env"), "# a comment\nGREETING=from the env file\n");
    ok(await runCli(["melange", "keygen", "k.rsa", "--key-size", "2048"], { cwd: dir }), "keygen");
    ok(
      await runCli(
        [
          "melange",
          "build",
          "--arch=x86_64",
          "--env-file",
          "build.env",
          "--signing-key=k.rsa",
          "--generate-index=false",
          "--out-dir",
          "out",
        ],
        { cwd: dir },
      ),
      "build with the recipe found in the working directory",
    );
    const files = await apkFiles(path.join(dir, "out", "x86_64", "hello-1.0.0-r0.apk"));
    assert.equal(files.get("usr/share/hello/greeting")?.content?.toString(), "hello from the env file\n");
    assert.equal(existsSync(path.join(dir, "out", "x86_64", "APKINDEX.tar.gz")), false, "no index asked for");

    // melange index -a picks the arch's apks; sign-index signs it, and leaves a signed index alone.
    const apk = path.join("out", "x86_64", "hello-1.0.0-r0.apk");
    ok(
      await runCli(["melange", "index", "-o", "idx.tar.gz", "-a", "aarch64", apk], { cwd: dir }),
      "index -a",
    );
    assert.equal(
      (await readIndexArchive(readFileSync(path.join(dir, "idx.tar.gz")), { allowUntrusted: true })).entries
        .length,
      0,
    );
    ok(await runCli(["melange", "index", "-o", "idx.tar.gz", "-a", "amd64", apk], { cwd: dir }), "index");
    const unsigned = readFileSync(path.join(dir, "idx.tar.gz"));
    assert.equal((await readIndexArchive(unsigned, { allowUntrusted: true })).signatures.length, 0);
    ok(
      await runCli(["melange", "sign-index", "--signing-key=k.rsa", "idx.tar.gz"], { cwd: dir }),
      "sign-index",
    );
    const signed = readFileSync(path.join(dir, "idx.tar.gz"));
    const verified = await readIndexArchive(signed, {
      keyring: await Keyring.fromPaths([path.join(dir, "k.rsa.pub")]),
    });
    assert.equal(verified.verifiedBy?.keyName, "k.rsa.pub");
    assert.deepEqual(
      verified.entries.map((e) => e.name),
      ["hello"],
    );
    const again = await runCli(["melange", "sign-index", "--signing-key", "melange.rsa", "idx.tar.gz"], {
      cwd: dir,
    });
    ok(again, "sign-index of a signed index");
    assert.match(again.stderr, /already signed/);
    assert.deepEqual(readFileSync(path.join(dir, "idx.tar.gz")), signed, "left alone without --force");
  });

  test("apko lock, show-packages and build-minirootfs over the tutorial's packages", async () => {
    const dir = project(base);
    for (const line of TUTORIAL.slice(0, 2)) ok(await runCli(line, { cwd: dir }), line.join(" "));
    ok(
      await runCli(["apko", "lock", "apko.yaml", "-k", "melange.rsa.pub", "--arch", "amd64"], { cwd: dir }),
      "lock",
    );
    const lock = JSON.parse(readFileSync(path.join(dir, "apko.lock.json"), "utf8")) as {
      contents: { packages: { name: string; version: string }[] };
    };
    assert.deepEqual(
      lock.contents.packages.map((p) => `${p.name}=${p.version}`),
      ["hello=1.0.0-r0"],
    );
    const shown = await runCli(
      ["apko", "show-packages", "apko.yaml", "-k=melange.rsa.pub", "--arch=amd64", "--format", "packagelock"],
      { cwd: dir },
    );
    ok(shown, "show-packages");
    assert.equal(shown.stdout, "- hello=1.0.0-r0\n");
    ok(
      await runCli(
        [
          "apko",
          "build-minirootfs",
          "apko.yaml",
          "rootfs.tar.gz",
          "-kmelange.rsa.pub",
          "--build-arch",
          "amd64",
        ],
        {
          cwd: dir,
        },
      ),
      "build-minirootfs",
    );
    const greeting = spawnSync("tar", ["-xzOf", path.join(dir, "rootfs.tar.gz"), "usr/share/hello/greeting"]);
    assert.equal(greeting.stdout.toString(), "hello world\n");
  });
});
