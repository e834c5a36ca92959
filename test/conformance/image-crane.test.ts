/**
 * Cross-check (issue #16): a second OCI client, go-containerregistry's `crane`, and skopeo read what
 * we push to a real registry (Debian's docker-registry), and agree with our layout byte for byte:
 * the index, each manifest, each config, each layer blob's digest, and the file system `crane
 * export` flattens out of the image against our own layer's entries.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import * as zlib from "node:zlib";
import { stringify } from "yaml";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import { assembleImage } from "../../provider/image/assemble";
import { loadApkoConfig } from "../../provider/image/config";
import { OciLayout } from "../../provider/image/oci-layout";
import type { ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { fetchInstallPlans, resolveImage } from "../../provider/image/pipeline";
import { pushLayout } from "../../provider/registry";
import { RepositoryClient } from "../../provider/repository/client";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { tool, toolSkip } from "../helpers/tools";
import { needsTools, skopeoInspectRaw } from "../registry/readback";
import { caseConfig, imageCases } from "./generate/cases";
import { writeConformanceRepo } from "./generate/repo";

function crane(args: string[]): Buffer {
  const res = spawnSync(tool("crane")!, ["--insecure", ...args], { maxBuffer: 256 << 20 });
  if (res.status !== 0) throw new Error(`crane ${args.join(" ")} failed (${res.status}): ${res.stderr}`);
  return res.stdout;
}

const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

describe("crane and skopeo read what we push", { ...toolSkip("crane"), ...needsTools() }, () => {
  const dir = tempDir("pd-conformance-crane-");
  let registry: RegistryServer;
  let layout: OciLayout;
  let indexDigest = "";
  let reference = "";

  before(async () => {
    registry = await startRegistry();
    const repo = await writeConformanceRepo(dir);
    const everything = imageCases().find((c) => c.name === "everything/all-archs")!;
    const configFile = path.join(dir, "apko.yaml");
    writeFileSync(configFile, stringify(caseConfig(everything, repo.root, repo.publicKey)));
    const cacheDir = path.join(dir, "cache");
    const client = new RepositoryClient({ cacheDir, offline: true });
    const resolved = await resolveImage(await loadApkoConfig(configFile), client);
    const outputDir = path.join(dir, "oci");
    const result = await assembleImage({
      config: resolved.config,
      plans: await fetchInstallPlans(resolved, client),
      keys: resolved.keys,
      cacheDir,
      outputDir,
      sourceDateEpoch: 1_700_000_000,
    });
    layout = new OciLayout(outputDir);
    indexDigest = result.indexDigest;
    reference = `${registry.host}/conformance/everything:v1`;
    await pushLayout({ layoutDir: outputDir, reference });
  });
  after(async () => {
    await registry?.stop();
  });

  test("index, manifests, configs and layer digests as crane and skopeo read them equal our layout's", async () => {
    const index = crane(["manifest", reference]);
    assert.equal(sha256(index), indexDigest, "crane's index is our index");
    assert.ok(index.equals(await skopeoInspectRaw(reference)), "skopeo's index is the same bytes");
    assert.equal(crane(["digest", reference]).toString("utf8").trim(), indexDigest);
    const ours = await layout.readJsonBlob<ImageIndex>(indexDigest);
    assert.equal(ours.manifests.length, 4, "four platforms");
    for (const desc of ours.manifests) {
      const p = desc.platform!;
      const platform = `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
      const manifestBytes = crane(["manifest", `${registry.host}/conformance/everything@${desc.digest}`]);
      assert.equal(sha256(manifestBytes), desc.digest, `${platform}: manifest`);
      const manifest = JSON.parse(manifestBytes.toString("utf8")) as ImageManifest;
      const config = crane(["config", reference, "--platform", platform]);
      assert.equal(sha256(config), manifest.config.digest, `${platform}: config via --platform`);
      const layer = crane(["blob", `${registry.host}/conformance/everything@${manifest.layers[0]!.digest}`]);
      assert.equal(sha256(layer), manifest.layers[0]!.digest, `${platform}: layer blob`);
      const diffIds = (JSON.parse(config.toString("utf8")) as { rootfs: { diff_ids: string[] } }).rootfs
        .diff_ids;
      assert.deepEqual(diffIds, [sha256(zlib.gunzipSync(layer))], `${platform}: diff_id of the served layer`);
    }
  });

  test("crane export flattens the image into exactly our layer's paths, types and contents", async () => {
    const ours = await layout.readJsonBlob<ImageIndex>(indexDigest);
    const amd64 = ours.manifests.find((m) => m.platform?.architecture === "amd64")!;
    const manifest = await layout.readJsonBlob<ImageManifest>(amd64.digest);
    const layer = zlib.gunzipSync(await layout.readBlob(manifest.layers[0]!.digest, 1 << 30));
    const exported = crane(["export", "--platform", "linux/amd64", reference, "-"]);
    const view = async (tar: Buffer) =>
      (await readTarBuffer(tar, { maxEntryBytes: 1 << 30 })).map(({ header: h, data }) =>
        [h.name.replace(/^\.?\//, "").replace(/\/$/, ""), h.type, h.mode, h.linkname, sha256(data)].join(" "),
      );
    assert.deepEqual((await view(exported)).sort(), (await view(layer)).sort());
  });
});
