import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import type { PushResult } from "../../provider/registry";
import { runCli } from "../helpers/cli";
import { makeTestImage, type TestImage } from "../helpers/oci-test-image";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { makeTestCa } from "../helpers/test-ca";
import { tempDir } from "../helpers/tmp";
import { needsTools, skopeoInspectRaw } from "./readback";

const USER = "carol";
const PASSWORD = "cli-password-on-stdin";

function cli(args: string[], input = "") {
  return runCli(args, { input });
}

describe("pulumi-distroless push", needsTools("htpasswd"), () => {
  const work = tempDir();
  let registry: RegistryServer;
  let image: TestImage;
  const caFile = path.join(work, "ca.pem");
  const certDir = path.join(work, "certs");

  before(async () => {
    const ca = makeTestCa();
    const server = ca.issue({ commonName: "127.0.0.1", ips: ["127.0.0.1"] });
    registry = await startRegistry({
      auth: { kind: "htpasswd", users: { [USER]: PASSWORD } },
      tls: { certPem: server.certPem, keyPem: server.keyPem },
    });
    writeFileSync(caFile, ca.certPem);
    mkdirSync(certDir);
    writeFileSync(path.join(certDir, "ca.crt"), ca.certPem);
    image = await makeTestImage(path.join(work, "image"), { marker: "cli" });
  });
  after(async () => {
    await registry?.stop();
  });

  const authArgs = () => ["--ca-file", caFile, "--username", USER, "--password-stdin"];

  test("--json: index digest, repo@digest, uploaded vs skipped; tags from the reference and --tag", async () => {
    const res = await cli(
      ["push", image.layoutDir, `${registry.host}/cli/app:v1`, "--tag", "stable", "--json", ...authArgs()],
      `${PASSWORD}\n`,
    );
    assert.equal(res.code, 0, res.stderr);
    const [result] = JSON.parse(res.stdout) as PushResult[];
    assert.equal(result?.indexDigest, image.indexDigest);
    assert.equal(result?.imageRef, `${registry.host}/cli/app@${image.indexDigest}`);
    assert.deepEqual(result?.tags, ["v1", "stable"]);
    assert.equal(result?.uploaded.blobs, image.blobs.length);
    assert.equal(result?.skipped.blobs, 0);
    const raw = await skopeoInspectRaw(`${registry.host}/cli/app:stable`, {
      certDir,
      creds: { username: USER, password: PASSWORD },
    });
    assert.equal(JSON.parse(raw.toString()).manifests.length, 2);
  });

  test("human output on a re-push to two repositories: skipped, then mounted", async () => {
    const res = await cli(
      [
        "push",
        image.layoutDir,
        `${registry.host}/cli/app:v1`,
        `${registry.host}/cli/mirror:v1`,
        ...authArgs(),
      ],
      PASSWORD,
    );
    assert.equal(res.code, 0, res.stderr);
    const [first, second] = res.stdout.trim().split("\n\n");
    assert.match(first ?? "", new RegExp(`^${registry.host}/cli/app@${image.indexDigest}\\n`));
    assert.match(first ?? "", new RegExp(`digest +${image.indexDigest}`));
    assert.match(first ?? "", /uploaded +0 blobs \(0 B\)/);
    assert.match(first ?? "", new RegExp(`skipped +${image.blobs.length} blobs`));
    assert.match(second ?? "", new RegExp(`mounted +${image.blobs.length} blobs`));
    assert.match(second ?? "", /amd64 +sha256:/);
  });

  test("a wrong password fails with exit 1 and an error that does not show it", async () => {
    const wrong = "definitely-wrong-cli-password";
    const res = await cli(["push", image.layoutDir, `${registry.host}/cli/app:v1`, ...authArgs()], wrong);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /pulumi-distroless push: .*rejected the credentials/);
    assert.ok(!res.stderr.includes(wrong) && !res.stdout.includes(wrong));
  });

  test("usage errors: no repository; --username without --password-stdin", async () => {
    const none = await cli(["push", image.layoutDir]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /usage: pulumi-distroless push OCI_LAYOUT\[:REF\] REPO\[:TAG\]/);
    const noStdin = await cli(["push", image.layoutDir, `${registry.host}/cli/app:v1`, "--username", USER]);
    assert.equal(noStdin.code, 1);
    assert.match(noStdin.stderr, /--username needs --password-stdin/);
  });
});
