import { mkdtempSync, rmSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { writeIndexArchive } from "../../provider/apk/index-archive";
import { emptyIndexEntry, type IndexEntry } from "../../provider/apk/index-text";
import { generateSigningKey, parsePrivateKey, type SigningKey } from "../../provider/apk/keys";
import { q1Encode, sha1 } from "../../provider/util/hash";

/** A package record for a test repository; only what a case needs is given. */
export interface PkgSpec {
  name: string;
  version: string;
  arch?: string;
  depends?: string[];
  provides?: string[];
  installIf?: string[];
  priority?: number;
  origin?: string;
  /** Distinguishes rebuilds of one name-version (a different `C:`). */
  build?: string;
}

/** An APKINDEX record built the way the project writes them; `C:` derived from the spec. */
export function entry(spec: PkgSpec, arch = spec.arch ?? "x86_64"): IndexEntry {
  const e = emptyIndexEntry();
  e.name = spec.name;
  e.version = spec.version;
  e.arch = arch;
  e.checksum = q1Encode(sha1(`${spec.name}-${spec.version}-${arch}-${spec.build ?? ""}`));
  e.size = 1000 + spec.name.length;
  e.installedSize = 4096;
  e.description = `test package ${spec.name}`;
  e.license = "MIT";
  e.origin = spec.origin ?? spec.name;
  e.depends = spec.depends ?? [];
  e.provides = spec.provides ?? [];
  e.installIf = spec.installIf ?? [];
  if (spec.priority !== undefined) e.providerPriority = spec.priority;
  return e;
}

export interface TestKey {
  keyName: string;
  signingKey: SigningKey;
  /** The public key file, named as signatures name it. */
  publicKeyFile: string;
}

const keys = new Map<string, Promise<TestKey>>();
const ready = new Map<string, TestKey>();
let keyDir: string | undefined;

/**
 * A generated 2048-bit key, one per name per process (generating keys is the slow part of these
 * tests); its public half lives in a process-wide temp dir removed at exit.
 */
export function testKey(keyName = "resolve-test.rsa.pub"): Promise<TestKey> {
  // A fresh promise per call once the key exists: awaiting a promise made inside another test can
  // make node:test attach this test's after() hooks (temp dir cleanup) to that other test.
  const done = ready.get(keyName);
  if (done) return Promise.resolve(done);
  let k = keys.get(keyName);
  if (!k) {
    k = (async () => {
      if (!keyDir) {
        const dir = mkdtempSync(path.join(os.tmpdir(), "pd-test-keys-"));
        process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
        keyDir = dir;
      }
      const pair = await generateSigningKey(2048);
      const publicKeyFile = path.join(keyDir, keyName);
      await fsp.writeFile(publicKeyFile, pair.publicKeyPem);
      const key = { keyName, signingKey: parsePrivateKey(pair.privateKeyPem, keyName), publicKeyFile };
      ready.set(keyName, key);
      return key;
    })();
    keys.set(keyName, k);
  }
  return k;
}

/** Writes `<root>/<arch>/APKINDEX.tar.gz`, signed with `key` (or unsigned without one). */
export async function writeRepo(
  root: string,
  arch: string,
  specs: PkgSpec[],
  key?: TestKey,
): Promise<string> {
  const dir = path.join(root, arch);
  await fsp.mkdir(dir, { recursive: true });
  const archive = writeIndexArchive(
    specs.map((s) => entry(s, arch)),
    key ? { signingKey: key.signingKey, description: "test" } : { description: "test" },
  );
  const file = path.join(dir, "APKINDEX.tar.gz");
  await fsp.writeFile(file, archive);
  return file;
}
