/**
 * Shared by the build tests and bench/build.ts: unpacking apks, reading their files, making the
 * `busybox` package from Debian's busybox-static binary and publishing it into a signed local
 * repository (the build environment of the sandbox tests), and running a rootfs under runc.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { readApkHead, scanApkData } from "../../provider/apk/apk-reader";
import { generateSigningKey, writeKeyPair } from "../../provider/apk/keys";
import { buildPackage } from "../../provider/build/build";
import { extractApkInto } from "../../provider/build/environment/extract";
import { resolveEnvironment } from "../../provider/build/environment/resolve";
import { assembleImage } from "../../provider/image/assemble";
import { validateApkoConfig } from "../../provider/image/config";
import type { PlannedPackage } from "../../provider/image/install-plan";
import { publishPackages } from "../../provider/repository/publish";
import { sha1Hex } from "../../provider/util/hash";
import { fixture } from "../helpers/fixtures";

/**
 * Unpacks an apk's data (fixture-relative or absolute path) into `dir` through scanApkData. Every
 * file's SHA-1 is checked; the datahash is not, because two Wolfi fixtures (aws-c-s3, neon) had
 * their data segments cut down after signing.
 */
export async function extractApk(file: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await extractApkInto(dir, path.isAbsolute(file) ? file : fixture(file), { enforceDatahash: false });
}

export interface ApkFile {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  /** SHA-1 of regular file content. */
  sha1?: string;
  /** The content of regular files up to 1 MiB. */
  content?: Buffer;
  linkname?: string;
}

/** Every data entry of an apk by path. */
export async function apkFiles(file: string): Promise<Map<string, ApkFile>> {
  const out = new Map<string, ApkFile>();
  const head = await readApkHead(file);
  await scanApkData(head, async (entry, body) => {
    const h = entry.header;
    const f: ApkFile = { type: h.type, mode: h.mode & 0o7777, uid: h.uid, gid: h.gid };
    if (h.type === "file") {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c);
      const content = Buffer.concat(chunks);
      f.sha1 = sha1Hex(content);
      if (content.length <= 1 << 20) f.content = content;
    }
    if (h.linkname) f.linkname = h.linkname;
    out.set(entry.path, f);
  });
  return out;
}

/**
 * busybox the way Wolfi ships it: the binary at /bin/busybox, /bin/sh, and the applet list in
 * etc/busybox-paths.d/busybox, from which the image installer makes the other applet links.
 */
export const BUSYBOX_RECIPE = `package:
  name: busybox
  version: 1.35.0
  epoch: 0
  description: busybox, from Debian's busybox-static
  copyright:
    - license: GPL-2.0-only
  # Wolfi's busybox lives in /usr/bin behind baselayout's /bin link; this one is the /bin layout
  # of Debian's static binary, which melange's usrmerge linter would refuse.
  checks:
    disabled:
      - usrmerge
pipeline:
  - name: install busybox, /bin/sh and the applet list
    runs: |
      mkdir -p \${{targets.destdir}}/bin \${{targets.destdir}}/etc/busybox-paths.d
      cp busybox \${{targets.destdir}}/bin/busybox
      chmod 755 \${{targets.destdir}}/bin/busybox
      ln -s /bin/busybox \${{targets.destdir}}/bin/sh
      ./busybox --list-full | sed 's|^|/|' > \${{targets.destdir}}/etc/busybox-paths.d/busybox
`;

export const HOST_BUSYBOX = "/bin/busybox";

export function hostBusyboxAvailable(): boolean {
  return existsSync(HOST_BUSYBOX) && spawnSync(HOST_BUSYBOX, ["--list-full"]).status === 0;
}

export interface BusyboxRepo {
  repo: string;
  privateKey: string;
  publicKey: string;
  busyboxApk: string;
}

/**
 * Builds `busybox` with the host runner from the host's static busybox, and publishes it into a
 * fresh repository under `dir` signed with a generated key.
 */
