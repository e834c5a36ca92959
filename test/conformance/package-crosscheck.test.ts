/**
 * Cross-checks between our packages and melange's (issue #16): our image builder installs the
 * apks melange built from melange's own signed index (`melange index` + `melange sign-index`);
 * `apko build` installs the apks we built from our signed repository; and `melange index` and our
 * index writer agree on the APKINDEX records of the same apks, field by field.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { readIndexArchive } from "../../provider/apk/index-archive";
import { publishPackages } from "../../provider/repository/publish";
import { hostBusyboxAvailable, imageBundle, runcRun, toolAvailable } from "../build/build-helpers";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { needsTool, tool, toolSkip } from "../helpers/tools";
import { type MelangeEnv, makeMelangeEnv, melangeBuild, ourBuild, runTool } from "./melange-env";

const GREETER = fixture("configs/melange/e2e/greeter-build-test.yaml");
const GREETERS = ["greeter-english", "greeter-hawaiian", "greeter-latvian"];

function sandboxSkip(): { skip?: string } {
  if (!toolAvailable("bwrap") || !hostBusyboxAvailable())
    return { skip: "needs bwrap and Debian's busybox-static (/bin/busybox)" };
  return toolSkip("melange");
}

/** APKINDEX records by package name: each field letter -> its line values, in record order. */
async function indexRecords(file: string): Promise<Map<string, Map<string, string[]>>> {
  const archive = await readIndexArchive(readFileSync(file), { allowUntrusted: true, keepText: true });
  const out = new Map<string, Map<string, string[]>>();
  for (const block of archive.text!.split("\n\n")) {
    const fields = new Map<string, string[]>();
    for (const line of block.split("\n").filter(Boolean)) {
      const key = line.slice(0, 1);
      fields.set(key, [...(fields.get(key) ?? []), line.slice(2)]);
    }
    const name = fields.get("P")?.[0];
    if (name) out.set(name, fields);
  }
  return out;
}

