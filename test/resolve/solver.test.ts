import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isDistrolessError } from "../../provider/util/errors";
import { Harness, oneRepo, sorted } from "./harness";

/** Asserts an E_RESOLVE rejection whose message matches every pattern. */
async function rejects(p: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(isDistrolessError(err, "E_RESOLVE"), `expected E_RESOLVE, got ${String(err)}`);
    for (const re of patterns) assert.match(err.message, re);
    return err.message;
  }
  assert.fail("expected the resolution to fail");
}

describe("versions and constraints", () => {
  const pkgs = [
    { name: "foo", version: "1.0-r0" },
    { name: "foo", version: "1.2.3-r1" },
    { name: "foo", version: "2.0_rc1-r0" },
    { name: "foo", version: "2.0-r0" },
    { name: "bar", version: "1.0-r0", depends: ["foo<2"] },
  ];

  test("each operator picks the highest version it allows", async () => {
    const h = await oneRepo(pkgs);
    assert.deepEqual(await h.labels(["foo"]), ["foo-2.0-r0"]);
    // apk order: 2.0_rc1 < 2.0, but 2.0_rc1 > 2 (it has more components).
    assert.deepEqual(await h.labels(["foo<2.0"]), ["foo-2.0_rc1-r0"]);
    assert.deepEqual(await h.labels(["foo<2"]), ["foo-1.2.3-r1"]);
    assert.deepEqual(await h.labels(["foo<=1.2.3-r1"]), ["foo-1.2.3-r1"]);
    assert.deepEqual(await h.labels(["foo=1.0-r0"]), ["foo-1.0-r0"]);
    assert.deepEqual(await h.labels(["foo~1.2"]), ["foo-1.2.3-r1"]);
    assert.deepEqual(await h.labels(["foo>1.0-r0", "foo<2.0_rc1"]), ["foo-1.2.3-r1"]);
    assert.deepEqual(await h.labels(["bar"]), ["foo-1.2.3-r1", "bar-1.0-r0"]);
  });

  test("an unsatisfiable constraint names the chain that asked for it and each candidate", async () => {
    const h = await oneRepo([
      { name: "app", version: "1.0-r0", depends: ["lib"] },
      { name: "lib", version: "3.0-r0", depends: ["b>=2"] },
      { name: "b", version: "1.0-r0" },
      { name: "b", version: "1.5-r0" },
    ]);
    await rejects(
      h.resolve(["app"]),
      /x86_64: cannot satisfy world -> app-1\.0-r0 -> lib-3\.0-r0 -> b>=2/,
      /b-1\.0-r0: version 1\.0-r0 does not match >=2/,
      /b-1\.5-r0: version 1\.5-r0 does not match >=2/,
    );
  });

  test("an unknown package is named with the close names the index has", async () => {
    const h = await oneRepo([
      { name: "python3", version: "3.10-r0" },
      { name: "py3-pip", version: "22-r0" },
    ]);
    await rejects(
      h.resolve(["pyhton3"]),
      /unknown package "pyhton3" \(required by world -> pyhton3\); did you mean python3\?/,
    );
    await rejects(h.resolve(["nothing-like-it"]), /unknown package "nothing-like-it"/);
  });

  test("two packages requiring incompatible versions of one name fail, naming both chains", async () => {
    const h = await oneRepo([
      { name: "a", version: "1-r0", depends: ["lib<2"] },
      { name: "b", version: "1-r0", depends: ["lib>=2"] },
      { name: "lib", version: "1.0-r0" },
      { name: "lib", version: "2.0-r0" },
    ]);
    await rejects(
      h.resolve(["a", "b"]),
      /^x86_64: cannot satisfy world -> a-1-r0 -> lib<2: /,
      /lib-1\.0-r0: world -> b-1-r0 requires lib>=2; lib-2\.0-r0: version 2\.0-r0 does not match <2/,
      /these requests cannot be installed together \(each set without one of them resolves\): a, b$/,
    );
  });
});

