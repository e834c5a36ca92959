import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures, projectRoot } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

describe("the CLI as a command", () => {
  test("--version prints the package's version; no command is a usage error on stderr", async () => {
    const { version } = JSON.parse(readFileSync(path.join(projectRoot, "package.json"), "utf8")) as {
      version: string;
    };
    for (const flag of ["--version", "-V", "version"]) {
      const r = await runCli([flag]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `pulumi-distroless ${version}\n`);
    }
    const none = await runCli([]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, "");
    assert.match(none.stderr, /^usage: pulumi-distroless <command> \[options\]\n/);
    const help = await runCli(["help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: pulumi-distroless <command>/);
  });

  test("file system errors name the path and what is wrong, never a stack; --json errors are JSON", async () => {
    const dir = tempDir();
    const r = await runCli(["inspect", dir]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    assert.match(r.stderr, new RegExp(`^pulumi-distroless inspect: ${dir}: is a directory, not a file\\n$`));
    const j = await runCli(["lock", path.join(dir, "missing.yaml"), "--json"]);
    assert.equal(j.code, 1);
    const parsed = JSON.parse(j.stdout) as { error: { code: string; message: string } };
    assert.match(parsed.error.message, /missing\.yaml/);
    assert.ok(parsed.error.code.startsWith("E_"), parsed.error.code);
  });

  test("a reader that goes away (`inspect … | head -1`) ends the command quietly", needsFixtures(), () => {
    const bin = path.join(projectRoot, "dist", "provider", "cli", "launch.js");
    const index = fixture("alpine-v3.16-main-aarch64", "APKINDEX.tar.gz");
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${bin}" inspect "${index}" | head -1`], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0);
    assert.equal(r.stdout.split("\n").length, 2, "one line read");
    assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  });
});
