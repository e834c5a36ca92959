import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { lookupCredentials } from "../../provider/registry/credentials";
import { isDistrolessError } from "../../provider/util/errors";
import { tempDir } from "../helpers/tmp";
import { writeDockerConfig } from "./docker-config";

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("docker config.json credentials", () => {
  test("auths: base64 user:pass, found through DOCKER_CONFIG, keys compared by host", async () => {
    const { env } = writeDockerConfig(tempDir(), {
      auths: {
        "registry.example.com": { auth: b64("alice:s3cret:with:colons") },
        "https://other.example.com:5000/v1/": { auth: b64("bob:pw") },
      },
    });
    const a = await lookupCredentials("registry.example.com", { env });
    assert.equal(a?.username, "alice");
    assert.equal(a?.password, "s3cret:with:colons");
    assert.match(a?.source ?? "", /config\.json/);
    const b = await lookupCredentials("other.example.com:5000", { env });
    assert.equal(b?.username, "bob");
    assert.equal(await lookupCredentials("unknown.example.com", { env }), undefined);
  });

  test("Docker Hub entries under https://index.docker.io/v1/", async () => {
    const { env } = writeDockerConfig(tempDir(), {
      auths: { "https://index.docker.io/v1/": { username: "hubuser", password: "hubpw" } },
    });
    const c = await lookupCredentials("docker.io", { env });
    assert.deepEqual([c?.username, c?.password], ["hubuser", "hubpw"]);
  });

  test("credHelpers win over auths; a helper's identity token is kept apart", async () => {
    const dir = tempDir();
    const { env, binDir } = writeDockerConfig(
      dir,
      {
        auths: { "registry.example.com": { auth: b64("fromauths:x") } },
        credHelpers: { "registry.example.com": "test", "tokens.example.com": "test" },
      },
      {
        test: {
          "registry.example.com": { username: "helperuser", secret: "helperpw" },
          "tokens.example.com": { username: "<token>", secret: "refresh-token" },
        },
      },
    );
    const c = await lookupCredentials("registry.example.com", { env });
    assert.deepEqual(
      [c?.username, c?.password, c?.source],
      ["helperuser", "helperpw", "credential helper docker-credential-test"],
    );
    const t = await lookupCredentials("tokens.example.com", { env });
    assert.equal(t?.identityToken, "refresh-token");
    assert.equal(t?.password, undefined);
    assert.deepEqual(readFileSync(path.join(binDir, "test.log"), "utf8").trim().split("\n"), [
      "registry.example.com",
      "tokens.example.com",
    ]);
  });

  test("credsStore serves every registry; 'credentials not found' falls through to auths", async () => {
    const { env } = writeDockerConfig(
      tempDir(),
      { credsStore: "store", auths: { "plain.example.com": { auth: b64("p:q") } } },
      { store: { "stored.example.com": { username: "s", secret: "t" } } },
    );
    assert.equal((await lookupCredentials("stored.example.com", { env }))?.username, "s");
    assert.equal((await lookupCredentials("plain.example.com", { env }))?.username, "p");
  });

  test("a helper missing from PATH or a broken config is a clear error", async () => {
    const { env } = writeDockerConfig(tempDir(), { credHelpers: { "r.example.com": "nosuchhelper" } });
    await assert.rejects(lookupCredentials("r.example.com", { env }), (err: unknown) => {
      return isDistrolessError(err, "E_MISSING") && err.message.includes("docker-credential-nosuchhelper");
    });
    const dir = tempDir();
    writeFileSync(path.join(dir, "config.json"), "{ not json");
    await assert.rejects(lookupCredentials("r.example.com", { dockerConfigDir: dir }), (err: unknown) => {
      return isDistrolessError(err, "E_CONFIG") && err.message.includes("config.json");
    });
  });

  test("no config file means anonymous", async () => {
    assert.equal(await lookupCredentials("r.example.com", { dockerConfigDir: tempDir() }), undefined);
  });
});
