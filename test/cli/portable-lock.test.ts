import * as assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

/** apko.yaml for the fixture repository at `repo` (relative to the config). */
function writeConfig(dir: string, repo: string): void {
  writeFileSync(
    path.join(dir, "apko.yaml"),
    [
      "contents:",
      `  keyring: [ ${repo}/melange.rsa.pub ]`,
      `  repositories: [ ./${repo} ]`,
      "  packages: [ replayout ]",
      "entrypoint: { command: /bin/sh -l }",
      "archs: [ x86_64 ]",
      "",
    ].join("\n"),
  );
}

/** A project of its own: the config, the fixture repository inside it, and its key. */
function project(root: string): string {
  const dir = path.join(root, "project");
  mkdirSync(dir, { recursive: true });
  cpSync(fixture("local-repo"), path.join(dir, "packages"), { recursive: true });
  writeConfig(dir, "packages");
  return dir;
}

describe("CLI: lock --output is portable; build --lock reads it from anywhere", needsFixtures(), () => {
  test("lock in one directory, move the project, build from another cwd with the lock", async () => {
    const root = tempDir();
    const cache = path.join(root, "cache");
    const dir = project(root);
    mkdirSync(path.join(dir, "locks"));
    // The lock goes to a subdirectory, written from the project's parent: neither is the config's dir.
    const locked = await runCli(
      ["lock", "project/apko.yaml", "--output", "project/locks/apko.lock.json", "--cache-dir", cache],
      { cwd: root },
    );
    assert.equal(locked.code, 0, locked.stderr);
    const text = readFileSync(path.join(dir, "locks", "apko.lock.json"), "utf8");
    assert.doesNotMatch(text, new RegExp(root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")), "no absolute path");
    const lock = JSON.parse(text) as {
      config: { name: string };
      contents: {
        keyring: { url: string }[];
        repositories: { url: string }[];
        packages: { name: string; url: string }[];
      };
    };
    // The config from the lock's directory; everything else from the config's, as apko reads them.
    assert.equal(lock.config.name, "../apko.yaml");
    assert.deepEqual(
      lock.contents.keyring.map((k) => k.url),
      ["./packages/melange.rsa.pub"],
    );
    assert.deepEqual(
      lock.contents.repositories.map((r) => r.url),
      ["./packages/x86_64/APKINDEX.tar.gz"],
    );
    assert.ok(lock.contents.packages.length >= 2);
    for (const p of lock.contents.packages) assert.match(p.url, /^\.\/packages\/x86_64\/[^/]+\.apk$/);

    // Another checkout: the project moves, and the build runs from yet another directory.
    const moved = path.join(root, "elsewhere");
    renameSync(dir, moved);
    const elsewhere = path.join(root, "cwd");
    mkdirSync(elsewhere);
    const built = await runCli(
      [
        "build",
        path.join(moved, "apko.yaml"),
        "--lock",
        path.join(moved, "locks", "apko.lock.json"),
        "--output",
        path.join(root, "layout"),
        "--cache-dir",
        cache,
        "--source-date-epoch",
        "0",
        "--no-vcs",
        "--json",
      ],
      { cwd: elsewhere },
    );
    assert.equal(built.code, 0, built.stderr);
    assert.doesNotMatch(
      built.stderr,
      /does not list/,
      "the lock's repository is the config's, found relative to it",
    );
    const out = JSON.parse(built.stdout) as { packages: Record<string, { name: string; version: string }[]> };
    assert.deepEqual(
      out.packages.x86_64!.map((p) => p.name).sort(),
      lock.contents.packages.map((p) => p.name).sort(),
    );
  });

  test("build --lock says when the lock was made with a repository the config does not list", async () => {
    const root = tempDir();
    const cache = path.join(root, "cache");
    const dir = project(root);
    const locked = await runCli(["lock", "apko.yaml", "--output", "apko.lock.json", "--cache-dir", cache], {
      cwd: dir,
    });
    assert.equal(locked.code, 0, locked.stderr);
    // The repository moves inside the project and the config follows; the lock still names the old place.
    renameSync(path.join(dir, "packages"), path.join(dir, "repo"));
    writeConfig(dir, "repo");
    const built = await runCli(
      [
        "build",
        "apko.yaml",
        "--lock",
        "apko.lock.json",
        "--output",
        "layout",
        "--cache-dir",
        cache,
        "--no-vcs",
      ],
      { cwd: dir },
    );
    assert.equal(built.code, 0, built.stderr);
    assert.match(
      built.stderr,
      /apko\.lock\.json: the lock was made with repository "\.\/packages" \(.*\/packages\), which apko\.yaml does not list/,
    );
  });
});