describe("virtual names", () => {
  test("so:, cmd: and plain provides are resolved to their providers", async () => {
    const h = await oneRepo([
      { name: "musl", version: "1.2.3-r2", provides: ["so:libc.musl-x86_64.so.1=1"] },
      {
        name: "busybox",
        version: "1.35-r17",
        depends: ["so:libc.musl-x86_64.so.1"],
        provides: ["/bin/sh", "cmd:sh=1.35-r17"],
      },
      { name: "app", version: "1-r0", depends: ["/bin/sh", "cmd:sh", "so:libc.musl-x86_64.so.1>=0.1"] },
    ]);
    assert.deepEqual(await h.labels(["app"]), ["musl-1.2.3-r2", "busybox-1.35-r17", "app-1-r0"]);
  });

  test("versioned provides: the highest provided version wins, and a version constraint filters", async () => {
    const h = await oneRepo([
      { name: "jdk11", version: "11.0-r0", provides: ["java-jdk=11"] },
      { name: "jdk17", version: "17.0-r0", provides: ["java-jdk=17"] },
      { name: "legacy", version: "1-r0", depends: ["java-jdk<12"] },
    ]);
    assert.deepEqual(await h.labels(["java-jdk"]), ["jdk17-17.0-r0"]);
    assert.deepEqual(await h.labels(["legacy"]), ["jdk11-11.0-r0", "legacy-1-r0"]);
    await rejects(
      h.resolve(["java-jdk>17"]),
      /jdk17-17\.0-r0 \[provides java-jdk=17\]: version 17 does not match >17/,
    );
  });

  test("a virtual with several unversioned providers and nothing to prefer fails naming them (apk)", async () => {
    const h = await oneRepo([
      { name: "certs-a", version: "1-r0", provides: ["ca-certs"] },
      { name: "certs-b", version: "1-r0", provides: ["ca-certs"] },
      { name: "app", version: "1-r0", depends: ["ca-certs"] },
    ]);
    await rejects(
      h.resolve(["app"]),
      /ca-certs \(virtual\): no provider may be picked for it automatically \(none has a provider_priority\): provided by: certs-a certs-b; required by: world -> app-1-r0 -> ca-certs/,
    );
    // Naming one of them settles it, wherever it appears in the world.
    assert.deepEqual(await h.labels(["app", "certs-b"]), ["certs-b-1-r0", "app-1-r0"]);
    assert.deepEqual(await h.labels(["certs-a", "app"]), ["certs-a-1-r0", "app-1-r0"]);
  });

  test("a single unversioned provider is not picked on its own (apk-tools), but serves once required", async () => {
    const h = await oneRepo([
      { name: "only", version: "1-r0", provides: ["thing"] },
      { name: "only", version: "2-r0", provides: ["thing"] },
      { name: "app", version: "1-r0", depends: ["thing"] },
      { name: "prio", version: "1-r0", provides: ["other"], priority: 1 },
      { name: "app2", version: "1-r0", depends: ["other"] },
    ]);
    await rejects(
      h.resolve(["app"]),
      /thing \(virtual\): no provider may be picked for it automatically \(none has a provider_priority\): provided by: only; required by: world -> app-1-r0 -> thing\. Add the one you want to the packages/,
    );
    assert.deepEqual(await h.labels(["app", "only"]), ["only-2-r0", "app-1-r0"]);
    assert.deepEqual(await h.labels(["app", "only<2"]), ["only-1-r0", "app-1-r0"]);
    // A provider_priority makes a provider selectable, even alone.
    assert.deepEqual(await h.labels(["app2"]), ["prio-1-r0", "app2-1-r0"]);
  });

  test("an unversioned provide cannot satisfy a versioned constraint", async () => {
    const h = await oneRepo([{ name: "only", version: "1-r0", provides: ["thing"] }]);
    await rejects(
      h.resolve(["thing>=1"]),
      /only-1-r0 \[provides thing\]: it provides thing without a version/,
    );
  });
});

describe("provider_priority", () => {
  test("it breaks the tie between unversioned providers", async () => {
    const h = await oneRepo([
      { name: "dash-binsh", version: "0.5-r0", provides: ["/bin/sh"], priority: 60 },
      { name: "busybox-binsh", version: "1.35-r0", provides: ["/bin/sh"], priority: 100 },
      { name: "yash-binsh", version: "2.5-r0", provides: ["/bin/sh"] },
      { name: "app", version: "1-r0", depends: ["/bin/sh"] },
    ]);
    assert.deepEqual(await h.labels(["app"]), ["busybox-binsh-1.35-r0", "app-1-r0"]);
  });

  test("between equal provided versions the higher priority wins, a higher provided version first", async () => {
    const h = await oneRepo([
      { name: "py3.11-foo", version: "1.0-r0", provides: ["py3-foo=1.0-r0"], priority: 11 },
      { name: "py3.12-foo", version: "1.0-r0", provides: ["py3-foo=1.0-r0"], priority: 12 },
      { name: "py3.10-foo", version: "1.1-r0", provides: ["py3-foo=1.1-r0"], priority: 10 },
    ]);
    assert.deepEqual(await h.labels(["py3-foo"]), ["py3.10-foo-1.1-r0"]);
    assert.deepEqual(await h.labels(["py3-foo<1.1"]), ["py3.12-foo-1.0-r0"]);
  });
});

