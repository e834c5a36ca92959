/**
 * `lock` on a generated, signed 150,000-package index in a local repository, fresh cache every
 * run (the index is verified, parsed and cached), then with the parsed index cached (warm), each
 * beside `apko lock` of the same config.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { writeApk } from "../../provider/apk/apk-writer";
import { writeIndexArchive } from "../../provider/apk/index-archive";
import type { IndexEntry } from "../../provider/apk/index-text";
import { generateSigningKey, parsePrivateKey } from "../../provider/apk/keys";
import { emptyPkgInfo } from "../../provider/apk/pkginfo";
import { tool } from "../../test/helpers/tools";
import { rng, syntheticIndexEntry } from "../_common";
import { alternate, argValue, cli, report, timeCommand } from "./_shared";

const KEY_NAME = "bench-big.rsa.pub";

/** The packages the config asks for: low numbers, so the closure (apko reads its apks) stays small. */
function wanted(count: number): string[] {
  const top = Math.min(60, Math.floor(count / 3) - 1);
  return [`pkg${top}`, `pkg${top - 7}-dev`, `pkg${Math.floor(top / 2)}`];
}

/**
 * apko reads the apk of every package it locks (not just the index), so the packages in the
 * closure of the wanted ones exist as real (empty) apks, and their index records carry the apks'
 * own checksums and sizes. Each dependency (`pkgN`, `so:libpkgN.so.1`) is provided by `pkgN`.
 */
async function writeClosureApks(repo: string, entries: IndexEntry[], names: string[]): Promise<void> {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const seen = new Set<string>();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (seen.has(name)) continue;
    seen.add(name);
    for (const d of byName.get(name)!.depends) queue.push(d.replace(/^so:lib(pkg\d+)\.so\.1$/, "$1"));
  }
  for (const name of seen) {
    const e = byName.get(name)!;
    const written = await writeApk({
      pkginfo: {
        ...emptyPkgInfo(),
        pkgname: e.name,
        pkgver: e.version,
        arch: e.arch,
        origin: e.origin,
        licenses: e.license.split(" AND "),
        depends: e.depends,
        provides: e.provides,
      },
      entries: [],
      output: path.join(repo, "x86_64", `${e.name}-${e.version}.apk`),
    });
    e.checksum = written.controlChecksum;
    e.size = written.size;
    e.installedSize = written.pkginfo.size;
  }
}

/** `count` realistic records (deps, so:/cmd: provides, install_if, descriptions), signed. */
async function generate(repo: string, count: number): Promise<void> {
  const rand = rng(42);
  const entries: IndexEntry[] = [];
  for (let i = 0; i < count; i++) {
    const e = syntheticIndexEntry(i, rand);
    const ndeps = 2 + Math.floor(rand() * 4);
    for (let d = 0; d < ndeps; d++) {
      const j = Math.floor(rand() * Math.max(1, i / 3));
      if (j === Math.floor(i / 3)) continue;
      e.depends.push(d % 2 === 0 ? `so:libpkg${j}.so.1` : `pkg${j}`);
    }
    entries.push(e);
  }
  mkdirSync(path.join(repo, "x86_64"), { recursive: true });
  await writeClosureApks(repo, entries, wanted(count));
  const pair = await generateSigningKey(2048);
  writeFileSync(path.join(repo, KEY_NAME), pair.publicKeyPem);
  const archive = writeIndexArchive(entries, { signingKey: parsePrivateKey(pair.privateKeyPem, KEY_NAME) });
  writeFileSync(path.join(repo, "x86_64", "APKINDEX.tar.gz"), archive);
}

export async function lockBig(work: string): Promise<void> {
  const count = argValue("--packages", 150_000);
  const repo = path.join(work, "repo-big");
  const t0 = Date.now();
  await generate(repo, count);
  console.log(
    `\n(generated and signed a ${count}-package index in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  const config = path.join(work, "big.yaml");
  writeFileSync(
    config,
    `contents:\n  keyring:\n    - ${repo}/${KEY_NAME}\n  repositories:\n    - ${repo}\n  packages:\n` +
      wanted(count)
        .map((n) => `    - ${n}\n`)
        .join("") +
      "archs:\n  - x86_64\n",
  );
  const apko = tool("apko");
  if (!apko) {
    console.log("[lock, big index] skipped: apko not built (scripts/tools.sh apko)");
    return;
  }
  const cache = path.join(work, "cache-lock-big");
  const runs = alternate(
    argValue("--rounds", 5),
    () => timeCommand(cli("lock", config, "--cache-dir", cache)),
    () => timeCommand([apko, "lock", config, "--output", path.join(work, "big.lock.json")]),
    () => rmSync(cache, { recursive: true, force: true }),
  );
  report(
    `lock, ${count}-package index, fresh cache`,
    "pulumi-distroless lock",
    "apko lock",
    runs,
    { kind: "ratio", max: 1 },
    2,
  );
  // Warm: the parsed index is in the cache (the archive is still read, hashed and its signature
  // checked, as every run does); apko has no parsed-index cache, so its run is the same as above.
  timeCommand(cli("lock", config, "--cache-dir", cache));
  const warm = alternate(
    argValue("--rounds", 5),
    () => timeCommand(cli("lock", config, "--cache-dir", cache)),
    () => timeCommand([apko, "lock", config, "--output", path.join(work, "big.lock.json")]),
  );
  report(
    `lock, ${count}-package index, warm cache`,
    "pulumi-distroless lock",
    "apko lock",
    warm,
    { kind: "ratio", max: 1 },
    2,
  );
  rmSync(cache, { recursive: true, force: true });
}
