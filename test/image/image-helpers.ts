import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { readApkHead } from "../../provider/apk/apk-reader";
import { writeApk } from "../../provider/apk/apk-writer";
import type { DataEntry } from "../../provider/apk/data-entry";
import { writeIndexArchive } from "../../provider/apk/index-archive";
import { indexEntryFromApk } from "../../provider/apk/index-entry";
import { generateSigningKey, parsePrivateKey, type SigningKey } from "../../provider/apk/keys";
import { emptyPkgInfo, type PkgInfo } from "../../provider/apk/pkginfo";
import type { TarHeader } from "../../provider/archive/tar-header";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import type { ApkoConfig } from "../../provider/image/config";
import type { InstallPlan, KeyContent } from "../../provider/image/install-plan";
import { OciLayout } from "../../provider/image/oci-layout";
import type { ImageIndex, ImageManifest } from "../../provider/image/oci-types";
import { applyOverrides, fetchInstallPlans, resolveImage } from "../../provider/image/pipeline";
import { RepositoryClient } from "../../provider/repository/client";

export function pkgInfo(name: string, version: string, arch: string, extra: Partial<PkgInfo> = {}): PkgInfo {
  return {
    ...emptyPkgInfo(),
    pkgname: name,
    pkgver: version,
    arch,
    origin: name,
    licenses: ["MIT"],
    ...extra,
  };
}

export const file = (p: string, body: string | Buffer, mode = 0o644): DataEntry => ({
  path: p,
  type: "file",
  mode,
  uid: 0,
  gid: 0,
  content: Buffer.isBuffer(body) ? body : Buffer.from(body),
});
export const dir = (p: string, mode = 0o755): DataEntry => ({
  path: p,
  type: "directory",
  mode,
  uid: 0,
  gid: 0,
});
export const symlink = (p: string, target: string): DataEntry => ({
  path: p,
  type: "symlink",
  mode: 0o777,
  uid: 0,
  gid: 0,
  linkname: target,
});

/** Every parent directory of the given entries, as packages list them. */
export function withParents(entries: DataEntry[]): DataEntry[] {
  const dirs = new Set(entries.filter((e) => e.type === "directory").map((e) => e.path));
  const out = [...entries];
  for (const e of entries) {
    const parts = e.path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join("/");
      if (!dirs.has(d)) {
        dirs.add(d);
        out.push(dir(d));
      }
    }
  }
  return out;
}

export interface TestPackage {
  info: PkgInfo;
  entries: DataEntry[];
  control?: { name: string; mode: number; data: Buffer }[];
  epoch?: number;
}

export async function testKey(name = "test.rsa"): Promise<SigningKey> {
  const pair = await generateSigningKey(2048);
  return parsePrivateKey(pair.privateKeyPem, `${name}.pub`);
}

/** Writes signed apks and a signed APKINDEX.tar.gz into `<root>/<arch>/`; returns the public key file. */
export async function writeRepo(
  root: string,
  arch: string,
  packages: TestPackage[],
  key: SigningKey,
): Promise<string> {
  const archDir = path.join(root, arch);
  await fsp.mkdir(archDir, { recursive: true });
  const entries = [];
  for (const p of packages) {
    const out = path.join(archDir, `${p.info.pkgname}-${p.info.pkgver}.apk`);
    await writeApk({
      pkginfo: p.info,
      entries: p.entries,
      output: out,
      signingKey: key,
      sourceDateEpoch: p.epoch ?? 0,
      ...(p.control ? { control: p.control } : {}),
    });
    entries.push(indexEntryFromApk(await readApkHead(out)));
  }
  writeFileSync(path.join(archDir, "APKINDEX.tar.gz"), writeIndexArchive(entries, { signingKey: key }));
  const pub = path.join(root, key.keyName);
  writeFileSync(pub, key.publicKeyPem);
  return pub;
}

/** Raw apks (names writeApk would not produce) come from the shared hostile-corpus builder. */
export { rawApk } from "../helpers/hostile-apk";

/** Plans for apk files given directly, in install order (what a lock would say). */
export async function directPlan(arch: InstallPlan["arch"], files: string[]): Promise<InstallPlan> {
  const packages = [];
  for (const f of files) {
    const h = await readApkHead(f);
    packages.push({
      name: h.pkginfo.pkgname,
      version: h.pkginfo.pkgver,
      checksum: h.controlChecksum,
      apkPath: f,
      repository: path.dirname(path.dirname(f)),
    });
  }
  return { arch, packages };
}

/** The real pipeline (resolver + repository client): config -> verified packages in the cache -> plans. */
export async function resolvedPlans(
  config: ApkoConfig,
  cacheDir: string,
  archs = config.archs,
): Promise<{ plans: InstallPlan[]; keys: KeyContent[] }> {
  const client = new RepositoryClient({ cacheDir, offline: true });
  const resolved = await resolveImage(applyOverrides(config, { archs }), client);
  return { plans: await fetchInstallPlans(resolved, client), keys: resolved.keys };
}

export interface LayerFile {
  header: TarHeader;
  data: Buffer;
}

/** The layer of `arch`'s image in a layout, read back with the project's tar reader. */
export async function readLayer(layoutDir: string, ociArch: string, tag = "latest"): Promise<LayerFile[]> {
  const layout = new OciLayout(layoutDir);
  const top = await layout.readIndex();
  const ref = top.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag)!;
  const index = await layout.readJsonBlob<ImageIndex>(ref.digest);
  const desc = index.manifests.find((m) => m.platform?.architecture === ociArch)!;
  const manifest = await layout.readJsonBlob<ImageManifest>(desc.digest);
  const gz = await layout.readBlob(manifest.layers[0]!.digest, 1 << 30);
  return readTarBuffer(zlib.gunzipSync(gz), { maxEntryBytes: 1 << 30 });
}

export function fileText(layer: LayerFile[], name: string): string | undefined {
  return layer.find((e) => e.header.name === name)?.data.toString("utf8");
}

/** Runs a real tool; throws with its output when it fails. */
export function run(cmd: string, args: string[], options: { cwd?: string; input?: string } = {}): string {
  const res = spawnSync(cmd, args, { encoding: "utf8", cwd: options.cwd, input: options.input ?? "" });
  if (res.error) throw res.error;
  if (res.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${res.status}):\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

export function hasTool(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** All files of a directory tree (relative path -> bytes), for byte-for-byte comparisons. */
export async function snapshot(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const walk = async (d: string) => {
    for (const e of await fsp.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(path.relative(root, p), readFileSync(p));
    }
  };
  await walk(root);
  return out;
}
