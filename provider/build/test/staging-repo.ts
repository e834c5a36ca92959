/**
 * A throwaway repository holding the packages under test, so the test guest resolves them like any
 * other package (with their runtime dependencies from the recipe's repositories). Its index is
 * signed with a key made for this one test run and trusted for it alone; the packages themselves
 * are checked against the index's C: when fetched, as every package is.
 */
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { readApkHead } from "../../apk/apk-reader";
import { writeIndexArchive } from "../../apk/index-archive";
import { indexEntryFromApk } from "../../apk/index-entry";
import { generateSigningKey, parsePrivateKey, writeKeyPair } from "../../apk/keys";
import { archDirName, packageFilePath } from "../../apk/names";

export interface StagingRepository {
  /** The repository directory. */
  repo: string;
  /** The public key that signs its index. */
  publicKeyFile: string;
  /** name -> the staged .apk file of every package in it. */
  packages: Map<string, string>;
}

const KEY_NAME = "pulumi-distroless-test.rsa";

export async function stageTestRepository(dir: string, apks: string[]): Promise<StagingRepository> {
  await fsp.mkdir(dir, { recursive: true });
  const pair = await generateSigningKey(2048);
  const keys = await writeKeyPair(dir, KEY_NAME, pair);
  const key = parsePrivateKey(pair.privateKeyPem, `${KEY_NAME}.pub`);
  const repo = path.join(dir, "repo");
  const byArch = new Map<string, ReturnType<typeof indexEntryFromApk>[]>();
  const packages = new Map<string, string>();
  for (const file of apks) {
    const head = await readApkHead(file);
    const info = head.pkginfo;
    const staged = packageFilePath(repo, info.arch, info.pkgname, info.pkgver);
    await fsp.mkdir(path.dirname(staged), { recursive: true });
    await fsp.copyFile(file, staged);
    byArch.set(info.arch, [...(byArch.get(info.arch) ?? []), indexEntryFromApk(head)]);
    packages.set(info.pkgname, staged);
  }
  for (const [arch, entries] of byArch) {
    const index = writeIndexArchive(entries, { signingKey: key, description: "packages under test" });
    await fsp.writeFile(path.join(repo, archDirName(arch, arch), "APKINDEX.tar.gz"), index);
  }
  return { repo, publicKeyFile: keys.publicKeyFile, packages };
}