describe("packages: cross-checks with melange and apko", { ...needsFixtures(), ...sandboxSkip() }, () => {
  const dir = tempDir("pd-conf-cross-");
  let env: MelangeEnv;
  const theirs = path.join(dir, "melange-out");
  const ours = path.join(dir, "ours-out");

  before(async () => {
    env = await makeMelangeEnv(path.join(dir, "env"));
    const empty = path.join(dir, "empty");
    mkdirSync(empty);
    await melangeBuild(tool("melange")!, env, { recipe: GREETER, sourceDir: empty, outDir: theirs });
    await ourBuild(env, { recipe: GREETER, sourceDir: empty, outDir: ours });
  });

  test("our image builder installs melange's apks from melange's signed index", async (t) => {
    const melange = needsTool(t, "melange");
    if (!melange) return;
    if (!toolAvailable("umoci", ["--version"])) {
      t.skip("umoci is not installed (it unpacks the image)");
      return;
    }
    // melange's repository: its apks and the environment's busybox, indexed and signed by melange.
    const arch = path.join(theirs, "x86_64");
    copyFileSync(
      path.join(env.repo, "x86_64", "busybox-1.35.0-r0.apk"),
      path.join(arch, "busybox-1.35.0-r0.apk"),
    );
    const apks = readdirSync(arch)
      .filter((f) => f.endsWith(".apk"))
      .sort();
    const index = path.join(arch, "APKINDEX.tar.gz");
    await runTool(melange, [
      "index",
      "--arch",
      "x86_64",
      "-o",
      index,
      ...apks.map((f) => path.join(arch, f)),
    ]);
    await runTool(melange, ["sign-index", "--signing-key", env.privateKey, index]);
    copyFileSync(env.publicKey, path.join(theirs, path.basename(env.publicKey)));

    const bundle = await imageBundle({
      repo: theirs,
      publicKey: env.publicKey,
      packages: GREETERS,
      dir: path.join(dir, "image-of-melange-apks"),
      cacheDir: path.join(dir, "image-cache"),
    });
    const rootfs = path.join(bundle, "rootfs");
    assert.ok(existsSync(path.join(rootfs, "usr/bin/greeter")), "greeter installed");
    const installed = readFileSync(path.join(rootfs, "lib/apk/db/installed"), "utf8");
    for (const name of ["greeter", ...GREETERS, "busybox"])
      assert.match(installed, new RegExp(`^P:${name}$`, "m"));
    if (toolAvailable("runc")) {
      const res = runcRun(bundle, ["/usr/bin/aloha", "bob"]);
      assert.equal(res.stdout, "aloha, bob\n", res.stderr);
    }
  });

  test("melange index and our index writer agree on the APKINDEX records, field by field", async (t) => {
    const melange = needsTool(t, "melange");
    if (!melange) return;
    // The same apks (ours and melange's, renamed apart) indexed by both.
    const both = path.join(dir, "both");
    mkdirSync(both);
    const files: string[] = [];
    for (const [from, tag] of [
      [ours, "ours"],
      [theirs, "melange"],
    ] as const) {
      for (const f of readdirSync(path.join(from, "x86_64")).filter((n) => n.startsWith("greeter"))) {
        const to = path.join(both, `${tag}-${f}`);
        copyFileSync(path.join(from, "x86_64", f), to);
        files.push(to);
      }
    }
    const melangeIndex = path.join(dir, "melange-APKINDEX.tar.gz");
    await runTool(melange, [
      "index",
      "--arch",
      "x86_64",
      "-o",
      melangeIndex,
      ...files.filter((f) => f.includes("/ours-")),
    ]);
    const melangeIndex2 = path.join(dir, "melange-APKINDEX-2.tar.gz");
    await runTool(melange, [
      "index",
      "--arch",
      "x86_64",
      "-o",
      melangeIndex2,
      ...files.filter((f) => f.includes("/melange-")),
    ]);
    const repoA = path.join(dir, "our-index-of-ours");
    const repoB = path.join(dir, "our-index-of-melange");
    await publishPackages({
      root: repoA,
      packages: files.filter((f) => f.includes("/ours-")),
      signingKey: env.privateKey,
    });
    await publishPackages({
      root: repoB,
      packages: files.filter((f) => f.includes("/melange-")),
      signingKey: env.privateKey,
    });

    const differences: string[] = [];
    for (const [theirIndex, ourRepo] of [
      [melangeIndex, repoA],
      [melangeIndex2, repoB],
    ] as const) {
      const a = await indexRecords(path.join(ourRepo, "x86_64", "APKINDEX.tar.gz"));
      const b = await indexRecords(theirIndex);
      assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), "the same packages");
      for (const [name, ra] of a) {
        const rb = b.get(name)!;
        for (const key of [...new Set([...ra.keys(), ...rb.keys()])].sort()) {
          const va = (ra.get(key) ?? []).join(" ");
          const vb = (rb.get(key) ?? []).join(" ");
          if (va !== vb) differences.push(`${name} ${key}: ours "${va}", melange "${vb}"`);
        }
      }
    }
    assert.deepEqual(differences, []);
  });

  test("apko build installs the apks we built, from our signed repository", async (t) => {
    const apko = needsTool(t, "apko");
    if (!apko) return;
    const repo = path.join(dir, "our-repo");
    await publishPackages({
      root: repo,
      packages: [
        path.join(env.repo, "x86_64", "busybox-1.35.0-r0.apk"),
        ...readdirSync(path.join(ours, "x86_64")).map((f) => path.join(ours, "x86_64", f)),
      ],
      signingKey: env.privateKey,
    });
    const config = path.join(dir, "apko.yaml");
    writeFileSync(
      config,
      `contents:\n  repositories:\n    - ${repo}\n  keyring:\n    - ${env.publicKey}\n  packages:\n${GREETERS.map((g) => `    - ${g}\n`).join("")}entrypoint:\n  command: /usr/bin/greeter\narchs:\n  - x86_64\n`,
    );
    const image = path.join(dir, "apko-image.tar");
    await runTool(
      apko,
      ["build", config, "conformance/greeter:latest", image, "--arch", "x86_64", "--sbom=false"],
      {
        SOURCE_DATE_EPOCH: "1700000000",
      },
    );
    // The single layer of apko's image holds our files and the installed database lists our packages.
    const list = spawnSync("tar", ["-tf", image], { encoding: "utf8" });
    const layer = list.stdout.split("\n").find((n) => n.endsWith(".tar.gz"));
    assert.ok(layer, `a layer in ${list.stdout}`);
    const unpacked = path.join(dir, "apko-layer");
    mkdirSync(unpacked);
    assert.equal(spawnSync("tar", ["-xf", image, "-C", unpacked, layer!]).status, 0);
    const files = spawnSync("tar", ["-tzf", path.join(unpacked, layer!)], { encoding: "utf8" }).stdout;
    assert.match(files, /^usr\/bin\/greeter$/m);
    assert.match(files, /^usr\/bin\/sveiki$/m);
    // apko keeps the installed database at usr/lib/apk/db (lib/apk is a link to it) in newer releases.
    const dbPath = /^((?:usr\/)?lib\/apk\/db\/installed)$/m.exec(files)?.[1];
    assert.ok(dbPath, "an installed database in apko's layer");
    const db = spawnSync("tar", ["-xzOf", path.join(unpacked, layer!), dbPath!], { encoding: "utf8" });
    for (const name of ["greeter", ...GREETERS]) assert.match(db.stdout, new RegExp(`^P:${name}$`, "m"));
  });
});
