import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli";
import { projectRoot } from "../helpers/fixtures";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { toolSkip } from "../helpers/tools";
import { needsTools } from "../registry/readback";
import { blobsInStorage, blobUploads, filesUnder, secretScan } from "./pulumi-checks";
import { createProgram, hookTempDir, type PulumiProgram, removeTempDirs } from "./pulumi-project";

/*
 * examples/demo through the real Pulumi CLI and engine (local file backend, passphrase secrets),
 * installed from `npm pack`: up, up again (nothing), an upstream busybox published outside the
 * program (preview shows it, up pushes only new blobs), the image deleted behind Pulumi's back
 * (refresh reports it), destroy (DESIGN.md: images stay in the registry, the packages and the
 * repositories the resources created go).
 */
/** busybox 1.35.0-r<epoch> from the demo's recipe, built by the CLI (as an upstream would). */
async function buildBusybox(out: string, epoch: number, keyFile: string): Promise<string> {
  mkdirSync(out, { recursive: true });
  const recipe = readFileSync(path.join(projectRoot, "examples", "demo", "busybox", "melange.yaml"), "utf8")
    .replace("epoch: 0", `epoch: ${epoch}`)
    .replace("cmd:sh=1.35.0-r0", `cmd:sh=1.35.0-r${epoch}`);
  writeFileSync(path.join(out, "melange.yaml"), recipe);
  const built = await runCli([
    "package",
    path.join(out, "melange.yaml"),
    "--runner",
    "host",
    "--arch",
    "x86_64",
    "--signing-key",
    keyFile,
    "--out",
    out,
  ]);
  assert.equal(built.code, 0, built.stdout + built.stderr);
  const apk = path.join(out, "x86_64", `busybox-1.35.0-r${epoch}.apk`);
  assert.ok(existsSync(apk), built.stdout);
  return apk;
}

async function publish(repo: string, apk: string, keyFile: string): Promise<void> {
  const published = await runCli(["publish", repo, apk, "--signing-key", keyFile]);
  assert.equal(published.code, 0, published.stdout + published.stderr);
}

