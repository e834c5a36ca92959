import * as assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { normalizeVcsUrl, probeVcs, remoteUrl } from "../../provider/image/vcs";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { tool, toolSkip } from "../helpers/tools";
import { run } from "./image-helpers";
import { buildWithApko } from "./layering-helpers";

const git = (cwd: string, ...args: string[]) =>
  run(
    "git",
    ["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", ...args],
    {
      cwd,
    },
  ).trim();

const SOURCE = "org.opencontainers.image.source";
const REVISION = "org.opencontainers.image.revision";

/** The annotations of the image index, of each manifest, and the config labels, of a layout. */
function annotationsOf(layoutDir: string): Record<string, string | undefined>[] {
  const blob = (d: string) =>
    JSON.parse(readFileSync(path.join(layoutDir, "blobs", "sha256", d.slice(7)), "utf8"));
  const top = JSON.parse(readFileSync(path.join(layoutDir, "index.json"), "utf8"));
  const entry = top.manifests.find((m: { mediaType: string }) => m.mediaType.includes("index"));
  const index = entry ? blob(entry.digest) : top;
  const out: Record<string, string | undefined>[] = [index.annotations ?? {}];
  for (const m of index.manifests) {
    const manifest = blob(m.digest);
    out.push(manifest.annotations ?? {});
    out.push(blob(manifest.config.digest).config.Labels ?? {});
  }
  return out.map((a) => ({ source: a[SOURCE], revision: a[REVISION] }));
}

describe("VCS URL normalization (as apko's pkg/vcs)", () => {
  test("credentials are removed; scp-style remotes become git+ssh URLs", () => {
    assert.equal(
      normalizeVcsUrl("https://user:token@github.com/org/repo.git"),
      "https://github.com/org/repo.git",
    );
    assert.equal(normalizeVcsUrl("git@github.com:org/repo.git"), "git+ssh://github.com/org/repo.git");
    assert.equal(normalizeVcsUrl("ssh://git@host:2222/org/repo"), "ssh://host:2222/org/repo");
    assert.equal(normalizeVcsUrl("/srv/git/repo.git"), "/srv/git/repo.git");
  });

  test("the origin remote's first url is read from a git config", () => {
    const config =
      '[core]\n\tbare = false\n[remote "upstream"]\n\turl = https://a/x\n[remote "origin"]\n\turl = https://b/y\n\turl = https://c/z\n';
    assert.equal(remoteUrl(config), "https://b/y");
    assert.equal(remoteUrl('[remote "upstream"]\n\turl = https://a/x\n'), undefined);
  });
});

describe("build probes the config's git checkout", needsFixtures(), () => {
  const dir = tempDir();
  const repo = path.join(dir, "checkout");
  const sub = path.join(repo, "images");
  let commit = "";
  before(() => {
    mkdirSync(sub, { recursive: true });
    const local = fixture("local-repo");
    writeFileSync(
      path.join(sub, "apko.yaml"),
      `contents:\n  keyring: [${local}/melange.rsa.pub]\n  repositories: [${local}]\n  packages: [replayout]\narchs: [x86_64]\n`,
    );
    git(repo, "init", "-q");
    git(repo, "remote", "add", "origin", "https://builder:s3cret@git.example.com/team/images.git");
    git(repo, "add", ".");
    git(repo, "commit", "-qm", "images");
    commit = git(repo, "rev-parse", "HEAD");
  });

  const build = (out: string, cwd: string, ...extra: string[]) =>
    runCli(
      [
        "build",
        path.join(sub, "apko.yaml"),
        "--output",
        out,
        "--cache-dir",
        path.join(dir, "cache"),
        "--source-date-epoch",
        "0",
        "--json",
        ...extra,
      ],
      { cwd },
    );

  test("source (without credentials) and revision on the index", async () => {
    const res = await build(path.join(dir, "with"), repo);
    assert.equal(res.code, 0, res.stderr);
    const expected = { source: "https://git.example.com/team/images.git", revision: commit };
    const none = { source: undefined, revision: undefined };
    // Where apko v1.2.37 puts them: on the index; its per-arch manifests and configs drop vcs-url.
    assert.deepEqual(annotationsOf(path.join(dir, "with")), [expected, none, none]);
    assert.ok(!readFileSync(path.join(dir, "with", "index.json"), "utf8").includes("s3cret"));
    // Reproducible: the same checkout at the same commit gives the same image.
    const again = await build(path.join(dir, "again"), repo);
    assert.equal(JSON.parse(again.stdout).indexDigest, JSON.parse(res.stdout).indexDigest);
  });

  test("--vcs=false, or a config outside the working directory, records nothing", async () => {
    const off = await build(path.join(dir, "off"), repo, "--vcs=false");
    assert.equal(off.code, 0, off.stderr);
    for (const a of annotationsOf(path.join(dir, "off")))
      assert.deepEqual(a, { source: undefined, revision: undefined });
    // apko searches from the config's directory up to the working directory, no further.
    assert.equal(await probeVcs(path.join(sub, "apko.yaml"), sub), undefined);
    assert.deepEqual(await probeVcs(path.join(sub, "apko.yaml"), dir), {
      url: "https://git.example.com/team/images.git",
      commit,
    });
    assert.equal(await probeVcs(path.join(sub, "apko.yaml"), path.join(dir, "elsewhere")), undefined);
  });

  test("a branch found only in packed-refs, and a linked worktree, resolve to their commits", async () => {
    git(repo, "pack-refs", "--all");
    assert.equal((await probeVcs(sub, repo))?.commit, commit);
    const worktree = path.join(dir, "wt");
    git(repo, "worktree", "add", "-q", "--detach", worktree, "HEAD");
    assert.deepEqual(await probeVcs(worktree, dir), {
      url: "https://git.example.com/team/images.git",
      commit,
    });
  });

  test("the same annotations apko build puts there", toolSkip("apko"), async () => {
    const out = path.join(dir, "apko");
    // apko probes up to its working directory: run it in the checkout, as our build above.
    const res = await build(path.join(dir, "ours"), repo);
    assert.equal(res.code, 0, res.stderr);
    buildWithApko(tool("apko")!, path.join(sub, "apko.yaml"), out, "x86_64", { cwd: repo, vcs: true });
    const theirs = annotationsOf(out);
    const ours = annotationsOf(path.join(dir, "ours"));
    assert.deepEqual(ours, theirs);
  });
});
