import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { solve } from "../../provider/resolve/solver";
import { fails, indexOf, installs, repo } from "./scenario";

describe("a complete search (backtracking)", () => {
  test("a newest version whose dependencies cannot be met gives way to an older one", () => {
    const r = repo(`
      P:app
      V:2-r0
      D:lib>=5

      P:app
      V:1-r0
      D:lib

      P:lib
      V:3-r0`);
    assert.deepEqual(installs([r], ["app"]), ["app-1-r0", "lib-3-r0"]);
  });

  test("b needs d<2 and c needs d>1: d-1.5, whatever order the dependencies come in", () => {
    const records = `
      P:b
      V:1-r0
      D:d<2

      P:c
      V:1-r0
      D:d>1

      P:d
      V:1.0-r0

      P:d
      V:1.5-r0

      P:d
      V:2.0-r0`;
    for (const deps of ["d b c", "b c", "c b", "d c b"]) {
      const r = repo(`P:a\nV:1-r0\nD:${deps}\n\n${records}`);
      assert.deepEqual(installs([r], ["a"]), ["a-1-r0", "b-1-r0", "c-1-r0", "d-1.5-r0"], deps);
    }
    // The world's own order makes no difference either.
    const r = repo(records);
    assert.deepEqual(installs([r], ["d", "c", "b"]), ["b-1-r0", "c-1-r0", "d-1.5-r0"]);
  });

  test("an early choice that only a later dependency rules out is revisited", () => {
    // x's newest version needs y-2, which conflicts with z; only x-1 (with y-1) works with z.
    const r = repo(`
      P:x
      V:2-r0
      D:y=2-r0

      P:x
      V:1-r0
      D:y

      P:y
      V:2-r0
      D:!z

      P:y
      V:1-r0

      P:z
      V:1-r0`);
    assert.deepEqual(installs([r], ["x", "z"]), ["x-1-r0", "y-1-r0", "z-1-r0"]);
  });

  test("a world that no choice satisfies reports the preferred failure and the conflicting entries", () => {
    const r = repo(`
      P:a
      V:1-r0
      D:lib<2

      P:b
      V:1-r0
      D:lib>=2

      P:lib
      V:1.0-r0

      P:lib
      V:2.0-r0

      P:other
      V:1-r0`);
    const err = fails([r], ["other", "a", "b"]);
    assert.equal(err.kind, "unsatisfiable");
    assert.match(err.message, /^x86_64: cannot satisfy world -> a-1-r0 -> lib<2/);
    assert.match(
      err.message,
      /cannot be installed together \(each set without one of them resolves\): a, b$/,
    );
  });

  test("an adversarial index ends with 'search gave up' instead of hanging", () => {
    // Every top choice of t1..t12 works alone but the last level needs a version none of them allows:
    // 2^12 combinations, far more than the budget below.
    const records: string[] = [];
    const world: string[] = [];
    for (let i = 1; i <= 12; i++) {
      world.push(`t${i}`);
      for (const v of [1, 2]) records.push(`P:t${i}\nV:${v}-r0\nD:leaf`);
    }
    records.push("P:leaf\nV:1-r0\nD:missing>=9", "P:missing\nV:1-r0");
    const err = fails([repo(records.join("\n\n"))], world, { maxSteps: 500 });
    assert.equal(err.kind, "exhausted");
    assert.match(err.message, /cannot satisfy world -> t\d+-2-r0 -> leaf-1-r0 -> missing>=9/);
    assert.match(err.message, /the search gave up after 500 steps \(\d+ combinations tried\)$/);
  });
});

