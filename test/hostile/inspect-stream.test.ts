import * as assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { describe, test } from "node:test";
import { writeApk } from "../../provider/apk/apk-writer";
import { hashFile } from "../../provider/util/hash";
import { runCli, runProcess } from "../helpers/cli";
import { projectRoot } from "../helpers/fixtures";
import { pkginfoText, rawApk } from "../helpers/hostile-apk";
import { tempDir } from "../helpers/tmp";
import { pkgInfo } from "../image/image-helpers";

/**
 * Issue #9 items 9 and 12: `inspect` streams file bodies (a large file costs no memory) and escapes
 * names and link targets so a package cannot put terminal control sequences on the user's screen.
 */

/** Runs `inspect` in a child process; returns its output and its peak resident memory in bytes. */
async function inspectWithPeakRss(file: string): Promise<{ code: number; stdout: string; peakRss: number }> {
  const main = path.join(projectRoot, "dist", "provider", "cli", "main.js");
  // resourceUsage().maxRSS is the child's own high-water mark (KiB), whatever the machine is doing.
  const script = `require(${JSON.stringify(main)}).main(["inspect", ${JSON.stringify(file)}, "--json"]).then((c) => {
    process.exitCode = c;
    process.stderr.write("MAXRSS " + process.resourceUsage().maxRSS + "\\n");
  });`;
  const r = await runProcess(process.execPath, ["-e", script]);
  const m = /MAXRSS (\d+)/.exec(r.stderr);
  if (!m) throw new Error(`no MAXRSS from the child: ${r.stderr}`);
  return { code: r.code, stdout: r.stdout, peakRss: Number(m[1]) * 1024 };
}

describe("inspect", () => {
  test("a 256 MiB file of zeros in a small apk is hashed as it streams, not held", async () => {
    const dir = tempDir();
    const zeros = path.join(dir, "zeros");
    const size = 256 << 20;
    await fsp.writeFile(zeros, "");
    await fsp.truncate(zeros, size); // sparse: costs no disk
    const apk = path.join(dir, "bomb-1.0-r0.apk");
    const written = await writeApk({
      pkginfo: pkgInfo("bomb", "1.0-r0", "x86_64"),
      entries: [{ path: "zeros", type: "file", mode: 0o644, uid: 0, gid: 0, content: { file: zeros, size } }],
      output: apk,
      level: 1,
    });
    assert.ok(written.size < 8 << 20, `the apk is small (${written.size} bytes)`);
    const { code, stdout, peakRss } = await inspectWithPeakRss(apk);
    assert.equal(code, 0);
    const out = JSON.parse(stdout) as { files: { path: string; size: number; sha1: string }[] };
    assert.deepEqual(out.files, [
      { path: "zeros", type: "file", mode: "0644", size, sha1: (await hashFile(zeros, "sha1")).hex },
    ]);
    // Holding the body would need at least its 256 MiB (twice that to concatenate it); streaming
    // needs a few chunks on top of node itself (about 60 MiB).
    assert.ok(peakRss < 160 << 20, `peak RSS ${Math.round(peakRss / 2 ** 20)} MiB`);
    console.log(`inspect peak RSS: ${Math.round(peakRss / 2 ** 20)} MiB`);
  });

  test("names and link targets are printed with control characters escaped", async () => {
    const dir = tempDir();
    const apk = path.join(dir, "x86_64", "ansi-1.0-r0.apk");
    mkdirSync(path.dirname(apk), { recursive: true });
    writeFileSync(
      apk,
      rawApk(pkginfoText("ansi"), [
        { name: "usr/share/\u009b31mred", body: "x" },
        { name: "usr/share/title", type: "symlink", link: "\u001b]0;pwned\u0007" },
      ]),
    );
    const r = await runCli(["inspect", apk]);
    assert.equal(r.code, 0, r.stderr);
    const raw = [...r.stdout].filter((ch) => {
      const c = ch.codePointAt(0)!;
      return (c < 0x20 && ch !== "\n") || (c >= 0x7f && c < 0xa0);
    });
    assert.deepEqual(raw, [], `no raw control characters: ${JSON.stringify(r.stdout)}`);
    assert.ok(r.stdout.includes("usr/share/\\x9b31mred"), r.stdout);
    assert.ok(r.stdout.includes("usr/share/title -> \\x1b]0;pwned\\x07"), r.stdout);
  });
});
