import * as assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readIndexArchive } from "../../provider/apk/index-archive";
import { generateSigningKey, Keyring, writeKeyPair } from "../../provider/apk/keys";
import {
  ALL_ARCHS,
  archSupport,
  BINFMT_DIR,
  chooseArchs,
  recipeTargets,
} from "../../provider/build/target-archs";
import { hostArch } from "../../provider/image/config/arch";
import { isDistrolessError } from "../../provider/util/errors";
import { runCli } from "../helpers/cli";
import { tempDir } from "../helpers/tmp";

const foreign = hostArch() === "x86_64" ? "aarch64" : "x86_64";

const recipe = (name: string, targets = "") => `package:
  name: ${name}
  version: 1.0.0
  epoch: 0
  copyright:
    - license: MIT
${targets}pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/share/${name}
      echo ${name} > \${{targets.destdir}}/usr/share/${name}/file
subpackages:
  - name: ${name}-doc
    pipeline:
      - runs: mkdir -p \${{targets.subpkgdir}}/usr/share/doc
`;

function packageArgs(dir: string, file: string, extra: string[]): string[] {
  return [
    "package",
    file,
    "--runner",
    "host",
    "--out",
    path.join(dir, "out"),
    "--source-dir",
    path.join(dir, "src"),
    "--cache-dir",
    path.join(dir, "cache"),
    "--json",
    ...extra,
  ];
}

