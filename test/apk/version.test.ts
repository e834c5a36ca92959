import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { dependencyVersionMatches, formatDependency, parseDependency } from "../../provider/apk/dependency";
import { compareVersions, isValidVersion, splitRevision, versionSatisfies } from "../../provider/apk/version";
import { fixture, needsFixtures } from "../helpers/fixtures";

describe("apk versions", () => {
  test("every line of apk-tools' version.data holds", needsFixtures(), () => {
    const lines = readFileSync(fixture("apk-tools", "version.data"), "utf8").split("\n");
    let checked = 0;
    const failures: string[] = [];
    for (const raw of lines) {
      const line = raw.replace(/#.*$/, "").trim();
      if (!line) continue;
      const [a, op, b] = line.split(/\s+/);
      assert.ok(a && op && b, `malformed line: ${raw}`);
      const r = compareVersions(a, b);
      const got = r < 0 ? "<" : r > 0 ? ">" : "=";
      if (got !== op) failures.push(`${a} ${op} ${b} (we say ${got})`);
      // The comparison is antisymmetric: swapping sides flips the result.
      const back = compareVersions(b, a);
      if (back !== -r) failures.push(`${b} vs ${a} is not the inverse`);
      checked++;
    }
    assert.deepEqual(failures, []);
    assert.ok(checked > 700, `only ${checked} lines checked`);
  });

  test("validity", () => {
    for (const v of [
      "1",
      "1.2.3",
      "1.2.3a",
      "1.0_alpha",
      "1.0_rc1_p2",
      "2.0-r10",
      "1.0~a1b2-r0",
      "0.1.0_alpha_pre2",
    ]) {
      assert.ok(isValidVersion(v), v);
    }
    for (const v of ["", "a1", "1.0-", "1.0-x1", "1.0_foo", "1..0", "1.0bc", "1.0-r1-r2", "1.0~"]) {
      assert.ok(!isValidVersion(v), v);
    }
  });

  test("constraints", () => {
    assert.ok(versionSatisfies("1.2.3-r0", ">=", "1.2"));
    assert.ok(!versionSatisfies("1.2.3-r0", "<", "1.2.3"));
    assert.ok(versionSatisfies("1.2.3-r0", "~", "1.2"));
    assert.ok(versionSatisfies("1.2-r1", "~", "1.2"));
    assert.ok(!versionSatisfies("1.3", "~", "1.2"));
    assert.ok(!versionSatisfies("1.20", "~", "1.2"));
    assert.ok(versionSatisfies("2.0", "=", "2.0"));
    assert.ok(!versionSatisfies("2.0-r1", "=", "2.0"));
    assert.ok(versionSatisfies("1.0_rc1", "<", "1.0"));
  });

  test("splitRevision", () => {
    assert.deepEqual(splitRevision("1.2.3-r4"), { version: "1.2.3", epoch: 4 });
    assert.deepEqual(splitRevision("1.2.3"), { version: "1.2.3", epoch: 0 });
  });
});

describe("dependencies", () => {
  test("parse every form", () => {
    assert.deepEqual(parseDependency("busybox"), { name: "busybox", conflict: false });
    assert.deepEqual(parseDependency("!foo"), { name: "foo", conflict: true });
    assert.deepEqual(parseDependency("so:libc.musl-x86_64.so.1"), {
      name: "so:libc.musl-x86_64.so.1",
      conflict: false,
    });
    assert.deepEqual(parseDependency("openssl>=3.1"), {
      name: "openssl",
      op: ">=",
      version: "3.1",
      conflict: false,
    });
    assert.deepEqual(parseDependency("foo=~1.2"), { name: "foo", op: "~", version: "1.2", conflict: false });
    assert.deepEqual(parseDependency("foo~1.2"), { name: "foo", op: "~", version: "1.2", conflict: false });
    assert.deepEqual(parseDependency("foo@edge>=1.2"), {
      name: "foo",
      op: ">=",
      version: "1.2",
      tag: "edge",
      conflict: false,
    });
    assert.deepEqual(parseDependency("foo=1.2-r0@local"), {
      name: "foo",
      op: "=",
      version: "1.2-r0",
      tag: "local",
      conflict: false,
    });
    assert.equal(formatDependency(parseDependency("foo=1.2-r0@local")), "foo@local=1.2-r0");
  });

  test("invalid dependencies are refused with the text", () => {
    assert.throws(() => parseDependency("foo>="), /foo>=/);
    assert.throws(() => parseDependency("@x"), /invalid package name/);
    assert.throws(() => parseDependency("foo@b$d"), /invalid repository tag/);
  });

  test("matching", () => {
    assert.ok(dependencyVersionMatches(parseDependency("foo"), undefined));
    assert.ok(!dependencyVersionMatches(parseDependency("foo>1"), undefined));
    assert.ok(dependencyVersionMatches(parseDependency("foo>1"), "1.1"));
  });
});