describe("install_if", () => {
  const pkgs = [
    { name: "git", version: "2.36-r0" },
    { name: "bash", version: "5.1-r0" },
    { name: "bash-completion", version: "2.11-r0" },
    {
      name: "git-bash-completion",
      version: "2.36-r0",
      installIf: ["git=2.36-r0", "bash-completion"],
      depends: ["bash"],
    },
    { name: "docs", version: "1-r0" },
    { name: "git-doc", version: "2.36-r0", installIf: ["git", "docs"] },
  ];

  test("a package is added when all its conditions hold, with its own dependencies", async () => {
    const h = await oneRepo(pkgs);
    assert.deepEqual(await h.labels(["git"]), ["git-2.36-r0"]);
    assert.deepEqual(sorted(await h.labels(["git", "bash-completion"])), [
      "bash-5.1-r0",
      "bash-completion-2.11-r0",
      "git-2.36-r0",
      "git-bash-completion-2.36-r0",
    ]);
    assert.deepEqual(sorted(await h.labels(["docs", "git"])), [
      "docs-1-r0",
      "git-2.36-r0",
      "git-doc-2.36-r0",
    ]);
    const out = await h.resolve(["git", "bash-completion"]);
    const order = out.lock.archs.x86_64!.map((p) => p.name);
    assert.ok(
      order.indexOf("bash") < order.indexOf("git-bash-completion"),
      "its dependency is installed first",
    );
  });

  test("a versioned condition must match the installed version", async () => {
    const h = await oneRepo([...pkgs, { name: "git", version: "2.37-r0" }]);
    assert.deepEqual(sorted(await h.labels(["git", "bash-completion"])), [
      "bash-completion-2.11-r0",
      "git-2.37-r0",
    ]);
  });
});

describe("conflicts", () => {
  test("a world !name excludes every provider of the name", async () => {
    const h = await oneRepo([
      { name: "openssl", version: "3-r0", provides: ["libssl"] },
      { name: "libressl", version: "3-r0", provides: ["libssl"] },
      { name: "curl", version: "8-r0", depends: ["libssl"] },
    ]);
    assert.deepEqual(await h.labels(["curl", "libressl", "!openssl"]), ["libressl-3-r0", "curl-8-r0"]);
    await rejects(h.resolve(["openssl", "!openssl"]), /openssl-3-r0: excluded by world\[!openssl\]/);
  });

  test("a package's !dep steers other choices away and fails only when the name is needed anyway", async () => {
    const h = await oneRepo([
      { name: "a", version: "1-r0", depends: ["!b", "impl"] },
      { name: "b", version: "1-r0", provides: ["impl=1"] },
      { name: "c", version: "1-r0", provides: ["impl=1"] },
      { name: "needs-b", version: "1-r0", depends: ["b"] },
    ]);
    assert.deepEqual(await h.labels(["a"]), ["c-1-r0", "a-1-r0"]);
    await rejects(h.resolve(["a", "needs-b"]), /excluded by a-1-r0 \[!b\]/);
  });
});

describe("origin preference", () => {
  test("a provider from an origin already chosen, at the chosen version, is preferred", async () => {
    const h = await oneRepo([
      { name: "foo-tools", version: "1.1-r0", origin: "foo", depends: ["so:libfoo.so.1"] },
      { name: "libfoo", version: "1.1-r0", origin: "foo", provides: ["so:libfoo.so.1=1"] },
      { name: "libfoo-compat", version: "9.0-r0", origin: "compat", provides: ["so:libfoo.so.1=1"] },
    ]);
    assert.deepEqual(await h.labels(["foo-tools"]), ["libfoo-1.1-r0", "foo-tools-1.1-r0"]);
    // Without the origin link the higher package version wins the tie.
    assert.deepEqual(await h.labels(["so:libfoo.so.1"]), ["libfoo-compat-9.0-r0"]);
  });
});

