import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseChallenges } from "../../provider/registry/challenge";
import { apiHost, formatReference, isLoopbackHost, parseReference } from "../../provider/registry/reference";
import { backoffDelay, parseRetryAfter, retryPolicy } from "../../provider/registry/retry";
import { isDistrolessError } from "../../provider/util/errors";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("image references", () => {
  test("split like docker: registry, repository, tag, digest", () => {
    assert.deepEqual(parseReference("registry.example.com/team/app:1.2"), {
      registry: "registry.example.com",
      repository: "team/app",
      tag: "1.2",
    });
    assert.deepEqual(parseReference(`localhost:5000/x@${DIGEST}`), {
      registry: "localhost:5000",
      repository: "x",
      digest: DIGEST,
    });
    assert.deepEqual(parseReference(`127.0.0.1:5000/a/b/c:t@${DIGEST}`), {
      registry: "127.0.0.1:5000",
      repository: "a/b/c",
      tag: "t",
      digest: DIGEST,
    });
    assert.deepEqual(parseReference("localhost/app"), { registry: "localhost", repository: "app" });
  });

  test("normalize Docker Hub names", () => {
    assert.deepEqual(parseReference("alpine"), { registry: "docker.io", repository: "library/alpine" });
    assert.deepEqual(parseReference("chainguard/static:latest"), {
      registry: "docker.io",
      repository: "chainguard/static",
      tag: "latest",
    });
    assert.equal(parseReference("index.docker.io/library/busybox").registry, "docker.io");
    assert.equal(apiHost("docker.io"), "registry-1.docker.io");
    assert.equal(formatReference(parseReference("alpine:3")), "docker.io/library/alpine:3");
  });

  test("reject malformed references with E_CONFIG naming them", () => {
    for (const bad of [
      "",
      "Team/App",
      "host:5000/app:bad tag",
      "host/app@sha256:xyz",
      "https://host/app",
      "host/app:-x",
    ]) {
      assert.throws(
        () => parseReference(bad),
        (err: unknown) =>
          isDistrolessError(err, "E_CONFIG") && err.message.includes("invalid image reference"),
        bad,
      );
    }
  });

  test("plain HTTP is only implied for loopback hosts", () => {
    assert.equal(isLoopbackHost("127.0.0.1:5000"), true);
    assert.equal(isLoopbackHost("localhost"), true);
    assert.equal(isLoopbackHost("[::1]:5000"), true);
    assert.equal(isLoopbackHost("registry.example.com"), false);
    assert.equal(isLoopbackHost("10.0.0.1:5000"), false);
    assert.equal(isLoopbackHost("LOCALHOST:5000"), true);
    assert.equal(isLoopbackHost("127.1:5000"), true);
    assert.equal(isLoopbackHost("127.example.com"), false);
  });

  test("registry host names are lower-cased; addresses stay as written", () => {
    assert.equal(parseReference("LOCALHOST:5000/app").registry, "localhost:5000");
    assert.equal(parseReference("Registry.Example.COM/team/app:V1").registry, "registry.example.com");
    assert.equal(parseReference("Registry.Example.COM/team/app:V1").tag, "V1");
    assert.equal(parseReference("127.1:5000/app").registry, "127.1:5000");
  });
});

describe("WWW-Authenticate challenges", () => {
  test("bearer parameters with commas inside quotes", () => {
    const [c] = parseChallenges(
      'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push"',
    );
    assert.deepEqual(c, {
      scheme: "bearer",
      params: {
        realm: "https://auth.example.com/token",
        service: "registry.example.com",
        scope: "repository:a/b:pull,push",
      },
    });
  });

  test("basic, several challenges, unknown schemes skipped", () => {
    const cs = parseChallenges([
      'Negotiate abc, Basic realm="Registry Realm"',
      'Bearer realm="http://127.0.0.1/t"',
    ]);
    assert.deepEqual(
      cs.map((c) => c.scheme),
      ["basic", "bearer"],
    );
    assert.equal(cs[0]!.params.realm, "Registry Realm");
  });
});

describe("retry timing", () => {
  test("Retry-After in seconds or as a date; capped by the policy", () => {
    assert.equal(parseRetryAfter("3"), 3000);
    const now = Date.parse("2026-01-01T00:00:00Z");
    assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5000);
    assert.equal(parseRetryAfter("soon"), undefined);
    const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
    assert.equal(backoffDelay(policy, 1, 60_000), 1000);
    const d = backoffDelay(policy, 3);
    assert.ok(d >= 400 && d <= 480, String(d));
  });
});
