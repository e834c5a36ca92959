import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { inspect } from "node:util";
import { pushLayout, resolveTag } from "../../provider/registry";
import { isDistrolessError } from "../../provider/util/errors";
import { makeTestImage, type TestImage } from "../helpers/oci-test-image";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { makeTestCa, type TestCa } from "../helpers/test-ca";
import { tempDir } from "../helpers/tmp";
import { writeDockerConfig } from "./docker-config";
import { assertServedAndRuns, needsTools, skopeoInspectRaw } from "./readback";

const USER = "alice";
const PASSWORD = "correct-horse-battery-staple";

describe("push to a registry with htpasswd Basic auth over TLS", needsTools("htpasswd"), () => {
  const work = tempDir();
  let ca: TestCa;
  let registry: RegistryServer;
  let image: TestImage;
  const certDir = path.join(work, "certs");
  const auth = { username: USER, password: PASSWORD };

  before(async () => {
    ca = makeTestCa();
    const server = ca.issue({ commonName: "127.0.0.1", ips: ["127.0.0.1"], dnsNames: ["localhost"] });
    registry = await startRegistry({
      auth: { kind: "htpasswd", users: { [USER]: PASSWORD } },
      tls: { certPem: server.certPem, keyPem: server.keyPem },
    });
    mkdirSync(certDir, { recursive: true });
    writeFileSync(path.join(certDir, "ca.crt"), ca.certPem);
    image = await makeTestImage(path.join(work, "image"), { marker: "basic-tls" });
  });
  after(async () => {
    await registry?.stop();
  });

  test("pushes with credentials and our CA; skopeo reads back our index; runc runs it", async () => {
    const result = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `${registry.host}/secure/app:v1`,
      auth,
      caBundle: ca.certPem,
    });
    assert.equal(result.indexDigest, image.indexDigest);
    await assertServedAndRuns(`${registry.host}/secure/app:v1`, image, path.join(work, "run"), {
      certDir,
      creds: auth,
    });
  });

  test("a wrong password is a clear E_AUTH that never shows the password", async () => {
    const wrong = "hunter2-wrong-password";
    const err = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `${registry.host}/secure/app:v1`,
      auth: { username: USER, password: wrong },
      caBundle: ca.certPem,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isDistrolessError(err, "E_AUTH"), String(err));
    assert.match(err.message, /rejected the credentials \(from explicit auth input; HTTP 401/);
    assert.match(err.message, new RegExp(`${registry.host}/secure/app`));
    assert.match(err.message, /HEAD blob sha256:/);
    const everything = inspect(err, { depth: 20, showHidden: true });
    assert.ok(!everything.includes(wrong), "the password must not appear anywhere in the error");
    assert.ok(!everything.includes(Buffer.from(`${USER}:${wrong}`).toString("base64")));
  });

  test("no credentials: E_AUTH saying none were found", async () => {
    await assert.rejects(
      resolveTag(`${registry.host}/secure/app:v1`, undefined, {
        caBundle: ca.certPem,
        dockerConfigDir: tempDir(),
      }),
      (err: unknown) => isDistrolessError(err, "E_AUTH") && /none were found/.test(err.message),
    );
  });

  test("TLS is verified by default: without our CA the push fails naming the certificate", async () => {
    await assert.rejects(
      pushLayout({
        layoutDir: image.layoutDir,
        reference: `${registry.host}/secure/app:v1`,
        auth,
        retry: { attempts: 1 },
      }),
      (err: unknown) => isDistrolessError(err, "E_NETWORK") && /certificate is not trusted/.test(err.message),
    );
    const insecure = await resolveTag(`${registry.host}/secure/app:v1`, undefined, { auth, insecure: true });
    assert.equal(insecure?.digest, image.indexDigest, "--insecure skips verification");
  });

  test("credentials from DOCKER_CONFIG auths (base64 user:pass)", async () => {
    const { configDir } = writeDockerConfig(path.join(work, "docker-auths"), {
      auths: { [registry.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") } },
    });
    const result = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `${registry.host}/from-config/app:v1`,
      caBundle: ca.certPem,
      env: { ...process.env, DOCKER_CONFIG: configDir },
    });
    assert.equal(result.indexDigest, image.indexDigest);
    const raw = await skopeoInspectRaw(`${registry.host}/from-config/app:v1`, { certDir, creds: auth });
    assert.equal(JSON.parse(raw.toString()).manifests.length, 2);
  });

  test("credentials from a credHelpers entry: docker-credential-test on PATH", async () => {
    const { env, binDir } = writeDockerConfig(
      path.join(work, "docker-helper"),
      { credHelpers: { [registry.host]: "test" } },
      { test: { [registry.host]: { username: USER, secret: PASSWORD } } },
    );
    const result = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `${registry.host}/from-helper/app:v1`,
      caBundle: ca.certPem,
      env,
    });
    assert.equal(result.indexDigest, image.indexDigest);
    assert.equal(
      readFileSync(path.join(binDir, "test.log"), "utf8").trim(),
      registry.host,
      "asked once, for this host",
    );
    assert.equal(
      (await resolveTag(`${registry.host}/from-helper/app:v1`, undefined, { auth, caBundle: ca.certPem }))
        ?.digest,
      image.indexDigest,
    );
  });
});
