// biome-ignore-all lint/suspicious/noTemplateCurlyInString: melange substitutions are written ${{name}} in plain strings
import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { generateSigningKey, writeKeyPair } from "../../provider/apk/keys";
import { buildPackage } from "../../provider/build/build";
import { sha256Hex } from "../../provider/util/hash";
import {
  apkFiles,
  type BusyboxRepo,
  hostBusyboxAvailable,
  makeBusyboxRepo,
  toolAvailable,
} from "../build/build-helpers";
import { needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

const canRun = toolAvailable("bwrap") && hostBusyboxAvailable();

/** A recipe whose one step packages every file the workspace holds, and greps it for private keys. */
const PACKAGE_EVERYTHING = `package:
  name: grabber
  version: 1
  epoch: 0
environment:
  contents:
    packages:
      - busybox
pipeline:
  - runs: |
      grep -rl -e "-----BEGIN [A-Z ]*PRIVATE KEY-----" . > /tmp/private-keys-seen || true
      find . -type f ! -path './melange-out/*' | while read -r f; do
        mkdir -p "\${{targets.destdir}}/src/$(dirname "$f")"
        cp "$f" "\${{targets.destdir}}/src/$f"
      done
      cp /tmp/private-keys-seen "\${{targets.destdir}}/src/private-keys-seen"
`;

/**
 * A hostile (or careless) recipe cannot package the signing key, or any other private key lying in
 * its source directory, and cannot write into the cache other builds share.
 */
describe(
  "the build sandbox keeps secrets and the shared cache out of reach",
  canRun ? needsFixtures() : { skip: "needs bwrap and /bin/busybox" },
  () => {
    const dir = tempDir("pd-keyleak-");
    let bb: BusyboxRepo;

    before(async () => {
      bb = await makeBusyboxRepo(dir);
    });

    test("the signing key beside the recipe, its copies and other private keys are not copied in", async () => {
      const src = path.join(dir, "recipe");
      mkdirSync(path.join(src, "tls"), { recursive: true });
      const signing = await writeKeyPair(src, "melange.rsa", await generateSigningKey(2048));
      const signingPem = readFileSync(signing.privateKeyFile, "utf8");
      // A copy of the signing key under a name that says nothing, another key, and a test key the
      // package's tests need (taken back in .melangeignore, as the notice says).
      writeFileSync(path.join(src, "backup.txt"), `notes\n${signingPem}`);
      const other = await generateSigningKey(2048);
      writeFileSync(path.join(src, "deploy.key"), other.privateKeyPem);
      writeFileSync(path.join(src, "old-release.rsa"), "not even PEM, but named like a private key\n");
      writeFileSync(path.join(src, "tls", "test.key"), other.privateKeyPem);
      writeFileSync(path.join(src, ".melangeignore"), "!tls/test.key\n!melange.rsa\n");
      writeFileSync(path.join(src, "main.c"), "int main(void) { return 0; }\n");
      const recipeFile = path.join(src, "melange.yaml");
      writeFileSync(recipeFile, PACKAGE_EVERYTHING);

      const warnings: string[] = [];
      const built = await buildPackage({
        recipeFile,
        arch: "x86_64",
        runner: "bubblewrap",
        outDir: path.join(dir, "out-keys"),
        signingKey: signing.privateKeyFile,
        repositories: [bb.repo],
        keyring: [bb.publicKey],
        cacheDir: path.join(dir, "cache"),
        progress: { info: () => {}, warn: (m) => warnings.push(m) },
      });
      const files = await apkFiles(built.packages[0]!.file);
      const packaged = [...files]
        .filter(([p, f]) => p.startsWith("src/") && f.type === "file")
        .map(([p]) => p)
        .sort();
      assert.deepEqual(packaged, [
        "src/.melangeignore",
        "src/main.c",
        "src/melange.rsa.pub",
        "src/melange.yaml",
        "src/private-keys-seen",
        "src/tls/test.key",
      ]);
      assert.equal(files.get("src/private-keys-seen")?.content?.toString().trim(), "./tls/test.key");
      for (const [p, f] of files) {
        assert.ok(
          !f.content?.toString("latin1").includes(signingPem.split("\n")[1]!),
          `${p} holds the signing key`,
        );
      }
      const notice = warnings.join("\n");
      assert.match(notice, /not copied into the build workspace/);
      assert.match(notice, /melange\.rsa \(signing key\)/);
      assert.match(notice, /backup\.txt \(signing key\)/);
      assert.match(notice, /deploy\.key \(PEM private key\)/);
      assert.match(notice, /old-release\.rsa \(private key \(\*\.rsa\)\)/);
      assert.doesNotMatch(notice, /tls\/test\.key/);
    });

    test("steps cannot write into the shared cache; verified downloads still reach it", async () => {
      const src = path.join(dir, "cache-src");
      mkdirSync(path.join(src, "dist"), { recursive: true });
      const tarball = readFileSync(bb.busyboxApk); // any bytes will do: fetch only checks the sha256
      writeFileSync(path.join(src, "dist", "payload.bin"), tarball);
      const good = sha256Hex(tarball);
      const fake = "f".repeat(64);
      const cacheDir = path.join(dir, "cache-shared");
      const shared = path.join(cacheDir, "melange-cache");
      const build = (name: string, steps: string) => {
        const file = path.join(dir, `${name}.yaml`);
        writeFileSync(
          file,
          `package:\n  name: ${name}\n  version: 1\n  epoch: 0\nenvironment:\n  contents:\n    packages:\n      - busybox\npipeline:\n${steps}`,
        );
        return buildPackage({
          recipeFile: file,
          sourceDir: src,
          arch: "x86_64",
          runner: "bubblewrap",
          outDir: path.join(dir, `out-${name}`),
          repositories: [bb.repo],
          keyring: [bb.publicKey],
          cacheDir,
        });
      };
      const fetch = `  - uses: fetch\n    with:\n      uri: file:///home/build/dist/payload.bin\n      expected-sha256: ${good}\n      extract: false\n`;

      await build("fetcher", fetch);
      assert.equal(sha256Hex(readFileSync(path.join(shared, `sha256:${good}`))), good, "harvested");

      const poisoner = await build(
        "poisoner",
        `${fetch}  - runs: |
      mkdir -p \${{targets.destdir}}/usr/share
      if echo poison > /var/cache/melange/sha256:${good}; then echo wrote > \${{targets.destdir}}/usr/share/seeded; fi
      echo poison > /var/cache/melange/sha256:${fake}
      mkdir -p /var/cache/melange/gomodcache/example.com/m@v1
      echo poison > /var/cache/melange/gomodcache/example.com/m@v1/go.mod
      ls /var/cache/melange > \${{targets.destdir}}/usr/share/cache-listing
`,
      );
      const files = await apkFiles(poisoner.packages[0]!.file);
      assert.equal(files.has("usr/share/seeded"), false, "the shared download was writable");
      assert.match(files.get("usr/share/cache-listing")?.content?.toString() ?? "", /gomodcache/);
      assert.equal(sha256Hex(readFileSync(path.join(shared, `sha256:${good}`))), good);
      assert.equal(existsSync(path.join(shared, `sha256:${fake}`)), false);
      assert.equal(existsSync(path.join(shared, "gomodcache")), false);
      assert.deepEqual(readdirSync(shared), [`sha256:${good}`]);
    });
  },
);
