import * as assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli";
import { projectRoot } from "../helpers/fixtures";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { toolSkip } from "../helpers/tools";
import { needsTools } from "../registry/readback";
import { filesUnder, secretScan } from "./pulumi-checks";
import { createProgram, hookTempDir, type PulumiProgram, removeTempDirs } from "./pulumi-project";

/*
 * The README's Quick start as written (its TypeScript block, only the registry host swapped for a
 * local one with basic auth): melange.yaml and apko.yaml at the project root, node_modules present,
 * the signing key and the registry password set with `pulumi config set --secret`. First up builds,
 * the second changes nothing, a one-line recipe change rebuilds once, the next up is clean; the
 * state and every output are free of both secrets.
 */

function quickStartProgram(registryHost: string): string {
  const readme = readFileSync(path.join(projectRoot, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Quick start"));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "README.md has a Quick start TypeScript block");
  assert.ok(block.includes("registry.example.com/team/app"));
  return block.replace("registry.example.com/team/app", `${registryHost}/team/app`);
}

function recipe(baseRepo: string, baseKey: string, greeting: string): string {
  return [
    "package:",
    "  name: app",
    "  version: 1.0.0",
    "  epoch: 0",
    "  description: the Quick start's application",
    "  copyright:",
    "    - license: Apache-2.0",
    "environment:",
    "  contents:",
    `    repositories: [${JSON.stringify(baseRepo)}]`,
    `    keyring: [${JSON.stringify(baseKey)}]`,
    "    packages: [busybox]",
    "pipeline:",
    "  - runs: |",
    `      mkdir -p "\${{targets.destdir}}/usr/share/app"`,
    `      echo "${greeting}" > "\${{targets.destdir}}/usr/share/app/greeting"`,
    "",
  ].join("\n");
}

const APKO_YAML = ["contents:", "  packages: []", "archs:", "  - x86_64", ""].join("\n");

describe("real engine: the README's Quick start", { ...toolSkip("pulumi"), ...needsTools() }, () => {
  let registry: RegistryServer;
  let program: PulumiProgram;
  let signingKey: string;
  let baseRepo: string;
  let baseKey: string;
  const password = randomBytes(18).toString("base64url");

  before(async () => {
    registry = await startRegistry({ auth: { kind: "htpasswd", users: { ci: password } } });
    // The build environment's shell: the demo's busybox, built and published by the CLI.
    const base = hookTempDir("pd-qs-base-");
    const keygen = await runCli(["keygen", "--out", base, "--name", "base.rsa"]);
    assert.equal(keygen.code, 0, keygen.stderr);
    const built = await runCli([
      "package",
      path.join(projectRoot, "examples", "demo", "busybox", "melange.yaml"),
      "--runner",
      "host",
      "--arch",
      "x86_64",
      "--signing-key",
      path.join(base, "base.rsa"),
      "--out",
      path.join(base, "out"),
    ]);
    assert.equal(built.code, 0, built.stdout + built.stderr);
    baseRepo = path.join(base, "repo");
    const apk = path.join(base, "out", "x86_64", "busybox-1.35.0-r0.apk");
    const published = await runCli(["publish", baseRepo, apk, "--signing-key", path.join(base, "base.rsa")]);
    assert.equal(published.code, 0, published.stdout + published.stderr);
    const pub = readdirSync(baseRepo).find((f) => f.endsWith(".rsa.pub"));
    assert.ok(pub, `a public key in ${baseRepo}`);
    baseKey = path.join(baseRepo, pub);

    const keys = hookTempDir("pd-qs-key-");
    const appKey = await runCli(["keygen", "--out", keys, "--name", "app.rsa"]);
    assert.equal(appKey.code, 0, appKey.stderr);
    signingKey = readFileSync(path.join(keys, "app.rsa"), "utf8");

    program = await createProgram({
      name: "quickstart",
      files: {
        "index.ts": quickStartProgram(registry.host),
        "melange.yaml": recipe(baseRepo, baseKey, "hello v1"),
        "apko.yaml": APKO_YAML,
      },
    });
    for (const [name, value] of [
      ["signingKey", signingKey],
      ["registryPassword", password],
    ]) {
      // On stdin, never on a command line.
      const r = await program.pulumi(["config", "set", "--secret", name!], value);
      assert.equal(r.code, 0, r.stderr);
    }
  });

  after(async () => {
    await registry?.stop();
    removeTempDirs();
  });

  test("first up builds, publishes and pushes", async () => {
    const first = await program.op("up");
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.deepEqual(first.result?.changes, { create: 4 });
    assert.match(String(first.result?.outputs.imageRef), new RegExp(`^${registry.host}/team/app@sha256:`));
  });

  test("the second up changes nothing: the first up's outputs in the project root are not sources", async () => {
    const second = await program.op("up");
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.deepEqual(second.result?.changes, { same: 4 }, second.stdout);
  });

  test("a one-line recipe change rebuilds once: package, repository, image", async () => {
    const settled = await program.op("up");
    assert.deepEqual(settled.result?.changes, { same: 4 }, "settled before the change");
    const before = (await program.pulumi(["stack", "output", "imageRef"])).stdout.trim();
    writeFileSync(path.join(program.dir, "melange.yaml"), recipe(baseRepo, baseKey, "hello v2"));
    const changed = await program.op("up");
    assert.equal(changed.code, 0, changed.stdout + changed.stderr);
    assert.deepEqual(changed.result?.changes, { same: 1, update: 3 });
    assert.notEqual(changed.result?.outputs.imageRef, before, "a new image");
  });

  test("the up after the change is clean", async () => {
    const clean = await program.op("up");
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.deepEqual(clean.result?.changes, { same: 4 });
  });

  test("neither the state nor any output or log holds the signing key or the registry password", async () => {
    const exported = await program.pulumi(["stack", "export"]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(
      exported.stdout,
      /"secure"|"ciphertext"|4dabf18193072939515e22adb298388d/,
      "secrets are in the state, encrypted",
    );
    secretScan({ "the signing key": signingKey, "the registry password": password }, [
      { what: "stack export", text: exported.stdout },
      { what: "every command's output", text: program.transcript.text },
      { what: "the registry's log", text: readFileSync(registry.logFile, "utf8") },
      ...filesUnder(program.backend),
      ...filesUnder(program.home),
      ...filesUnder(path.join(program.dir, "repo")),
    ]);
  });
});
