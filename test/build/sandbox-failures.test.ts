// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import { newHeader } from "../../provider/archive/tar-header";
import { buildTar } from "../../provider/archive/tar-writer";
import { buildPackage } from "../../provider/build/build";
import { isDistrolessError } from "../../provider/util/errors";
import { sha256Hex } from "../../provider/util/hash";
import { needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import {
  apkFiles,
  type BusyboxRepo,
  hostBusyboxAvailable,
  makeBusyboxRepo,
  toolAvailable,
} from "./build-helpers";

const canRun = toolAvailable("bwrap") && hostBusyboxAvailable();

function recipe(body: string, extra = ""): string {
  return `package:
  name: broken
  version: 1
  epoch: 0
${extra}environment:
  contents:
    packages:
      - busybox
pipeline:
${body}`;
}

describe("broken and hostile recipes are refused before anything runs", () => {
  const dir = tempDir();
  const write = (name: string, text: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  // A bubblewrap build whose environment cannot even be resolved: if the recipe error did not stop
  // the build first, the error would be about the missing repository instead.
  const attempt = (file: string) =>
    buildPackage({
      recipeFile: file,
      sourceDir: path.join(dir, "src"),
      arch: "x86_64",
      runner: "bubblewrap",
      outDir: path.join(dir, "out"),
      repositories: [path.join(dir, "no-such-repository")],
      cacheDir: path.join(dir, "cache"),
    });

  test("`uses: ../../x`", async () => {
    const file = write("escape.yaml", recipe("  - uses: ../../x\n"));
    await assert.rejects(attempt(file), (err: unknown) => {
      assert.ok(isDistrolessError(err), String(err));
      assert.ok(["E_CONFIG", "E_HOSTILE"].includes(err.code), err.code);
      assert.match(err.message, /\.\.\/\.\.\/x/);
      assert.match(err.message, /escape\.yaml/);
      return true;
    });
    assert.ok(!existsSync(path.join(dir, "out")));
  });

  test("an unknown substitution", async () => {
    const file = write("subst.yaml", recipe("  - runs: echo ${{vars.nope}}\n"));
    await assert.rejects(attempt(file), (err: unknown) => {
      assert.ok(isDistrolessError(err), String(err));
      assert.equal(err.code, "E_CONFIG");
      assert.match(err.message, /vars\.nope/);
      assert.match(err.message, /pipeline\[0\]/);
      return true;
    });
  });
});

describe(
  "failing steps in the sandbox",
  canRun ? needsFixtures() : { skip: "needs bwrap and /bin/busybox" },
  () => {
    const dir = tempDir();
    let bb: BusyboxRepo;
    const tarball = gzipSync(
      buildTar(
        [
          { header: newHeader({ name: "src-1/", type: "directory" }) },
          {
            header: newHeader({ name: "src-1/hello.txt", type: "file", size: 6 }),
            data: Buffer.from("hello\n"),
          },
        ],
        { endOfArchive: true },
      ),
    );

    before(async () => {
      bb = await makeBusyboxRepo(dir);
      mkdirSync(path.join(dir, "src", "dist"), { recursive: true });
      writeFileSync(path.join(dir, "src", "dist", "src-1.tar.gz"), tarball);
    });

    const run = (name: string, text: string, options: { keepWorkspace?: boolean; lines?: string[] } = {}) => {
      const file = path.join(dir, `${name}.yaml`);
      writeFileSync(file, text);
      return buildPackage({
        recipeFile: file,
        sourceDir: path.join(dir, "src"),
        arch: "x86_64",
        runner: "bubblewrap",
        outDir: path.join(dir, `out-${name}`),
        repositories: [bb.repo],
        keyring: [bb.publicKey],
        cacheDir: path.join(dir, "cache"),
        ...(options.keepWorkspace ? { keepWorkspace: true } : {}),
        progress: { info: () => {}, warn: (m) => options.lines?.push(m) },
      });
    };

    // The fetch is from a file:// URI inside the workspace: Debian's busybox-static 1.35 (the only
    // busybox here) crashes in `wget -T`, which the fetch pipeline uses for http(s) downloads.
    test("fetch verifies the checksum; a mismatch fails the build and the download is not kept", async () => {
      const good = sha256Hex(tarball);
      const uri = "file:///home/build/dist/src-1.tar.gz";
      const ok = await run(
        "fetch-ok",
        recipe(
          `  - uses: fetch\n    with:\n      uri: ${uri}\n      expected-sha256: ${good}\n  - runs: |\n      mkdir -p \${{targets.destdir}}/usr/share\n      cp hello.txt \${{targets.destdir}}/usr/share/\n`,
        ),
      );
      const files = await apkFiles(ok.packages[0]!.file);
      assert.equal(files.get("usr/share/hello.txt")?.content?.toString(), "hello\n");
      // The verified download went into the fetch cache (/var/cache/melange) under its checksum.
      assert.ok(existsSync(path.join(dir, "cache", "melange-cache", `sha256:${good}`)));

      const lines: string[] = [];
      const wrong = "0".repeat(64);
      await assert.rejects(
        run(
          "fetch-bad",
          recipe(`  - uses: fetch\n    with:\n      uri: ${uri}\n      expected-sha256: ${wrong}\n`),
          {
            keepWorkspace: true,
            lines,
          },
        ),
        (err: unknown) => {
          assert.ok(isDistrolessError(err, "E_BUILD"), String(err));
          assert.match(err.message, /step "broken: fetch/);
          assert.match(
            err.message,
            new RegExp(`sha256 of ${uri.replace(/[.:/]/g, "\\$&")} is ${good}, expected ${wrong}`),
          );
          assert.match(err.message, /the download was deleted/);
          return true;
        },
      );
      const kept = /workspace kept at (\S+)/.exec(lines.join("\n"))?.[1];
      assert.ok(kept && existsSync(kept), lines.join("\n"));
      assert.deepEqual(readdirSync(kept).sort(), ["dist", "melange-out"]);
      assert.ok(!existsSync(path.join(kept, "src-1.tar.gz")), "the mismatching download is gone");
      assert.deepEqual(
        readdirSync(path.join(dir, "cache", "melange-cache")).filter((n) => n.includes(wrong)),
        [],
      );
      assert.ok(!existsSync(path.join(dir, "out-fetch-bad")));
      rmSync(path.dirname(kept), { recursive: true, force: true });
    });

    test("a step that needs a tool the environment lacks names the tool and the step", async () => {
      await assert.rejects(
        run(
          "no-jq",
          recipe(
            "  - name: parse the manifest\n    runs: |\n      echo about to parse\n      jq . manifest.json\n",
          ),
        ),
        (err: unknown) => {
          assert.ok(isDistrolessError(err, "E_BUILD"), String(err));
          assert.match(
            err.message,
            /step "broken: parse the manifest \(.*no-jq\.yaml:\d+:\d+ pipeline\[0\]\)" failed with exit code 127/,
          );
          assert.match(err.message, /needs `jq`, which the build environment does not have/);
          assert.match(err.message, /about to parse/);
          return true;
        },
      );
    });

    test("a failing step shows the tail of its output; later steps do not run", async () => {
      await assert.rejects(
        run(
          "fails",
          recipe(
            "  - name: compile\n    runs: |\n      for i in $(seq 1 100); do echo line $i; done\n      echo 'error: boom' >&2\n      exit 3\n  - name: never\n    runs: touch /home/build/never\n",
          ),
        ),
        (err: unknown) => {
          assert.ok(isDistrolessError(err, "E_BUILD"), String(err));
          assert.match(
            err.message,
            /step "broken: compile .*" failed with exit code 3 \[bubblewrap runner\]/,
          );
          assert.match(err.message, /line 100\nerror: boom/);
          assert.doesNotMatch(err.message, /line 40\n/); // the tail, not everything
          return true;
        },
      );
    });

    test("package.timeout kills a step that runs too long", async () => {
      await assert.rejects(
        run("slow", recipe("  - name: hang\n    runs: sleep 60\n", "  timeout: 1s\n")),
        (err: unknown) => {
          assert.ok(isDistrolessError(err, "E_BUILD"), String(err));
          assert.match(err.message, /timed out after 1 s/);
          return true;
        },
      );
    });

    test("an environment without a shell is refused before any step", async () => {
      const text = "package:\n  name: noshell\n  version: 1\n  epoch: 0\npipeline:\n  - runs: echo hi\n";
      await assert.rejects(run("noshell", text), /has no \/bin\/sh/);
    });
  },
);