export async function makeBusyboxRepo(dir: string, arch = "x86_64"): Promise<BusyboxRepo> {
  const keys = await writeKeyPair(dir, "test-build.rsa", await generateSigningKey(2048));
  const src = path.join(dir, "busybox-src");
  mkdirSync(src, { recursive: true });
  copyFileSync(HOST_BUSYBOX, path.join(src, "busybox"));
  const recipe = path.join(dir, "busybox.melange.yaml");
  writeFileSync(recipe, BUSYBOX_RECIPE);
  const built = await buildPackage({
    recipeFile: recipe,
    sourceDir: src,
    arch,
    runner: "host",
    outDir: path.join(dir, "busybox-out"),
    signingKey: keys.privateKeyFile,
    cacheDir: path.join(dir, "cache"),
  });
  const repo = path.join(dir, "repo");
  await publishPackages({
    root: repo,
    packages: built.packages.map((p) => p.file),
    signingKey: keys.privateKeyFile,
  });
  return {
    repo,
    privateKey: keys.privateKeyFile,
    publicKey: keys.publicKeyFile,
    busyboxApk: built.packages[0]!.file,
  };
}

/**
 * An image of `packages` from a signed repository, made by the image assembler (resolve, fetch,
 * install, layer, OCI layout), unpacked by umoci into a runtime bundle.
 */
export async function imageBundle(opts: {
  repo: string;
  publicKey: string;
  packages: string[];
  dir: string;
  cacheDir: string;
}): Promise<string> {
  const config = validateApkoConfig(
    {
      contents: { repositories: [opts.repo], keyring: [opts.publicKey], packages: opts.packages },
      entrypoint: { command: "/bin/sh" },
      archs: ["x86_64"],
    },
    path.join(opts.dir, "apko.yaml"),
  );
  const env = await resolveEnvironment(config, "x86_64", { cacheDir: opts.cacheDir });
  const packages: PlannedPackage[] = [];
  for (const p of env.lock.packages) {
    const f = await env.fetch(p);
    packages.push({
      name: p.name,
      version: p.version,
      checksum: p.checksum,
      apkPath: f.path,
      repository: opts.repo,
    });
  }
  const oci = path.join(opts.dir, "oci");
  await assembleImage({
    config,
    plans: [{ arch: "x86_64", packages }],
    keys: [{ name: path.basename(opts.publicKey), content: readFileSync(opts.publicKey, "utf8") }],
    cacheDir: opts.cacheDir,
    outputDir: oci,
  });
  const bundle = path.join(opts.dir, "bundle");
  const res = spawnSync("umoci", ["unpack", "--image", `${oci}:latest-x86_64`, bundle], { encoding: "utf8" });
  if (res.status !== 0) throw new Error(`umoci unpack failed: ${res.stderr}`);
  return bundle;
}

/** Runs `args` in a bundle (its rootfs read-only) under runc; returns its exit code and output. */
export function runcRun(bundle: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const cfgFile = path.join(bundle, "config.json");
  if (!existsSync(cfgFile)) {
    const spec = spawnSync("runc", ["spec", "--bundle", bundle], { encoding: "utf8" });
    if (spec.status !== 0) throw new Error(`runc spec failed: ${spec.stderr}`);
  }
  const cfg = JSON.parse(readFileSync(cfgFile, "utf8")) as {
    process: { terminal: boolean; args: string[] };
    root: { path: string; readonly: boolean };
  };
  cfg.process.terminal = false;
  cfg.process.args = args;
  cfg.root = { ...cfg.root, readonly: true };
  writeFileSync(cfgFile, JSON.stringify(cfg));
  const id = `pd-build-test-${process.pid}-${Date.now()}`;
  const res = spawnSync("runc", ["run", "--bundle", bundle, id], { encoding: "utf8", timeout: 60_000 });
  spawnSync("runc", ["delete", "--force", id]);
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

export function toolAvailable(tool: string, args = ["--version"]): boolean {
  return spawnSync(tool, args).status === 0;
}
