import * as assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { UNKNOWN } from "../../provider/dynamic/unknowns";
import { imageExists, resolveTag } from "../../provider/registry";
import { cosignTag } from "../../provider/sign/cosign-objects";
import { generateCosignKeyPair } from "../../provider/sign/keys";
import { MiniEngine, type Registration, ref, type Step, secret } from "../helpers/mini-engine";
import { ProviderServer } from "../helpers/provider-server";
import { serializedProviders } from "../helpers/sdk-providers";
import { tempDir } from "../helpers/tmp";
import { writeDockerConfig } from "../registry/docker-config";
import { needsTools } from "../registry/readback";
import { deleteFromRegistry, makeWorld, PASSWORD, type ScenarioWorld, USER } from "./scenario-fixture";

/**
 * The three resources through `@pulumi/pulumi`'s own dynamic-provider server over gRPC, following
 * the engine's rules (see MiniEngine), against a real TLS registry with basic auth, real signed
 * repositories and real builds (host runner). The scenarios run in order on one stack.
 */
describe("provider protocol: package -> repository -> image", needsTools("htpasswd"), () => {
  const work = tempDir("pd-protocol-");
  let world: ScenarioWorld;
  let server: ProviderServer;
  let engine: MiniEngine;
  let program: Registration[];
  const repoRef = () => `${world.registry.host}/team/greeter`;
  const COSIGN_PASSWORD = "cosign-password-in-a-secret";
  const cosignPair = generateCosignKeyPair(COSIGN_PASSWORD);
  const cosignLines = cosignPair.privateKeyPem
    .split("\n")
    .filter((l) => l.length > 20 && !l.startsWith("-----"));

  before(async () => {
    world = await makeWorld(work);
    server = await ProviderServer.start({
      env: { XDG_CACHE_HOME: path.join(work, "cache"), DOCKER_CONFIG: path.join(work, "docker") },
    });
    engine = new MiniEngine(server, await serializedProviders());
    program = [
      {
        name: "app",
        type: "ApkPackage",
        inputs: {
          resourceName: "app",
          configFile: world.recipeFile,
          signingKey: secret(world.signingKeyPem),
          runner: "host",
          archs: ["x86_64"],
          outDir: path.join(work, "out", "app"),
        },
      },
      {
        name: "repo",
        type: "ApkRepository",
        inputs: {
          resourceName: "repo",
          path: path.join(work, "repo"),
          signingKey: secret(world.signingKeyPem),
          packages: [ref("app", "packages")],
        },
      },
      {
        name: "image",
        type: "DistrolessImage",
        inputs: {
          resourceName: "image",
          config: {
            contents: { packages: ["libgreet"] },
            entrypoint: { command: "/usr/bin/greeter" },
            archs: ["x86_64"],
          },
          repositories: [ref("repo", "reference"), world.upstreamDir],
          keyring: [world.upstreamKeyFile],
          packages: [ref("app", "ref")],
          repository: repoRef(),
          tags: ["v1"],
          registryAuth: secret({ username: USER, password: PASSWORD }),
          caFile: world.caFile,
          sourceDateEpoch: 1_700_000_000,
        },
      },
    ];
  });
  after(async () => {
    await server?.stop();
    await world?.registry.stop();
  });

  const byName = (steps: Step[], name: string) => steps.find((s) => s.name === name)!;
  const callsOf = (method: string, from: number) =>
    server.calls.slice(from).filter((c) => c.method === method).length;

  test("1. first preview shows unknowns downstream; first up outputs digest, imageRef and per-arch digests", async () => {
    const preview = await engine.preview(program);
    assert.deepEqual(
      preview.map((s) => s.op),
      ["create", "create", "create"],
    );
    assert.equal(
      byName(preview, "repo").checkedInputs.resolved,
      UNKNOWN,
      "repo depends on the unbuilt package",
    );
    assert.equal(byName(preview, "image").checkedInputs.resolved, UNKNOWN);
    assert.equal(callsOf("create", 0), 0, "preview never creates");

    const up = await engine.up(program);
    const image = byName(up, "image").outputs!;
    assert.match(String(image.digest), /^sha256:[a-f0-9]{64}$/);
    assert.equal(image.imageRef, `${repoRef()}@${image.digest}`);
    assert.equal(image.ref, `${repoRef()}:v1@${image.digest}`, "ref: repository:tag@digest");
    assert.match(String((image.platforms as Record<string, string>).x86_64), /^sha256:/);
    assert.deepEqual(image.tags, ["v1"]);
    const lock = image.lock as Record<string, { name: string; version: string }[]>;
    assert.deepEqual(lock.x86_64!.map((p) => `${p.name}-${p.version}`).sort(), [
      "greeter-app-1.0.0-r0",
      "libgreet-1.0.0-r0",
    ]);
    const app = byName(up, "app").outputs!;
    assert.equal(app.ref, "greeter-app=1.0.0-r0");
    const repo = byName(up, "repo").outputs!;
    assert.deepEqual((repo.indexes as Record<string, { packages: string[] }>).x86_64!.packages, [
      "greeter-app-1.0.0-r0",
    ]);
  });

  test("2. nothing changed: every Diff says no change; no builds, no pushes", async () => {
    const mark = server.calls.length;
    const preview = await engine.preview(program);
    assert.deepEqual(
      preview.map((s) => [s.name, s.op, s.diff]),
      [
        ["app", "same", "none"],
        ["repo", "same", "none"],
        ["image", "same", "none"],
      ],
    );
    const up = await engine.up(program);
    assert.deepEqual(
      up.map((s) => s.op),
      ["same", "same", "same"],
    );
    assert.equal(callsOf("create", mark) + callsOf("update", mark), 0, "zero builds and zero pushes");
  });

  test("3. drift: a newer libgreet upstream shows in preview and up pushes a new digest with only new blobs", async () => {
    const before = engine.state.get("image")!.outputs;
    await world.publishUpstream("1.1.0");
    // An Alpine-style security database: the new version fixes a CVE, and a later one another.
    const secdb = path.join(work, "security.json");
    writeFileSync(
      secdb,
      JSON.stringify({
        packages: [
          {
            pkg: {
              name: "libgreet",
              secfixes: { "1.1.0-r0": ["CVE-2026-0001"], "9.0-r0": ["CVE-2026-0009"] },
            },
          },
        ],
      }),
    );
    program.find((r) => r.name === "image")!.inputs.securityDb = secdb;
    const preview = await engine.preview(program);
    const image = byName(preview, "image");
    assert.equal(image.op, "update");
    assert.ok(image.changedInputs.includes("resolved.lock.x86_64.libgreet"), image.changedInputs.join(", "));
    assert.equal(
      (image.checkedInputs.resolved as { lock: Record<string, Record<string, string>> }).lock.x86_64!
        .libgreet,
      "1.1.0-r0",
    );
    assert.equal(byName(preview, "app").op, "same");
    assert.equal(byName(preview, "repo").op, "same");
    // The preview says what changes, and what pulls the new version in.
    assert.match(
      server.output,
      /x86_64: libgreet 1\.0\.0-r0 -> 1\.1\.0-r0, pulled in by world -> [^\n]*libgreet-1\.1\.0-r0/,
    );
    // With a security database: which CVEs the change fixes, in preview's diff and as a notice.
    assert.ok(image.changedInputs.includes("resolved.fixes"), image.changedInputs.join(", "));
    assert.deepEqual((image.checkedInputs.resolved as { fixes: unknown }).fixes, {
      x86_64: { libgreet: ["CVE-2026-0001"] },
    });
    assert.match(server.output, /x86_64: libgreet 1\.0\.0-r0 -> 1\.1\.0-r0 fixes CVE-2026-0001/);
    assert.match(
      server.output,
      /x86_64: libgreet 1\.1\.0-r0 is below the fix for CVE-2026-0009 \(fixed in 9\.0-r0\)/,
    );

    const up = await engine.up(program);
    const after = byName(up, "image").outputs!;
    assert.notEqual(after.digest, before.digest);
    // A single-layer image: the new layer and config are new; nothing else was re-sent.
    assert.deepEqual(after.pushed, {
      uploadedBlobs: 2,
      uploadedBytes: (after.pushed as { uploadedBytes: number }).uploadedBytes,
      skippedBlobs: 0,
    });
  });

  test("3b. a signing key signs the index and its platform manifest and attests the SBOMs; a re-run signs nothing", async () => {
    const image = program.find((r) => r.name === "image")!;
    // A key another resource computes is unknown in preview: a possible new signer, nothing loaded.
    image.inputs.signKey = UNKNOWN;
    const unknownKey = await engine.preview(program);
    assert.equal(byName(unknownKey, "image").op, "update");
    assert.equal((byName(unknownKey, "image").checkedInputs.resolved as { signer: string }).signer, UNKNOWN);
    image.inputs.signKey = secret(cosignPair.privateKeyPem);
    image.inputs.signKeyPassword = secret(COSIGN_PASSWORD);
    const preview = await engine.preview(program);
    assert.equal(byName(preview, "image").op, "update", "a new signer is a change");
    const up = await engine.up(program);
    const outs = byName(up, "image").outputs!;
    const signatures = outs.signatureDigests as Record<string, string>;
    assert.deepEqual(Object.keys(signatures).sort(), ["index", "x86_64"]);
    assert.deepEqual(Object.keys(outs.attestationDigests as Record<string, string>).sort(), [
      "index",
      "x86_64",
    ]);
    assert.match(String(outs.signer), /^sha256:[0-9a-f]{64}$/);
    const options = { caBundle: readFileSync(world.caFile), auth: { username: USER, password: PASSWORD } };
    const sig = await resolveTag(repoRef(), cosignTag(String(outs.digest), "sig"), options);
    assert.equal(sig?.digest, signatures.index);

    const again = await engine.up(program);
    assert.equal(byName(again, "image").op, "same");
  });

  test("4. a recipe change rebuilds the package, republishes the index and updates the image", async () => {
    const before = Object.fromEntries([...engine.state].map(([k, v]) => [k, v.outputs]));
    world.writeRecipe("v2");
    const preview = await engine.preview(program);
    assert.deepEqual(
      preview.map((s) => [s.name, s.op]),
      [
        ["app", "update"],
        ["repo", "update"],
        ["image", "update"],
      ],
    );
    const up = await engine.up(program);
    const app = byName(up, "app").outputs!;
    assert.notEqual(app.inputDigest, before.app!.inputDigest);
    const newChecksum = (app.packages as { checksum: string }[])[0]!.checksum;
    assert.notEqual(newChecksum, (before.app!.packages as { checksum: string }[])[0]!.checksum);
    const repo = byName(up, "repo").outputs!;
    assert.notEqual(
      (repo.indexes as Record<string, { digest: string }>).x86_64!.digest,
      (before.repo!.indexes as Record<string, { digest: string }>).x86_64!.digest,
    );
    const image = byName(up, "image").outputs!;
    assert.notEqual(image.digest, before.image!.digest);
    const locked = (image.lock as Record<string, { name: string; checksum: string }[]>).x86_64!;
    assert.equal(locked.find((p) => p.name === "greeter-app")!.checksum, newChecksum);
  });

  test("5. the registry password and the signing key never appear in any output or log", () => {
    const keyLines = world.signingKeyPem.split("\n").filter((l) => l.length > 20 && !l.startsWith("-----"));
    const secretInputNames = new Set([
      "signingKey",
      "signingKeyPassphrase",
      "registryAuth",
      "signKey",
      "signKeyPassword",
    ]);
    const leaks: string[] = [];
    const scan = (where: string, text: string) => {
      if (text.includes(PASSWORD)) leaks.push(`${where}: registry password`);
      if (text.includes(Buffer.from(`${USER}:${PASSWORD}`).toString("base64")))
        leaks.push(`${where}: basic auth header`);
      for (const l of keyLines) if (text.includes(l)) leaks.push(`${where}: signing key line`);
      if (text.includes(COSIGN_PASSWORD)) leaks.push(`${where}: cosign password`);
      for (const l of cosignLines) if (text.includes(l)) leaks.push(`${where}: cosign key line`);
    };
    assert.ok(server.calls.length > 10);
    for (const [i, call] of server.calls.entries()) {
      let response = call.response as Record<string, unknown> | undefined;
      if (call.method === "check" && response) {
        // Check hands the inputs back to the engine, which re-marks them secret by name: the only
        // place a secret may be is its own input property.
        const inputs = { ...(response.inputs as Record<string, unknown>) };
        for (const n of secretInputNames) delete inputs[n];
        response = { ...response, inputs };
      }
      scan(`call ${i} (${call.method}) response`, JSON.stringify(response ?? {}));
      if (call.error) scan(`call ${i} (${call.method}) error`, call.error);
    }
    for (const [name, entry] of engine.state) scan(`state outputs of ${name}`, JSON.stringify(entry.outputs));
    scan("provider process output", server.output);
    assert.deepEqual(leaks, []);
  });

  test("6. refresh after the image was deleted from the registry reports it gone; up pushes it again", async () => {
    const image = engine.state.get("image")!.outputs;
    await deleteFromRegistry(world, `${repoRef()}@${image.digest}`);
    // Refresh gets only the outputs, which never hold the password: without registry credentials
    // in the docker config it cannot look, and says so instead of failing or guessing.
    const blind = await engine.refresh();
    assert.deepEqual(blind.find((x) => x.name === "image")!.changed, []);
    assert.match(server.output, /cannot check .*team\/greeter.*docker login/);
    // `docker login` (here: the docker config it writes) lets refresh see the image is gone.
    writeDockerConfig(path.join(work, "docker"), {
      auths: { [world.registry.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") } },
    });
    const refreshed = await engine.refresh();
    const r = refreshed.find((x) => x.name === "image")!;
    assert.ok(r.changed.includes("digest"), r.changed.join(", "));
    assert.equal(r.outputs.digest, "");
    assert.deepEqual(
      refreshed.filter((x) => x.name !== "image").map((x) => x.changed),
      [[], []],
    );
    const preview = await engine.preview(program);
    assert.equal(byName(preview, "image").op, "update");
    const up = await engine.up(program);
    assert.equal(byName(up, "image").outputs!.digest, image.digest, "the same image, pushed again");
  });

  test("7. an index changed outside Pulumi: refresh reports the repository drifted, up republishes it", async () => {
    const repo = engine.state.get("repo")!.outputs;
    const indexFile = path.join(String(repo.path), "x86_64", "APKINDEX.tar.gz");
    const published = readFileSync(indexFile);
    writeFileSync(indexFile, Buffer.concat([published, Buffer.from("tampered")]));
    const refreshed = (await engine.refresh()).find((x) => x.name === "repo")!;
    assert.ok(refreshed.changed.includes("indexes.x86_64.digest"), refreshed.changed.join(", "));
    assert.match(server.output, /APKINDEX\.tar\.gz changed outside Pulumi/);
    const preview = await engine.preview(program);
    assert.equal(byName(preview, "repo").op, "update");
    await engine.up(program);
    assert.deepEqual(readFileSync(indexFile), published, "the same signed index, written again");
  });

  test("8. destroy keeps the pushed image, removes the tags it was asked to, and only the files it created", async () => {
    const image = program.find((r) => r.name === "image")!;
    image.inputs.deleteTagsOnDestroy = true;
    const steps = await engine.up(program);
    assert.equal(byName(steps, "image").op, "update", "the setting reaches the outputs");
    const { digest } = engine.state.get("image")!.outputs as { digest: string };
    const apks = (engine.state.get("app")!.outputs.packages as { file: string }[]).map((p) => p.file);
    const repoDir = String(engine.state.get("repo")!.outputs.path);
    await engine.destroy();
    const options = { caBundle: readFileSync(world.caFile), auth: { username: USER, password: PASSWORD } };
    assert.equal(await imageExists(repoRef(), digest, options), true, "the image stays: it may be running");
    assert.equal(await resolveTag(repoRef(), "v1", options), undefined, "the tag it created is gone");
    assert.equal(existsSync(repoDir), false, "the repository directory it created is removed");
    for (const f of apks) assert.equal(existsSync(f), false, `${f} removed`);
    assert.equal(existsSync(world.upstreamDir), true, "what it did not create stays");
  });
});
