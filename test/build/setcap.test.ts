import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readApkHead, scanApkData } from "../../provider/apk/apk-reader";
import { writeApk } from "../../provider/apk/apk-writer";
import { generateSigningKey, writeKeyPair } from "../../provider/apk/keys";
import { emptyPkgInfo } from "../../provider/apk/pkginfo";
import { buildPackage } from "../../provider/build/build";
import { CAPABILITY_XATTR, encodeCapability } from "../../provider/build/emit/setcap";
import { publishPackages } from "../../provider/repository/publish";
import { isDistrolessError } from "../../provider/util/errors";
import { tempDir } from "../helpers/tmp";
import { imageBundle, toolAvailable } from "./build-helpers";

const recipe = (setcap: string) => `package:
  name: capped
  version: 1.0.0
  epoch: 0
  copyright:
    - license: MIT
${setcap}
pipeline:
  - runs: |
      mkdir -p \${{targets.destdir}}/usr/bin
      printf '#!/bin/sh\\necho hi\\n' > \${{targets.destdir}}/usr/bin/server
      chmod 755 \${{targets.destdir}}/usr/bin/server
`;

const SETCAP = `  setcap:
    - path: /usr/bin/server
      add:
        cap_net_bind_service: "+ep"
        cap_net_raw,cap_ipc_lock: "+p"
      reason: binds port 80 and opens raw sockets`;

async function build(dir: string, setcap: string, key: string) {
  const file = path.join(dir, "capped.melange.yaml");
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, recipe(setcap));
  return buildPackage({
    recipeFile: file,
    sourceDir: path.join(dir, "src"),
    arch: "x86_64",
    runner: "host",
    outDir: path.join(dir, "out"),
    signingKey: key,
    cacheDir: path.join(dir, "cache"),
  });
}

async function xattrsOf(apk: string): Promise<Map<string, Record<string, Buffer>>> {
  const out = new Map<string, Record<string, Buffer>>();
  await scanApkData(await readApkHead(apk), async (entry, body) => {
    for await (const _ of body);
    out.set(entry.path, entry.xattrs);
  });
  return out;
}

describe("setcap", () => {
  test("vfs_cap_data revision 3 as melange encodes it", () => {
    const bind = 1 << 10;
    const value = encodeCapability({ effective: bind, permitted: bind, inheritable: 0 });
    assert.equal(value.toString("hex"), `01000003${"00040000"}${"00".repeat(16)}`);
    // No effective capability: the effective flag stays clear.
    assert.equal(
      encodeCapability({ effective: 0, permitted: bind, inheritable: bind }).readUInt32LE(0),
      0x03000000,
    );
  });

  test("binary xattr values survive the apk writer and reader byte for byte", async () => {
    const dir = tempDir();
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const written = await writeApk({
      pkginfo: { ...emptyPkgInfo(), pkgname: "x", pkgver: "1-r0", arch: "x86_64" },
      entries: [
        {
          path: "f",
          type: "file",
          mode: 0o644,
          uid: 0,
          gid: 0,
          content: Buffer.from("x"),
          xattrs: { "user.bin": all },
        },
      ],
      output: path.join(dir, "x.apk"),
    });
    assert.deepEqual((await xattrsOf(written.file)).get("f")?.["user.bin"], all);
  });

  test("the recipe's setcap lands in the apk, changes the datahash, and getcap sees it in the image", async () => {
    const dir = tempDir();
    const keys = await writeKeyPair(dir, "setcap.rsa", await generateSigningKey(2048));
    const capped = await build(path.join(dir, "capped"), SETCAP, keys.privateKeyFile);
    const plain = await build(path.join(dir, "plain"), "", keys.privateKeyFile);
    const apk = capped.packages[0]!;
    const value = (await xattrsOf(apk.file)).get("usr/bin/server")?.[CAPABILITY_XATTR];
    const bits = (1 << 10) | (1 << 13) | (1 << 14);
    assert.deepEqual(value, encodeCapability({ effective: 1 << 10, permitted: bits, inheritable: 0 }));
    assert.equal(
      (await xattrsOf(plain.packages[0]!.file)).get("usr/bin/server")?.[CAPABILITY_XATTR],
      undefined,
    );
    assert.notEqual(apk.datahash, plain.packages[0]!.datahash, "the xattr is part of the data tar");

    // getcap has no --version; it exits 0 on any readable file.
    if (!toolAvailable("umoci", ["--version"]) || !toolAvailable("getcap", [process.execPath])) {
      if (process.env.CI) assert.fail("umoci and getcap are needed on CI");
      return;
    }
    const repo = path.join(dir, "repo");
    await publishPackages({ root: repo, packages: [apk.file], signingKey: keys.privateKeyFile });
    const bundle = await imageBundle({
      repo,
      publicKey: keys.publicKeyFile,
      packages: ["capped"],
      dir: path.join(dir, "image"),
      cacheDir: path.join(dir, "cache"),
    });
    const res = spawnSync("getcap", [path.join(bundle, "rootfs/usr/bin/server")], { encoding: "utf8" });
    assert.equal(res.status, 0, res.stderr);
    // vfs_cap_data has one effective flag: libcap shows every permitted capability as effective.
    assert.match(res.stdout, /usr\/bin\/server cap_net_bind_service,cap_net_raw,cap_ipc_lock=ep\n/);
  });

  test("a setcap path the package lacks fails naming the package and path", async () => {
    const dir = tempDir();
    const keys = await writeKeyPair(dir, "setcap.rsa", await generateSigningKey(2048));
    const missing = SETCAP.replace("/usr/bin/server", "/usr/bin/absent");
    await assert.rejects(build(dir, missing, keys.privateKeyFile), (err: unknown) => {
      assert.ok(isDistrolessError(err, "E_BUILD"));
      assert.match(
        err.message,
        /capped: setcap names \/usr\/bin\/absent, which the package does not contain/,
      );
      return true;
    });
  });
});
