import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import { runCli } from "../helpers/cli";
import { needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { run } from "./image-helpers";
import { fixtureConfigCopy } from "./layering-helpers";

/** The platforms skopeo finds in an OCI layout it copied to. */
function configArch(layoutRef: string): string {
  return JSON.parse(run("skopeo", ["inspect", "--config", layoutRef])).architecture;
}

describe("build --output FILE.tar of a multi-arch image", needsFixtures(), () => {
  const dir = tempDir();
  let config = "";
  before(() => {
    // layering.yaml: two archs, two layers each, so the archive carries several images and layers.
    mkdirSync(path.join(dir, "config"));
    config = fixtureConfigCopy("layering.yaml", path.join(dir, "config"));
  });
  const build = (...extra: string[]) =>
    runCli([
      "build",
      config,
      "--cache-dir",
      path.join(dir, "cache"),
      "--source-date-epoch",
      "0",
      "--tag",
      "test.local/img:v1",
      ...extra,
    ]);

  test("writes ONE archive: every platform for docker-archive, the index for oci-archive", async () => {
    const file = path.join(dir, "img.tar");
    const res = await build("--output", file, "--json");
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(JSON.parse(res.stdout).outputs, [file]);
    assert.ok(!existsSync(path.join(dir, "img-x86_64.tar")));
    const indexDigest = JSON.parse(res.stdout).indexDigest as string;

    const archive = await readTarBuffer(readFileSync(file));
    const manifestJson = JSON.parse(archive.find((e) => e.header.name === "manifest.json")!.data.toString());
    assert.deepEqual(
      manifestJson.map((m: { RepoTags: string[] }) => m.RepoTags),
      [["test.local/img:v1-amd64"], ["test.local/img:v1-arm64"]],
    );
    assert.deepEqual(
      manifestJson.map((m: { Layers: string[] }) => m.Layers.length),
      [2, 2],
    );
    const indexJson = JSON.parse(archive.find((e) => e.header.name === "index.json")!.data.toString());
    assert.equal(indexJson.manifests.length, 1);
    assert.equal(indexJson.manifests[0].digest, indexDigest);

    // Each platform loads from the one file, by tag through docker-archive...
    for (const [tag, arch] of [
      ["v1-amd64", "amd64"],
      ["v1-arm64", "arm64"],
    ]) {
      const out = `oci:${path.join(dir, `docker-${arch}`)}:x`;
      run("skopeo", ["copy", `docker-archive:${file}:test.local/img:${tag}`, out]);
      assert.equal(configArch(out), arch);
    }
    // ...and by platform from the multi-arch index through oci-archive.
    for (const arch of ["amd64", "arm64"]) {
      const out = `oci:${path.join(dir, `oci-${arch}`)}:x`;
      run("skopeo", ["copy", "--override-arch", arch, `oci-archive:${file}:v1`, out]);
      assert.equal(configArch(out), arch);
    }
    const all = path.join(dir, "oci-all");
    run("skopeo", ["copy", "--all", `oci-archive:${file}:v1`, `oci:${all}:x`]);
    const copied = JSON.parse(run("skopeo", ["inspect", "--raw", `oci:${all}:x`]));
    assert.equal(copied.manifests.length, 2, "the whole index comes across");
  });

  test("--per-arch writes one single-platform archive per arch", async () => {
    const file = path.join(dir, "split.tar");
    const res = await build("--output", file, "--per-arch", "--json");
    assert.equal(res.code, 0, res.stderr);
    const files = JSON.parse(res.stdout).outputs as string[];
    assert.deepEqual(files, [path.join(dir, "split-x86_64.tar"), path.join(dir, "split-aarch64.tar")]);
    const inspected = JSON.parse(run("skopeo", ["inspect", `docker-archive:${files[1]}`]));
    assert.equal(inspected.Architecture, "arm64");
    const bad = await build("--output", path.join(dir, "layout"), "--per-arch");
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /--per-arch/);
  });
});