describe("real engine: examples/demo", { ...toolSkip("pulumi"), ...needsTools() }, () => {
  let registry: RegistryServer;
  let program: PulumiProgram;
  let work: string;
  let keyFile: string;
  let upstream: string;

  const output = async (name: string): Promise<string> => {
    const r = await program.pulumi(["stack", "output", name]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };

  before(async () => {
    registry = await startRegistry();
    program = await createProgram({
      name: "pulumi-distroless-demo",
      copyFrom: path.join(projectRoot, "examples", "demo"),
    });
    work = path.join(program.dir, "work");
    const keygen = await runCli(["keygen", "--out", work, "--name", "demo.rsa"]);
    assert.equal(keygen.code, 0, keygen.stderr);
    keyFile = path.join(work, "demo.rsa");
    // The upstream repository (outside the program, signed by the same key): busybox r0 for now.
    upstream = hookTempDir("pd-upstream-");
    await publish(
      path.join(upstream, "repo"),
      await buildBusybox(path.join(upstream, "r0"), 0, keyFile),
      keyFile,
    );
    for (const [k, v] of [
      ["workDir", work],
      ["registry", registry.host],
      ["upstream", path.join(upstream, "repo")],
      ["upstreamKey", `${keyFile}.pub`],
    ]) {
      const r = await program.pulumi(["config", "set", k!, v!]);
      assert.equal(r.code, 0, r.stderr);
    }
    // The key goes in on stdin (never on a command line), as a secret.
    const r = await program.pulumi(
      ["config", "set", "--secret", "signingKey"],
      readFileSync(keyFile, "utf8"),
    );
    assert.equal(r.code, 0, r.stderr);
  });

  after(async () => {
    await registry?.stop();
    removeTempDirs();
  });

  test("up creates the 5 resources and pushes the image", async () => {
    const up = await program.op("up");
    assert.equal(up.code, 0, up.stdout + up.stderr);
    // The engine counts the stack too.
    assert.deepEqual(up.result?.changes, { create: 6 });
    for (const [type, name] of [
      ["ApkPackage", "busybox"],
      ["ApkRepository", "base"],
      ["ApkPackage", "hello"],
      ["ApkRepository", "apps"],
      ["DistrolessImage", "hello"],
    ])
      assert.match(
        up.stdout,
        new RegExp(`\\+ +pulumi-nodejs:dynamic/pulumi-distroless:${type} ${name} created`),
      );
    assert.match(
      String(up.result?.outputs.imageRef),
      new RegExp(`^${registry.host}/demo/hello@sha256:[a-f0-9]{64}$`),
    );
    assert.ok(blobUploads(registry) > 0, "the first up uploaded blobs");
  });

  test("a second up changes nothing: no build, no upload", async () => {
    const uploadsBefore = blobUploads(registry);
    const up = await program.op("up");
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.deepEqual(up.result?.changes, { same: 6 });
    assert.equal(blobUploads(registry), uploadsBefore, "no blob uploaded");
    assert.doesNotMatch(up.stdout + up.stderr, /built \(|pushing|publishing/);
  });

  test("an upstream busybox published outside the program: preview --diff shows it, up pushes only new blobs", async () => {
    // busybox 1.35.0-r1 published upstream, outside the program.
    await publish(
      path.join(upstream, "repo"),
      await buildBusybox(path.join(upstream, "r1"), 1, keyFile),
      keyFile,
    );

    const preview = await program.op("preview", ["--diff"]);
    assert.equal(preview.code, 0, preview.stdout + preview.stderr);
    assert.match(preview.stdout, /busybox\s*:\s*"1\.35\.0-r0" => "1\.35\.0-r1"/);
    assert.deepEqual(preview.result?.changes, { same: 5, update: 1 }, "only the image changes");

    const blobsBefore = blobsInStorage(registry);
    const uploadsBefore = blobUploads(registry);
    const up = await program.op("up");
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const newBlobs = blobsInStorage(registry).filter((b) => !blobsBefore.includes(b));
    assert.ok(newBlobs.length > 0, "the new image has new blobs");
    assert.equal(
      blobUploads(registry) - uploadsBefore,
      newBlobs.length,
      "exactly the new blobs were uploaded",
    );
    const lock = JSON.parse(await output("lock")) as Record<string, { name: string; version: string }[]>;
    assert.equal(lock.x86_64?.find((p) => p.name === "busybox")?.version, "1.35.0-r1");
  });

  test("refresh reports an image deleted from the registry; up pushes it again", async () => {
    const digest = await output("digest");
    const res = await fetch(`${registry.url}/v2/demo/hello/manifests/${digest}`, { method: "DELETE" });
    assert.equal(res.status, 202);
    const refresh = await program.op("refresh");
    assert.equal(refresh.code, 0, refresh.stdout + refresh.stderr);
    assert.match(refresh.stdout + refresh.stderr, /gone from the registry/);
    assert.equal(refresh.result?.changes.update, 1, JSON.stringify(refresh.result));
    const up = await program.op("up");
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.equal(up.result?.changes.update, 1, JSON.stringify(up.result));
    const head = await fetch(`${registry.url}/v2/demo/hello/manifests/${digest}`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.index.v1+json" },
    });
    assert.equal(head.status, 200, "the same image is back");
  });

  test("destroy: the image stays in the registry; the packages and repositories go", async () => {
    const digest = await output("digest");
    const destroy = await program.op("destroy");
    assert.equal(destroy.code, 0, destroy.stdout + destroy.stderr);
    assert.deepEqual(destroy.result?.changes, { delete: 6 });
    const head = await fetch(`${registry.url}/v2/demo/hello/manifests/${digest}`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.index.v1+json" },
    });
    assert.equal(head.status, 200, "images may still run: destroy leaves them");
    for (const pkg of ["busybox", "hello"]) {
      const dir = path.join(work, "packages", pkg, "x86_64");
      const left = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".apk")) : [];
      assert.deepEqual(left, [], `${pkg}'s apks are deleted`);
    }
    assert.ok(
      !existsSync(path.join(work, "repos", "apps")),
      "the apps repository the resource created is gone",
    );
  });

  test("neither the state nor any output holds the signing key", async () => {
    const exported = await program.pulumi(["stack", "export"]);
    assert.equal(exported.code, 0, exported.stderr);
    secretScan({ "the signing key": readFileSync(keyFile, "utf8") }, [
      { what: "stack export", text: exported.stdout },
      { what: "every command's output", text: program.transcript.text },
      ...filesUnder(program.backend),
      ...filesUnder(program.home),
    ]);
  });
});
