import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { inspect } from "node:util";
import { deleteTag, listTags, pushLayout, RegistryClient, resolveTag } from "../../provider/registry";
import { isDistrolessError } from "../../provider/util/errors";
import { makeTestImage, type TestImage } from "../helpers/oci-test-image";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { makeTestCa } from "../helpers/test-ca";
import { tempDir } from "../helpers/tmp";
import { startTokenIssuer, type TokenIssuer } from "../helpers/token-issuer";
import { assertServedAndRuns, needsTools, skopeoInspectRaw } from "./readback";

const USER = "bob";
const PASSWORD = "token-service-password";

describe("push to a registry with bearer token auth", needsTools(), () => {
  const work = tempDir();
  let issuer: TokenIssuer;
  let registry: RegistryServer;
  let image: TestImage;
  const auth = { username: USER, password: PASSWORD };

  before(async () => {
    issuer = await startTokenIssuer({ ca: makeTestCa("token CA"), users: { [USER]: PASSWORD } });
    registry = await startRegistry({
      auth: {
        kind: "token",
        realm: issuer.realm,
        service: issuer.service,
        issuer: issuer.issuer,
        rootCertBundlePem: issuer.rootCertBundlePem,
      },
    });
    image = await makeTestImage(path.join(work, "image"), { marker: "token" });
  });
  after(async () => {
    await registry?.stop();
    await issuer?.stop();
  });

  test("pushes with one token for the whole push; skopeo reads back our index; runc runs it", async () => {
    issuer.requests.length = 0;
    const result = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `${registry.host}/tok/app:v1`,
      auth,
    });
    assert.equal(result.indexDigest, image.indexDigest);
    // Concurrent first requests share one token request; every later request reuses the token.
    assert.equal(result.requests.tokenRequests, 1);
    assert.deepEqual(issuer.requests, [
      { scopes: ["repository:tok/app:pull,push"], user: USER, status: 200 },
    ]);

    await assertServedAndRuns(`${registry.host}/tok/app:v1`, image, path.join(work, "run"), { creds: auth });
  });

  test("a token the registry refuses is fetched again once (refresh on 401)", async () => {
    const client = new RegistryClient(registry.host, { auth });
    try {
      issuer.requests.length = 0;
      issuer.expireNext(1);
      const tag = await resolveTag(`${registry.host}/tok/app:v1`, undefined, { client });
      assert.equal(tag?.digest, image.indexDigest);
      assert.equal(issuer.requests.length, 2, "the expired token, then a fresh one");
      assert.equal(client.stats.tokenRequests, 2);
      // The fresh token is cached for the same scope: no more token requests.
      await resolveTag(`${registry.host}/tok/app:v1`, undefined, { client });
      assert.equal(client.stats.tokenRequests, 2);
    } finally {
      await client.close();
    }
  });

  test("a wrong password is refused by the token service: E_AUTH without the password", async () => {
    const wrong = "not-the-token-password";
    const err = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `${registry.host}/tok/app:v1`,
      auth: { username: USER, password: wrong },
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isDistrolessError(err, "E_AUTH"), String(err));
    assert.match(err.message, /token service http:\/\/127\.0\.0\.1:\d+\/token rejected the credentials/);
    assert.ok(err.message.includes(registry.host));
    assert.ok(!inspect(err, { depth: 20, showHidden: true }).includes(wrong));
  });

  test("anonymous callers get a token without access: E_AUTH saying credentials are needed", async () => {
    await assert.rejects(
      resolveTag(`${registry.host}/tok/app:v1`, undefined, { dockerConfigDir: tempDir() }),
      (err: unknown) => isDistrolessError(err, "E_AUTH") && /none were found/.test(err.message),
    );
  });

  test("a second repository mounts blobs with a token scoped to both repositories", async () => {
    issuer.requests.length = 0;
    const result = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `${registry.host}/tok/copy:v1`,
      auth,
      mountFrom: ["tok/app"],
    });
    assert.equal(result.mounted.blobs, image.blobs.length);
    assert.equal(result.uploaded.blobs, 0);
    assert.ok(
      issuer.requests.some(
        (r) =>
          r.scopes.includes("repository:tok/copy:pull,push") && r.scopes.includes("repository:tok/app:pull"),
      ),
      JSON.stringify(issuer.requests),
    );
    const raw = await skopeoInspectRaw(`${registry.host}/tok/copy:v1`, { creds: auth });
    assert.equal(JSON.parse(raw.toString()).manifests.length, 2);
  });

  test("deleteTag asks for the delete action and removes the tag", async () => {
    await pushLayout({ layoutDir: image.layoutDir, reference: `${registry.host}/tok/app:temp`, auth });
    issuer.requests.length = 0;
    const res = await deleteTag(`${registry.host}/tok/app`, "temp", { auth, ifDigest: image.indexDigest });
    assert.equal(res.outcome, "deleted");
    assert.ok(issuer.requests.every((r) => r.scopes.includes("repository:tok/app:pull,push,delete")));
    assert.deepEqual(await listTags(`${registry.host}/tok/app`, { auth }), ["v1"]);
  });
});

describe("token realms", needsTools(), () => {
  let registry: RegistryServer;
  before(async () => {
    const ca = makeTestCa("unused token CA");
    // The realm names a non-loopback host over plain HTTP: credentials must never be sent there,
    // and the refusal happens before any connection is attempted.
    registry = await startRegistry({
      auth: {
        kind: "token",
        realm: "http://auth.example.invalid/token",
        service: "svc",
        issuer: "iss",
        rootCertBundlePem: ca.certPem,
      },
    });
  });
  after(async () => {
    await registry?.stop();
  });

  test("a plain-HTTP realm off loopback is refused, naming it", async () => {
    await assert.rejects(
      resolveTag(`${registry.host}/any/app:v1`, undefined, { auth: { username: "u", password: "p" } }),
      (err: unknown) =>
        isDistrolessError(err, "E_AUTH") &&
        err.message.includes(
          "token realm http://auth.example.invalid is not HTTPS; refusing to send credentials",
        ),
    );
  });
});