describe("@tag pinned repositories", () => {
  async function pinned(): Promise<Harness> {
    const h = new Harness();
    await h.repo({
      archs: {
        x86_64: [
          { name: "foo", version: "1.0-r0" },
          { name: "baz", version: "1.0-r0" },
          { name: "qux", version: "1.0-r0" },
        ],
      },
    });
    await h.repo({
      tag: "edge",
      archs: {
        x86_64: [
          { name: "foo", version: "2.0-r0" },
          { name: "baz", version: "2.0-r0" },
          { name: "bar", version: "1.0-r0", depends: ["baz", "edgeonly"] },
          { name: "edgeonly", version: "1.0-r0" },
        ],
      },
    });
    return h;
  }

  test("untagged constraints never take packages from a tagged repository", async () => {
    const h = await pinned();
    assert.deepEqual(await h.labels(["foo"]), ["foo-1.0-r0"]);
    await rejects(h.resolve(["bar"]), /bar-1\.0-r0: it is in the repository pinned as @edge/);
  });

  test("name@tag takes the package from that repository; its dependencies may use it too", async () => {
    const h = await pinned();
    const out = await h.resolve(["foo@edge"]);
    assert.deepEqual(
      out.lock.archs.x86_64!.map((p) => [p.name, p.version, p.tag]),
      [["foo", "2.0-r0", "edge"]],
    );
    // bar's dependencies prefer untagged repositories (baz 1.0), and may use @edge (edgeonly).
    assert.deepEqual(sorted(await h.labels(["bar@edge"])), ["bar-1.0-r0", "baz-1.0-r0", "edgeonly-1.0-r0"]);
  });

  test("name@tag prefers the tagged repository and falls back to untagged ones (apk-tools, apko)", async () => {
    const h = await pinned();
    assert.deepEqual(
      (await h.resolve(["qux@edge"])).lock.archs.x86_64!.map((p) => [p.name, p.version, p.tag]),
      [["qux", "1.0-r0", undefined]],
    );
    // Preferred even where the untagged repository has the higher version.
    const h2 = new Harness();
    await h2.repo({ archs: { x86_64: [{ name: "foo", version: "3.0-r0" }] } });
    await h2.repo({ tag: "edge", archs: { x86_64: [{ name: "foo", version: "2.0-r0" }] } });
    assert.deepEqual(await h2.labels(["foo@edge"]), ["foo-2.0-r0"]);
    assert.deepEqual(await h2.labels(["foo"]), ["foo-3.0-r0"]);
    assert.deepEqual(await h2.labels(["foo@edge>2.5"]), ["foo-3.0-r0"]);
  });
});

describe("multi-arch consistency", () => {
  test("every arch gets the version all archs have, and a skew degrades to a notice", async () => {
    const h = new Harness();
    await h.repo({
      archs: {
        x86_64: [
          { name: "foo", version: "1.0-r0" },
          { name: "foo", version: "2.0-r0" },
          { name: "skew", version: "2.0-r0" },
        ],
        aarch64: [
          { name: "foo", version: "1.0-r0" },
          { name: "skew", version: "1.0-r0" },
        ],
      },
    });
    const out = await h.resolve(["foo"], ["x86_64", "aarch64"]);
    assert.deepEqual(
      out.lock.archs.x86_64!.map((p) => p.version),
      ["1.0-r0"],
    );
    assert.deepEqual(
      out.lock.archs.aarch64!.map((p) => p.version),
      ["1.0-r0"],
    );
    assert.deepEqual(out.notices, []);
    // A single-arch resolve is free to take the newest.
    assert.deepEqual(await h.labels(["foo"]), ["foo-2.0-r0"]);
    const skew = await h.resolve(["skew"], ["x86_64", "aarch64"]);
    assert.equal(skew.lock.archs.x86_64![0]!.version, "2.0-r0");
    assert.equal(skew.lock.archs.aarch64![0]!.version, "1.0-r0");
    assert.ok(
      skew.notices.some((n) =>
        /x86_64: world -> skew: using skew-2\.0-r0 \(skew-2\.0-r0 is not available for aarch64\)/.test(n),
      ),
    );
  });

  test("a package missing on one arch is an error naming that arch", async () => {
    const h = new Harness();
    await h.repo({
      archs: {
        x86_64: [
          { name: "app", version: "1-r0", depends: ["cpuid"] },
          { name: "cpuid", version: "1-r0" },
        ],
        aarch64: [{ name: "app", version: "1-r0", depends: ["cpuid"] }],
      },
    });
    await rejects(
      h.resolve(["app"], ["x86_64", "aarch64"]),
      /^aarch64: "cpuid" is not available for aarch64 \(it is for x86_64\); unknown package "cpuid" \(required by world -> app-1-r0 -> cpuid\)$/,
    );
    await rejects(h.resolve(["nope"], ["x86_64", "aarch64"]), /^x86_64, aarch64: unknown package "nope"/);
  });
});

describe("determinism and install order", () => {
  const pkgs = [
    { name: "a", version: "1-r0", depends: ["b", "c"] },
    { name: "b", version: "1-r0", depends: ["d"] },
    { name: "c", version: "1-r0", depends: ["d", "b"] },
    { name: "d", version: "1-r0", depends: ["a"] }, // a cycle back to the root
    { name: "e", version: "1-r0" },
  ];

  test("the same world in any order gives the same lock and digest; dependencies come first", async () => {
    const h = await oneRepo(pkgs);
    const one = await h.resolve(["a", "e"]);
    const two = await h.resolve(["e", "a"]);
    assert.deepEqual(one.lock, two.lock);
    assert.match(one.lock.lockDigest, /^sha256:[0-9a-f]{64}$/);
    const order = one.lock.archs.x86_64!.map((p) => p.name);
    assert.deepEqual(order, ["d", "b", "c", "a", "e"]);
    const different = await h.resolve(["a"]);
    assert.notEqual(different.lock.lockDigest, one.lock.lockDigest);
  });
});
