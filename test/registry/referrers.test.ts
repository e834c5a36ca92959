import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { request } from "undici";
import { type ImageIndex, type ImageManifest, MEDIA_TYPES } from "../../provider/image/oci-types";
import { attachReferrer, listReferrers, pushLayout } from "../../provider/registry";
import { ociDigest } from "../../provider/util/hash";
import { makeTestImage, type TestImage } from "../helpers/oci-test-image";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { needsTools, skopeoInspectRaw } from "./readback";

const SPDX = "application/spdx+json";

function spdxDocument(name: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      spdxVersion: "SPDX-2.3",
      dataLicense: "CC0-1.0",
      SPDXID: "SPDXRef-DOCUMENT",
      name,
      documentNamespace: `https://example.invalid/spdx/${name}`,
      creationInfo: { created: "1970-01-01T00:00:00Z", creators: ["Tool: pulumi-distroless-test"] },
      packages: [
        {
          SPDXID: "SPDXRef-Package-busybox",
          name: "busybox",
          versionInfo: "test",
          downloadLocation: "NOASSERTION",
        },
      ],
    }),
  );
}

describe("SBOM referrers", needsTools(), () => {
  const work = tempDir();
  let registry: RegistryServer;
  let image: TestImage;
  let repo: string;

  before(async () => {
    registry = await startRegistry();
    image = await makeTestImage(path.join(work, "image"), { marker: "referrers" });
    repo = `${registry.host}/sbom/app`;
    await pushLayout({ layoutDir: image.layoutDir, reference: `${repo}:v1` });
  });
  after(async () => {
    await registry?.stop();
  });

  test("distribution 2.8 has no referrers API: the tag schema carries the SBOM", async () => {
    const subject = image.manifests.amd64;
    const sbom = spdxDocument("amd64");
    const attached = await attachReferrer({
      reference: repo,
      subject,
      artifactType: SPDX,
      content: { data: sbom },
      annotations: { "org.opencontainers.image.title": "sbom-x86_64.spdx.json" },
    });
    assert.equal(attached.via, "tag-schema");
    assert.equal(attached.fallbackTag, `sha256-${subject.slice(7)}`);

    // The API itself answers 404 here, which is what sends clients to the fallback.
    const api = await request(`${registry.url}/v2/sbom/app/referrers/${subject}`, {
      headers: { accept: MEDIA_TYPES.index },
    });
    await api.body.dump();
    assert.equal(api.statusCode, 404);

    // skopeo, reading the fallback tag, sees an index that lists the artifact manifest.
    const fallback = JSON.parse(
      (await skopeoInspectRaw(`${repo}:${attached.fallbackTag}`)).toString(),
    ) as ImageIndex;
    assert.equal(fallback.mediaType, MEDIA_TYPES.index);
    assert.deepEqual(fallback.manifests, [
      {
        mediaType: MEDIA_TYPES.manifest,
        digest: attached.digest,
        size: attached.descriptor.size,
        artifactType: SPDX,
        annotations: { "org.opencontainers.image.title": "sbom-x86_64.spdx.json" },
      },
    ]);

    // The artifact manifest: subject = the image manifest, one layer = our SPDX bytes.
    const artifact = JSON.parse(
      (await skopeoInspectRaw(`${repo}@${attached.digest}`)).toString(),
    ) as ImageManifest;
    assert.equal(artifact.artifactType, SPDX);
    assert.equal(artifact.subject?.digest, subject);
    assert.equal(artifact.subject?.mediaType, MEDIA_TYPES.manifest);
    assert.equal(artifact.config.mediaType, MEDIA_TYPES.empty);
    assert.deepEqual(artifact.layers, [{ mediaType: SPDX, digest: ociDigest(sbom), size: sbom.length }]);

    const found = await listReferrers(repo, subject);
    assert.deepEqual(
      found.map((d) => d.digest),
      [attached.digest],
    );
    assert.deepEqual(
      (await listReferrers(repo, subject, { artifactType: SPDX })).map((d) => d.digest),
      [attached.digest],
    );
    assert.deepEqual(
      await listReferrers(repo, subject, { artifactType: "application/vnd.example.other" }),
      [],
    );
  });

  test("more referrers append to the fallback index; attaching the same one twice adds nothing", async () => {
    const subject = image.manifests.arm64;
    const file = path.join(work, "sbom-aarch64.spdx.json");
    writeFileSync(file, spdxDocument("arm64"));
    const first = await attachReferrer({ reference: repo, subject, artifactType: SPDX, content: { file } });
    const again = await attachReferrer({ reference: repo, subject, artifactType: SPDX, content: { file } });
    assert.equal(again.digest, first.digest);
    const other = await attachReferrer({
      reference: repo,
      subject,
      artifactType: "application/vnd.example.attestation+json",
      content: { data: Buffer.from('{"predicate":{}}') },
    });
    const all = await listReferrers(repo, subject);
    assert.deepEqual(
      all.map((d) => [d.digest, d.artifactType]),
      [
        [first.digest, SPDX],
        [other.digest, "application/vnd.example.attestation+json"],
      ],
    );
    assert.deepEqual(
      (await listReferrers(repo, subject, { artifactType: SPDX })).map((d) => d.digest),
      [first.digest],
    );
  });

  test("a subject without referrers lists none; a missing subject is refused", async () => {
    assert.deepEqual(await listReferrers(repo, image.indexDigest), []);
    await assert.rejects(
      attachReferrer({
        reference: repo,
        subject: `sha256:${"3".repeat(64)}`,
        artifactType: SPDX,
        content: { data: spdxDocument("x") },
      }),
      /subject manifest sha256:3{64} is not in the repository/,
    );
  });
});
