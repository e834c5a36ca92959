import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { pushLayout, resolveTag } from "../../provider/registry";
import { isDistrolessError } from "../../provider/util/errors";
import { makeTestImage, type TestImage } from "../helpers/oci-test-image";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { writeDockerConfig } from "./docker-config";
import { needsTools } from "./readback";

const USER = "carol";
const PASSWORD = "host-names-are-case-blind";
const b64 = (s: string) => Buffer.from(s).toString("base64");

/**
 * Credentials are found by the registry host, however the reference spells a host name's case; an
 * address written another way (`127.1` for `127.0.0.1`) is another key, as in docker, and the error
 * then says which host nothing was found for.
 */
describe("registry host names and credentials", needsTools("htpasswd"), () => {
  const work = tempDir();
  let registry: RegistryServer;
  let image: TestImage;

  before(async () => {
    registry = await startRegistry({ auth: { kind: "htpasswd", users: { [USER]: PASSWORD } } });
    image = await makeTestImage(path.join(work, "image"), { marker: "host-names" });
  });
  after(async () => {
    await registry?.stop();
  });

  const configWith = (key: string) =>
    writeDockerConfig(path.join(work, key.replace(/\W/g, "_")), {
      auths: { [key]: { auth: b64(`${USER}:${PASSWORD}`) } },
    }).env;

  test("LOCALHOST:port in the reference finds the localhost:port credentials", async () => {
    const env = configWith(`localhost:${registry.port}`);
    const ref = `LOCALHOST:${registry.port}/case/app:v1`;
    const result = await pushLayout({ layoutDir: image.layoutDir, reference: ref, env });
    assert.equal(result.indexDigest, image.indexDigest);
    const tagged = await resolveTag(`localhost:${registry.port}/case/app:v1`, undefined, { env });
    assert.equal(tagged?.digest, image.indexDigest);
  });

  test("a config key in another case (https://LocalHost:port/v1/) still matches", async () => {
    const env = configWith(`https://LocalHost:${registry.port}/v1/`);
    const result = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `localhost:${registry.port}/case/app:v2`,
      env,
    });
    assert.equal(result.indexDigest, image.indexDigest);
  });

  test("127.1:port with credentials under 127.1:port sends them", async () => {
    const env = configWith(`127.1:${registry.port}`);
    const result = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `127.1:${registry.port}/short/app:v1`,
      env,
    });
    assert.equal(result.indexDigest, image.indexDigest);
  });

  test("127.1:port with credentials only under 127.0.0.1:port names the host nothing was found for", async () => {
    const env = configWith(`127.0.0.1:${registry.port}`);
    const err = await pushLayout({
      layoutDir: image.layoutDir,
      reference: `127.1:${registry.port}/short/app:v2`,
      env,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(isDistrolessError(err, "E_AUTH"), String(err));
    assert.match(err.message, new RegExp(`none were found for 127\\.1:${registry.port}`));
    assert.doesNotMatch(err.message, /rejected the credentials/);
  });
});
