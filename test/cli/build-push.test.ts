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

  test(
    "build --output DIR, then push DIR REPO:TAG pushes the image index; DIR:REF or --ref picks one entry",
    needsTools(),
    async () => {
      const work = tempDir();
      const layout = `${work}/layout`;
      const built = await runCli([
        "build",
        fixture("configs", "apko", "apko.yaml"),
        "--output",
        layout,
        "--cache-dir",
        work,
        "--source-date-epoch",
        "0",
        "--json",
      ]);
      assert.equal(built.code, 0, built.stderr);
      const { indexDigest } = JSON.parse(built.stdout) as { indexDigest: string };

      const pushed = await runCli(["push", layout, `${registry.host}/layout/app:v1`, "--json"]);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.equal((JSON.parse(pushed.stdout) as { indexDigest: string }[])[0]!.indexDigest, indexDigest);
      const index = JSON.parse((await skopeoInspectRaw(`${registry.host}/layout/app:v1`)).toString()) as {
        manifests: unknown[];
      };
      assert.equal(index.manifests.length, 2);

      for (const args of [
        [`${layout}:latest-aarch64`, `${registry.host}/layout/arm:v1`],
        [layout, `${registry.host}/layout/arm:v2`, "--ref", "latest-aarch64"],
      ]) {
        const one = await runCli(["push", ...args, "--json"]);
        assert.equal(one.code, 0, one.stderr);
        const tag = args[1]!.slice(args[1]!.lastIndexOf(":") + 1);
        const manifest = JSON.parse(
          (await skopeoInspectRaw(`${registry.host}/layout/arm:${tag}`)).toString(),
        ) as { mediaType: string; layers: unknown[] };
        assert.equal(manifest.mediaType, "application/vnd.oci.image.manifest.v1+json");
        assert.equal(manifest.layers.length, 1);
      }
      const unknown = await runCli(["push", `${layout}:nope`, `${registry.host}/layout/app:v3`]);
      assert.equal(unknown.code, 1);
      assert.match(
        unknown.stderr,
        /no single entry named "nope" in index\.json \(entries: latest, latest-x86_64, latest-aarch64\)/,
      );
    },
  );

  test("without --output or --push it says what it needs", async () => {
    const r = await runCli(["build", fixture("configs", "apko", "apko.yaml")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--output or --push is required/);
  });
});