describe("target architectures", () => {
  test("the host's arch is native; the host runner refuses any other, saying why", () => {
    assert.deepEqual(archSupport(hostArch(), "host"), { runnable: true, how: "native" });
    const other = archSupport(foreign, "host");
    assert.equal(other.runnable, false);
    assert.match(!other.runnable ? other.reason : "", /host runner runs this machine's .* tools/);
    assert.deepEqual(recipeTargets(undefined), [...ALL_ARCHS]);
    assert.deepEqual(recipeTargets(["all"]), [...ALL_ARCHS]);
    assert.deepEqual(recipeTargets(["arm64", "amd64"]), ["x86_64", "aarch64"]);
  });

  test("a sandbox can build a foreign arch only through an enabled qemu handler with the F flag", () => {
    // On this machine: whatever the kernel says (binfmt_misc may not even be mounted in a container).
    const real = archSupport(foreign, "bubblewrap");
    if (!existsSync(path.join(BINFMT_DIR, "status"))) {
      assert.equal(real.runnable, false);
      assert.match(!real.runnable ? real.reason : "", /binfmt_misc is not mounted .* qemu-user-static/);
    }
    // The kernel's handler file format, as /proc/sys/fs/binfmt_misc/<name> shows it.
    const dir = tempDir();
    writeFileSync(path.join(dir, "status"), "enabled\n");
    const handler = (name: string, state: string, flags: string) =>
      writeFileSync(
        path.join(dir, name),
        `${state}\ninterpreter /usr/libexec/qemu-binfmt/${name}\nflags: ${flags}\noffset 0\nmagic 7f454c46\n`,
      );
    handler("qemu-aarch64", "enabled", "POCF");
    handler("qemu-riscv64", "enabled", "OC");
    handler("qemu-s390x", "disabled", "F");
    const at = (arch: "aarch64" | "riscv64" | "s390x" | "ppc64le") =>
      hostArch() === arch ? undefined : archSupport(arch, "bubblewrap", dir);
    const aarch64 = at("aarch64");
    if (aarch64) assert.deepEqual(aarch64, { runnable: true, how: "emulated" });
    assert.match(JSON.stringify(at("riscv64")), /lacks the F \(fix-binary\) flag/);
    assert.match(JSON.stringify(at("s390x")), /registered but disabled/);
    assert.match(JSON.stringify(at("ppc64le")), /no qemu-user binfmt handler for ppc64le is registered/);
    // The host runner gains nothing from an emulator.
    assert.equal(hostArch() === "aarch64" || !archSupport("aarch64", "host", dir).runnable, true);
  });

  test(
    "package --runner bubblewrap --arch <foreign> without an emulator: refused naming what would enable it, nothing written",
    existsSync(path.join(BINFMT_DIR, "status"))
      ? { skip: "binfmt_misc is mounted here: whether the foreign arch builds depends on its handlers" }
      : {},
    async () => {
      const dir = tempDir();
      mkdirSync(path.join(dir, "src"));
      writeFileSync(path.join(dir, "r.yaml"), recipe("emu"));
      const res = await runCli(
        packageArgs(dir, path.join(dir, "r.yaml"), ["--runner", "bubblewrap", "--arch", foreign]),
      );
      assert.equal(res.code, 1);
      assert.match(
        res.stderr,
        new RegExp(`${foreign}: cannot build ${foreign} here: binfmt_misc is not mounted .*qemu-user-static`),
      );
      assert.equal(existsSync(path.join(dir, "out")), false);
      assert.equal(existsSync(path.join(dir, "cache")), false);
    },
  );

  test("asked-for archs must be buildable; the recipe's own targets are built where they can run", () => {
    const host = hostArch();
    assert.throws(
      () => chooseArchs({ targets: [...ALL_ARCHS], requested: [foreign], runner: "host" }),
      (err: unknown) =>
        isDistrolessError(err, "E_CONFIG") &&
        err.message.startsWith(`${foreign}: cannot build ${foreign} here`),
    );
    const chosen = chooseArchs({ targets: [...ALL_ARCHS], runner: "host" });
    assert.deepEqual(chosen.archs, [host]);
    assert.equal(chosen.skipped.length, ALL_ARCHS.length - 1);
    const notTargeted = chooseArchs({ targets: [host], requested: [host, foreign], runner: "host" });
    assert.deepEqual(notTargeted.archs, [host]);
    assert.match(notTargeted.skipped[0]!.reason, /target-architecture does not include it/);
  });

  test("package: every buildable target arch, an APKINDEX beside the apks (signed with the key, merged across builds)", async () => {
    const dir = tempDir();
    mkdirSync(path.join(dir, "src"), { recursive: true });
    const keys = await writeKeyPair(dir, "arch.rsa", await generateSigningKey(2048));
    writeFileSync(path.join(dir, "one.yaml"), recipe("one"));
    writeFileSync(
      path.join(dir, "two.yaml"),
      recipe("two", `  target-architecture: [${hostArch()}, ${foreign}]\n`),
    );

    const one = await runCli(
      packageArgs(dir, path.join(dir, "one.yaml"), ["--signing-key", keys.privateKeyFile]),
    );
    assert.equal(one.code, 0, one.stderr);
    const out = JSON.parse(one.stdout) as {
      packages: { arch: string }[];
      indexes: { arch: string; file: string }[];
    };
    assert.deepEqual([...new Set(out.packages.map((p) => p.arch))], [hostArch()]);
    assert.match(one.stderr, new RegExp(`not building [a-z0-9_, ]*${foreign}[a-z0-9_, ]*: the host runner`));
    const two = await runCli(
      packageArgs(dir, path.join(dir, "two.yaml"), ["--signing-key", keys.privateKeyFile]),
    );
    assert.equal(two.code, 0, two.stderr);

    const indexFile = path.join(dir, "out", hostArch(), "APKINDEX.tar.gz");
    const keyring = new Keyring().add(path.basename(keys.publicKeyFile), readFileSync(keys.publicKeyFile));
    const index = await readIndexArchive(readFileSync(indexFile), { keyring });
    assert.equal(index.verifiedBy?.keyName, path.basename(keys.publicKeyFile));
    assert.deepEqual(
      index.entries.map((e) => `${e.name}-${e.version}`),
      ["one-1.0.0-r0", "one-doc-1.0.0-r0", "two-1.0.0-r0", "two-doc-1.0.0-r0"],
    );

    // An explicit foreign --arch is refused by name, and nothing is built.
    const refused = await runCli(packageArgs(dir, path.join(dir, "two.yaml"), ["--arch", foreign]));
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`cannot build ${foreign} here: the host runner`));
    assert.equal(existsSync(path.join(dir, "out", foreign)), false);

    // Without a key the index is unsigned; --no-generate-index writes none.
    const plain = tempDir();
    mkdirSync(path.join(plain, "src"));
    assert.equal((await runCli(packageArgs(plain, path.join(dir, "one.yaml"), []))).code, 0);
    const unsigned = await readIndexArchive(
      readFileSync(path.join(plain, "out", hostArch(), "APKINDEX.tar.gz")),
      {
        allowUntrusted: true,
      },
    );
    assert.equal(unsigned.signatures.length, 0);
    assert.equal(unsigned.entries.length, 2);
    const none = tempDir();
    mkdirSync(path.join(none, "src"));
    assert.equal(
      (
        await runCli(
          packageArgs(none, path.join(dir, "one.yaml"), ["--no-generate-index", "--generate-provenance"]),
        )
      ).code,
      0,
    );
    assert.equal(existsSync(path.join(none, "out", hostArch(), "APKINDEX.tar.gz")), false);
    // melange's --generate-provenance: the statement file beside each apk (test/sign/provenance-*).
    assert.ok(existsSync(path.join(none, "out", hostArch(), "one-doc-1.0.0-r0.attest.tar.gz")));
  });
});
