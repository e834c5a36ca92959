import * as assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { needsTools, skopeoInspectRaw } from "../registry/readback";

describe("CLI: build --push", needsFixtures(), () => {
  let registry: RegistryServer;
  before(async () => {
    if (needsTools().skip === undefined) registry = await startRegistry();
  });
  after(async () => {
    await registry?.stop();
  });

  test(
    "builds the fixture config and pushes it; the registry serves exactly our index",
    needsTools(),
    async () => {
      const work = tempDir();
      const ref = `${registry.host}/fixture/app:v1`;
      const r = await runCli([
        "build",
        fixture("configs", "apko", "apko.yaml"),
        "--push",
        ref,
        "--cache-dir",
        work,
        "--source-date-epoch",
        "0",
        "--json",
      ]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {
        indexDigest: string;
        pushed: { indexDigest: string; imageRef: string }[];
      };
      assert.equal(out.pushed.length, 1);
      assert.equal(out.pushed[0]!.indexDigest, out.indexDigest);
      assert.equal(out.pushed[0]!.imageRef, `${registry.host}/fixture/app@${out.indexDigest}`);
      const raw = await skopeoInspectRaw(ref);
      const index = JSON.parse(raw.toString()) as { manifests: { platform: { architecture: string } }[] };
      assert.deepEqual(index.manifests.map((m) => m.platform.architecture).sort(), ["amd64", "arm64"]);
    },
  );

  test("without --output or --push it says what it needs", async () => {
    const r = await runCli(["build", fixture("configs", "apko", "apko.yaml")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--output or --push is required/);
  });
});
