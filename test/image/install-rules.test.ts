import * as assert from "node:assert/strict";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { writeApk } from "../../provider/apk/apk-writer";
import type { DataEntry } from "../../provider/apk/data-entry";
import type { PkgInfo } from "../../provider/apk/pkginfo";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import { type AssembleOptions, assembleImage } from "../../provider/image/assemble";
import { type ApkoConfig, validateApkoConfig } from "../../provider/image/config";
import { parseInstalledDb, viewRecord } from "../../provider/image/installed-db";
import { OciLayout } from "../../provider/image/oci-layout";
import type { ImageConfig, ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { isDistrolessError } from "../../provider/util/errors";
import { tempDir } from "../helpers/tmp";
import { dir, directPlan, file, fileText, pkgInfo, readLayer, symlink, withParents } from "./image-helpers";

interface Pkg {
  name: string;
  entries: DataEntry[];
  info?: Partial<PkgInfo>;
  control?: { name: string; mode: number; data: Buffer }[];
}

/** Packages written with the project's apk writer, installed in the given order. */
async function build(
  pkgs: Pkg[],
  rawConfig: Record<string, unknown> = {},
  extra: Partial<AssembleOptions> = {},
) {
  const root = tempDir();
  const files: string[] = [];
  for (const p of pkgs) {
    const out = path.join(root, "repo", "x86_64", `${p.name}-1.0-r0.apk`);
    await writeApk({
      pkginfo: pkgInfo(p.name, "1.0-r0", "x86_64", { builddate: 1700000000, ...p.info }),
      entries: withParents(p.entries),
      output: out,
      sourceDateEpoch: 1700000000,
      ...(p.control ? { control: p.control } : {}),
    });
    files.push(out);
  }
  const config: ApkoConfig = validateApkoConfig(
    { contents: { packages: pkgs.map((p) => p.name) }, archs: ["x86_64"], ...rawConfig },
    "test.yaml",
  );
  const outputDir = path.join(root, "oci");
  const plan = await directPlan("x86_64", files);
  return {
    root,
    outputDir,
    assemble: () =>
      assembleImage({
        config,
        plans: [plan],
        cacheDir: path.join(root, "cache"),
        outputDir,
        keys: [],
        ...extra,
      }),
  };
}

async function db(outputDir: string) {
  const layer = await readLayer(outputDir, "amd64");
  return {
    layer,
    db: parseInstalledDb(fileText(layer, "usr/lib/apk/db/installed")!).map((r) => viewRecord(r)),
  };
}

const filesOf = (d: Awaited<ReturnType<typeof db>>["db"], name: string) =>
  d.find((p) => p.name === name)!.files.map((f) => f.path);

describe("installing packages: apk's rules for shared paths", () => {
  test("identical content: the first package keeps the file", async () => {
    const b = await build([
      { name: "a", entries: [file("etc/x.conf", "same\n")] },
      { name: "b", entries: [file("etc/x.conf", "same\n")] },
    ]);
    await b.assemble();
    const { db: d, layer } = await db(b.outputDir);
    assert.deepEqual(filesOf(d, "a"), ["etc/x.conf"]);
    assert.deepEqual(filesOf(d, "b"), []);
    assert.equal(fileText(layer, "etc/x.conf"), "same\n");
  });

  test("the owner replacing the newcomer keeps its file; the newcomer replacing the owner overwrites it", async () => {
    const keep = await build([
      { name: "new-base", entries: [file("etc/motd", "owner\n")], info: { replaces: ["old"] } },
      { name: "old", entries: [file("etc/motd", "newcomer\n")] },
    ]);
    await keep.assemble();
    const k = await db(keep.outputDir);
    assert.equal(fileText(k.layer, "etc/motd"), "owner\n");
    assert.deepEqual(filesOf(k.db, "old"), []);

    const take = await build([
      { name: "old", entries: [file("etc/motd", "old\n")] },
      { name: "newer", entries: [file("etc/motd", "newer\n")], info: { replaces: ["old<2"] } },
    ]);
    await take.assemble();
    const t = await db(take.outputDir);
    assert.equal(fileText(t.layer, "etc/motd"), "newer\n");
    assert.deepEqual(filesOf(t.db, "old"), [], "dropped from the previous owner's record");
    assert.deepEqual(filesOf(t.db, "newer"), ["etc/motd"]);
  });

  test("packages of one origin overwrite each other", async () => {
    const b = await build([
      { name: "tool", entries: [file("usr/share/tool/data", "1\n")], info: { origin: "tool" } },
      { name: "tool-extra", entries: [file("usr/share/tool/data", "2\n")], info: { origin: "tool" } },
    ]);
    await b.assemble();
    const { layer, db: d } = await db(b.outputDir);
    assert.equal(fileText(layer, "usr/share/tool/data"), "2\n");
    assert.deepEqual(filesOf(d, "tool"), []);
  });

  test("two packages writing one path without replaces is an error naming both and the path", async () => {
    const b = await build([
      { name: "alpha", entries: [file("usr/bin/tool", "alpha")] },
      { name: "beta", entries: [file("usr/bin/tool", "beta")] },
    ]);
    await assert.rejects(b.assemble(), (e) => {
      assert.ok(isDistrolessError(e, "E_CONFLICT"), String(e));
      assert.match(e.message, /beta-1\.0-r0 and alpha-1\.0-r0 both install usr\/bin\/tool/);
      return true;
    });
    assert.ok(!existsSync(path.join(b.outputDir, "index.json")), "no layout was half-written");
  });

  test("a file where a directory is (and the reverse) is a conflict", async () => {
    const fileOverDir = await build([
      { name: "dirs", entries: [dir("opt/app"), file("opt/app/x", "x")] },
      { name: "files", entries: [file("opt/app", "i am a file")] },
    ]);
    await assert.rejects(
      fileOverDir.assemble(),
      (e) => isDistrolessError(e, "E_CONFLICT") && /opt\/app/.test(e.message),
    );
    const dirOverFile = await build([
      { name: "files", entries: [file("opt/app", "i am a file")] },
      { name: "dirs", entries: [dir("opt/app")] },
    ]);
    await assert.rejects(
      dirOverFile.assemble(),
      (e) =>
        isDistrolessError(e, "E_CONFLICT") && /dirs-1\.0-r0 installs a directory at opt\/app/.test(e.message),
    );
  });

  test("writes through an in-root symlink land where it points (usr-merge); hardlinks stay hardlinks", async () => {
    const b = await build([
      { name: "layout", entries: [dir("usr/bin"), symlink("bin", "usr/bin"), symlink("sbin", "/usr/bin")] },
      {
        name: "tools",
        entries: [
          dir("bin"),
          file("bin/tool", "#!/bin/sh\n", 0o755),
          { path: "usr/bin/alias", type: "hardlink", mode: 0o755, uid: 0, gid: 0, linkname: "bin/tool" },
          file("sbin/admin", "admin", 0o700),
        ],
      },
    ]);
    await b.assemble();
    const { layer, db: d } = await db(b.outputDir);
    const entry = (n: string) => layer.find((e) => e.header.name === n);
    assert.equal(entry("bin")!.header.type, "symlink");
    // In the layer the link sorts first, so the body goes there and the other path links to it.
    assert.equal(entry("usr/bin/alias")!.header.type, "file");
    assert.equal(entry("usr/bin/alias")!.data.toString(), "#!/bin/sh\n");
    assert.equal(entry("usr/bin/tool")!.header.type, "hardlink");
    assert.equal(entry("usr/bin/tool")!.header.linkname, "usr/bin/alias");
    assert.equal(entry("usr/bin/admin")!.header.mode, 0o700);
    const tools = d.find((p) => p.name === "tools")!;
    assert.deepEqual(tools.files.map((f) => f.path).sort(), ["bin/tool", "sbin/admin", "usr/bin/alias"]);
  });

  test("scripts.tar, triggers, xattrs", async () => {
    const b = await build(
      [
        {
          name: "svc",
          entries: [{ ...file("etc/svc.conf", "x=1\n"), xattrs: { "user.tag": Buffer.from("kept") } }],
          info: { triggers: ["/usr/share/svc/*"] },
          control: [
            { name: ".post-install", mode: 0o755, data: Buffer.from("#!/bin/sh\necho hi\n") },
            { name: ".melange.yaml", mode: 0o644, data: Buffer.from("package: {}\n") },
          ],
        },
      ],
      {},
      { sourceDateEpoch: 1234 },
    );
    await b.assemble();
    const { layer, db: d } = await db(b.outputDir);
    const checksum = d[0]!.checksum;
    assert.equal(fileText(layer, "usr/lib/apk/db/triggers"), `${checksum} /usr/share/svc/*\n`);
    const scripts = await readTarBuffer(
      layer.find((e) => e.header.name === "usr/lib/apk/db/scripts.tar")!.data,
    );
    assert.deepEqual(
      scripts.map((s) => [s.header.name, s.header.mode, s.header.mtime, s.header.uname, s.data.toString()]),
      [[`svc-1.0-r0.${checksum}.post-install`, 0o755, 1234, "root", "#!/bin/sh\necho hi\n"]],
    );
    assert.equal(
      layer.find((e) => e.header.name === "etc/svc.conf")!.header.pax["SCHILY.xattr.user.tag"],
      "kept",
    );
  });

  test("accounts, run-as, paths, busybox links and the image config", async () => {
    const b = await build(
      [
        {
          name: "busybox",
          entries: [
            file("bin/busybox", "\x7fELF", 0o755),
            file("etc/busybox-paths.d/busybox", "/bin/sh\n/usr/bin/env\n/bin/busybox\n\n"),
            file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
          ],
        },
      ],
      {
        accounts: {
          "run-as": "app",
          users: [{ username: "app", uid: 1000 }],
          groups: [{ groupname: "app", gid: 1000, members: ["app"] }],
        },
        paths: [
          { path: "/data", type: "directory", uid: 1000, gid: 1000, permissions: 0o750 },
          { path: "/data/empty", type: "empty-file", permissions: 0o600 },
          { path: "/usr/local/bin/sh", type: "symlink", source: "/bin/busybox" },
        ],
        entrypoint: { command: "/bin/sh -c 'echo hi'" },
        cmd: "--verbose",
        "work-dir": "/data",
        "stop-signal": "SIGTERM",
        volumes: ["/data"],
        annotations: { "org.example.team": "infra" },
        "vcs-url": "https://github.com/example/app@0123456789abcdef0123456789abcdef01234567",
        environment: { FOO: "bar" },
      },
    );
    const result = await b.assemble();
    const { layer } = await db(b.outputDir);
    const h = (n: string) => layer.find((e) => e.header.name === n)?.header;
    assert.equal(
      fileText(layer, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:Account created by apko:/home/app:/bin/sh\n",
    );
    assert.equal(fileText(layer, "etc/group"), "app:x:1000:app\n");
    assert.equal(fileText(layer, "etc/shadow"), "app:!:::::::\n");
    assert.equal(h("etc/shadow")!.mode, 0o640);
    assert.deepEqual([h("home/app")!.mode, h("home/app")!.uid, h("home/app")!.gid], [0o700, 1000, 1000]);
    assert.deepEqual([h("home/app")!.uname, h("home/app")!.gname], ["app", "app"]);
    assert.deepEqual([h("root")!.mode, h("root")!.uid], [0o700, 0], "missing homes of package users too");
    assert.deepEqual([h("data")!.mode, h("data")!.uid], [0o750, 1000]);
    assert.deepEqual(
      [h("data/empty")!.type, h("data/empty")!.size, h("data/empty")!.mode],
      ["file", 0, 0o600],
    );
    assert.equal(h("usr/local/bin/sh")!.linkname, "/bin/busybox");
    assert.equal(h("usr/bin/env")!.linkname, "/bin/busybox");
    assert.equal(h("bin/sh")!.linkname, "/bin/busybox");
    assert.equal(h("bin/busybox")!.type, "file");
    const layout = new OciLayout(b.outputDir);
    const manifest = await layout.readJsonBlob<ImageManifest>(result.platforms[0]!.manifestDigest);
    const cfg = await layout.readJsonBlob<ImageConfig>(manifest.config.digest);
    assert.deepEqual(Object.keys(cfg), [
      "architecture",
      "author",
      "created",
      "history",
      "os",
      "rootfs",
      "config",
    ]);
    assert.deepEqual(cfg.config, {
      Entrypoint: ["/bin/sh", "-c", "echo hi"],
      Cmd: ["--verbose"],
      Env: [
        "FOO=bar",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/bin:/usr/sbin:/sbin:/bin",
        "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
      ],
      User: "1000",
      WorkingDir: "/data",
      Volumes: { "/data": {} },
      StopSignal: "SIGTERM",
      Labels: {
        "org.example.team": "infra",
        "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
      },
    });
    assert.equal(cfg.created, "2023-11-14T22:13:20Z", "the newest package build time");
    const index = await layout.readJsonBlob<ImageIndex>(result.indexDigest);
    // vcs-url reaches the index only, as in apko v1.2.37 (see test/image/vcs.test.ts).
    assert.equal(index.annotations!["org.opencontainers.image.source"], "https://github.com/example/app");
    assert.equal(manifest.annotations!["org.opencontainers.image.source"], undefined);
    assert.equal(manifest.annotations!["org.example.team"], "infra");
  });

  test("a user with uid 0 is refused by the config and by the assembler", async () => {
    assert.throws(
      () => validateApkoConfig({ accounts: { users: [{ username: "evil", uid: 0 }] } }, "apko.yaml"),
      (e) => isDistrolessError(e) && /uid 0/.test(e.message) && /accounts\.users\[0\]/.test(e.message),
    );
    const b = await build([{ name: "base", entries: [file("etc/os-release", "ID=test\n")] }]);
    const config = validateApkoConfig(
      { accounts: { users: [{ username: "evil", uid: 1 }] }, archs: ["x86_64"] },
      "apko.yaml",
    );
    config.accounts.users[0]!.uid = 0; // a hand-built config object, past the schema
    const plan = await directPlan("x86_64", [path.join(b.root, "repo", "x86_64", "base-1.0-r0.apk")]);
    await assert.rejects(
      assembleImage({
        config,
        plans: [plan],
        cacheDir: path.join(b.root, "cache"),
        outputDir: b.outputDir,
        keys: [],
      }),
      (e) => isDistrolessError(e, "E_CONFIG") && /evil.*uid must be > 0/.test(e.message),
    );
    assert.ok(!existsSync(path.join(b.outputDir, "index.json")));
  });
});