describe("install_if", () => {
  test("when the best version of a triggered package cannot be installed, the next one is", () => {
    const r = repo(`
      P:git
      V:2-r0

      P:docs
      V:1-r0

      P:git-doc
      V:2-r0
      i:git docs
      D:manpages>=5

      P:git-doc
      V:1-r0
      i:git docs
      D:manpages

      P:manpages
      V:4-r0`);
    assert.deepEqual(installs([r], ["git", "docs"]), [
      "docs-1-r0",
      "git-2-r0",
      "git-doc-1-r0",
      "manpages-4-r0",
    ]);
  });

  test("a triggered package comes from its trigger's tagged repository, and not from another tag", () => {
    const main = repo(`
      P:git
      V:2-r0

      P:docs
      V:1-r0`);
    const edge = repo(
      `
      P:git
      V:3-r0

      P:git-doc
      V:3-r0
      i:git docs`,
      "edge",
    );
    assert.deepEqual(installs([main, edge], ["git@edge", "docs"]), ["docs-1-r0", "git-3-r0", "git-doc-3-r0"]);
    // git from the untagged repository does not open @edge to git-doc.
    assert.deepEqual(installs([main, edge], ["git", "docs"]), ["docs-1-r0", "git-2-r0"]);
  });
  test("`!name` conditions hold while nothing provides the name (apk-tools installif8)", () => {
    const r = repo(`
      P:foo
      V:1
      i:bar=1 !baz !nonexistent

      P:bar
      V:1

      P:baz
      V:1`);
    assert.deepEqual(installs([r], ["bar"]), ["bar-1", "foo-1"]);
    assert.deepEqual(installs([r], ["bar", "baz"]), ["bar-1", "baz-1"]);
  });

  test("a triggered package whose dependency provides an already-chosen name replaces that provider (apk-tools installif10)", () => {
    const r = repo(`
      P:gnome
      V:1
      D:polkit

      P:openrc
      V:1

      P:gnome-openrc
      V:1
      i:gnome=1 openrc
      D:polkit-elogind

      P:polkit
      V:1

      P:polkit-elogind
      V:1
      p:polkit=1`);
    assert.deepEqual(installs([r], ["gnome", "openrc"]), [
      "gnome-1",
      "gnome-openrc-1",
      "openrc-1",
      "polkit-elogind-1",
    ]);
    const { notices } = solve(indexOf([r]), ["gnome", "openrc"]);
    assert.deepEqual(notices, [
      "x86_64: adding gnome-openrc-1 (install_if[gnome=1 openrc]) takes polkit-elogind-1 in place of polkit-1",
    ]);
    // A world that rules polkit-elogind out keeps polkit; the triggered package is left out, and the
    // notice says why.
    const world = ["gnome", "openrc", "!polkit-elogind"];
    assert.deepEqual(installs([r], world), ["gnome-1", "openrc-1", "polkit-1"]);
    const kept = solve(indexOf([r]), world).notices.join("\n");
    assert.match(kept, /not adding \(install_if\): gnome-openrc-1: .*polkit-elogind/);
  });
});

describe("index records", () => {
  test("repeated p:, D: and i: lines of one record add up (apk-tools appends them)", () => {
    const r = repo(`
      P:multi
      V:1-r0
      p:first=1
      p:second=1
      D:dep-a
      D:dep-b

      P:dep-a
      V:1-r0

      P:dep-b
      V:1-r0

      P:extra
      V:1-r0
      i:dep-a
      i:dep-b`);
    assert.deepEqual(installs([r], ["first", "second"]), [
      "dep-a-1-r0",
      "dep-b-1-r0",
      "extra-1-r0",
      "multi-1-r0",
    ]);
  });
});

describe("where apk-tools and apko differ (docs/resolver.md)", () => {
  test("a package providing its own name installs (apko); the provide adds nothing", () => {
    const r = repo(`
      P:self-provide
      V:0.1-r0
      p:self-provide`);
    assert.deepEqual(installs([r], ["self-provide"]), ["self-provide-0.1-r0"]);
  });

  test("a package providing one name at two versions is refused, as apk-tools does", () => {
    const r = repo(`
      P:selfconflicting
      V:1-r0
      p:selfprovided=2
      p:selfprovided=3`);
    const err = fails([r], ["selfconflicting"]);
    assert.match(err.message, /selfconflicting-1-r0: it provides selfprovided at two versions \(2 and 3\)/);
  });

  test("a package conflicting with a name it provides installs alone, and keeps other providers out", () => {
    const r = repo(`
      P:mailreadsolo
      V:1-r0
      p:mail-reader
      D:!mail-reader

      P:mailreadplus
      V:1-r0
      p:mail-reader
      k:2`);
    assert.deepEqual(installs([r], ["mailreadsolo"]), ["mailreadsolo-1-r0"]);
    const err = fails([r], ["mailreadsolo", "mailreadplus"]);
    assert.match(err.message, /mailreadsolo-1-r0: it conflicts with mailreadplus-1-r0 \[!mail-reader\]/);
    assert.match(err.message, /cannot be installed together .*: mailreadsolo, mailreadplus$/);
  });
});
