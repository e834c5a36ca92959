import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { rng } from "../../bench/_common";
import { readApkHead, scanApkData, verifyApkSignature } from "../../provider/apk/apk-reader";
import { writeApk } from "../../provider/apk/apk-writer";
import { readIndexArchive, writeIndexArchive } from "../../provider/apk/index-archive";
import { indexEntryFromApk } from "../../provider/apk/index-entry";
import { Keyring, type SigningKey } from "../../provider/apk/keys";
import { inflateMember } from "../../provider/archive/gzip-members";
import { BLOCK } from "../../provider/archive/tar-header";
import { isDistrolessError } from "../../provider/util/errors";
import { newHash } from "../../provider/util/hash";
import { fixHeaderChecksum } from "../helpers/hostile-apk";
import { dir, file, pkgInfo, symlink } from "../image/image-helpers";

/**
 * The fuzz harness shared by test/hostile/fuzz.test.ts (a bounded run in the suite) and
 * bench/fuzz.ts (many more, from a seed): mutate a valid signed apk and a signed APKINDEX (byte
 * flips, truncation, gzip and tar header edits, name edits, appended bytes) and classify what the
 * readers make of each mutant. The rule: a mutant is refused with a DistrolessError, or it yields
 * exactly the original content. Anything else (another exception, different content accepted, a
 * hang) is a bug in the code.
 */

export type Outcome = "refused" | "identical" | "bug:crash" | "bug:accepted-different" | "bug:hang";

export interface CaseResult {
  outcome: Outcome;
  /** The error code when refused; the error or difference when a bug. */
  detail: string;
  mutation: string;
}

export interface Corpus {
  dir: string;
  apk: Buffer;
  apkSnapshot: string;
  index: Buffer;
  indexSnapshot: string;
  keyring: Keyring;
}

/** A signed apk (files, directory, symlink, a datahash) and a signed index listing it. */
export async function makeCorpus(dirPath: string, key: SigningKey): Promise<Corpus> {
  const apkFile = path.join(dirPath, "fuzz-1.0-r0.apk");
  const body = Buffer.alloc(3000);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7919) % 251;
  await writeApk({
    pkginfo: pkgInfo("fuzz", "1.0-r0", "x86_64", { depends: ["so:libc.so.6"] }),
    entries: [
      dir("usr"),
      dir("usr/bin"),
      file("usr/bin/tool", body, 0o755),
      file("usr/bin/motd", "hello\n"),
      symlink("usr/bin/alias", "tool"),
    ],
    output: apkFile,
    signingKey: key,
    sourceDateEpoch: 1700000000,
  });
  const keyFile = path.join(dirPath, key.keyName);
  writeFileSync(keyFile, key.publicKeyPem);
  const keyring = await Keyring.fromPaths([keyFile]);
  const index = writeIndexArchive([indexEntryFromApk(await readApkHead(apkFile))], {
    signingKey: key,
    description: "fuzz",
  });
  const apk = readFileSync(apkFile);
  return {
    dir: dirPath,
    apk,
    apkSnapshot: await verifiedApk(apkFile, keyring),
    index,
    indexSnapshot: await verifiedIndex(index, keyring),
    keyring,
  };
}

/** Everything a verified read of an apk yields: metadata, control names, every entry and body hash. */
export async function verifiedApk(file: string, keyring: Keyring): Promise<string> {
  const head = await readApkHead(file);
  await verifyApkSignature(head, keyring);
  const entries: unknown[] = [];
  await scanApkData(head, async (e, body) => {
    const h = newHash("sha1");
    for await (const c of body) h.update(c);
    const { name, type, mode, uid, gid, size, linkname } = e.header;
    entries.push({ path: e.path, name, type, mode, uid, gid, size, linkname, sha1: h.digest("hex") });
  });
  return JSON.stringify({ pkginfo: head.pkginfo, control: head.control.map((c) => c.name), entries });
}

export async function verifiedIndex(data: Buffer, keyring: Keyring): Promise<string> {
  const idx = await readIndexArchive(data, { keyring, subject: "fuzz/APKINDEX.tar.gz" });
  return JSON.stringify({ description: idx.description, entries: idx.entries });
}

/** Where each gzip member of an apk or index starts (located the way the readers locate them). */
function gzipMembers(buf: Buffer): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const m = inflateMember(buf, offset, 64 << 20);
    if (!m) break;
    out.push({ offset, length: m.length });
    offset += m.length;
  }
  return out;
}

/** Edits the inflated tar of one member with `edit`, then re-deflates it in place. */
function editTar(
  buf: Buffer,
  rand: () => number,
  edit: (tar: Buffer) => string,
): { bytes: Buffer; how: string } {
  const members = gzipMembers(buf);
  if (members.length === 0) return { bytes: buf, how: "tar edit (no member)" };
  const m = members[Math.floor(rand() * members.length)]!;
  const tar = zlib.gunzipSync(buf.subarray(m.offset, m.offset + m.length));
  const how = edit(tar);
  const bytes = Buffer.concat([
    buf.subarray(0, m.offset),
    zlib.gzipSync(tar),
    buf.subarray(m.offset + m.length),
  ]);
  return { bytes, how: `member@${m.offset}: ${how}` };
}

/** Offsets of the tar header blocks in an inflated tar (walks sizes; stops at anything odd). */
function headerOffsets(tar: Buffer): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos + BLOCK <= tar.length && tar[pos] !== 0) {
    out.push(pos);
    const size = Number.parseInt(tar.toString("latin1", pos + 124, pos + 136).replace(/\0.*$/, ""), 8) || 0;
    pos += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}

const NAME_EDITS: [string, (name: Buffer) => Buffer][] = [
  ["newline", (n) => Buffer.concat([n, Buffer.from("\nR:shadow")])],
  ["dot-dot", () => Buffer.from("../../etc/shadow")],
  ["absolute", () => Buffer.from("/etc/shadow")],
  ["latin1", (n) => Buffer.concat([n, Buffer.from([0xe9])])],
  ["escape", (n) => Buffer.concat([n, Buffer.from("\u001b[2J")])],
  ["empty", () => Buffer.alloc(0)],
  ["signature-like", () => Buffer.from(".SIGN.RSA.evil.rsa.pub")],
];

/** One random mutation of `buf`, described. */
export function mutate(buf: Buffer, rand: () => number): { bytes: Buffer; how: string } {
  const pick = (n: number) => Math.floor(rand() * n);
  const kind = pick(9);
  const out = Buffer.from(buf);
  switch (kind) {
    case 0:
    case 1: {
      const flips = 1 + pick(4);
      const at: number[] = [];
      for (let i = 0; i < flips; i++) {
        const o = pick(out.length);
        out[o] = out[o]! ^ (1 + pick(255));
        at.push(o);
      }
      return { bytes: out, how: `flip ${at.join(",")}` };
    }
    case 2: {
      const len = pick(out.length);
      return { bytes: out.subarray(0, len), how: `truncate ${len}` };
    }
    case 3: {
      // gzip member header: flags, mtime, xfl, os, or the magic/method.
      const members = gzipMembers(buf);
      const m = members[pick(Math.max(1, members.length))] ?? { offset: 0, length: 0 };
      const field = pick(10);
      out[m.offset + field] = pick(256);
      return { bytes: out, how: `gzip header @${m.offset}+${field}` };
    }
    case 4:
      return editTar(buf, rand, (tar) => {
        const heads = headerOffsets(tar);
        if (heads.length === 0) return "no header";
        const h = heads[pick(heads.length)]!;
        const field = [124, 100, 156, 108, 157, 345][pick(6)]!; // size, mode, type, uid, linkname, prefix
        tar[h + field] = [0x37, 0x30, 0x20, 0x00, 0x78, 0x35, 0xff][pick(7)]!;
        fixHeaderChecksum(tar, h);
        return `tar header @${h}+${field} (checksum fixed)`;
      });
    case 5:
      return editTar(buf, rand, (tar) => {
        const heads = headerOffsets(tar);
        if (heads.length === 0) return "no header";
        const h = heads[pick(heads.length)]!;
        const [what, edit] = NAME_EDITS[pick(NAME_EDITS.length)]!;
        const end = tar.indexOf(0, h);
        const name = tar.subarray(h, Math.min(end < 0 ? h + 100 : end, h + 100));
        const next = edit(Buffer.from(name)).subarray(0, 100);
        tar.fill(0, h, h + 100);
        next.copy(tar, h);
        fixHeaderChecksum(tar, h);
        return `name ${what} @${h}`;
      });
    case 6:
      return editTar(buf, rand, (tar) => {
        const o = pick(tar.length);
        tar[o] = tar[o]! ^ (1 + pick(255));
        return `inflated byte ${o}`;
      });
    case 7: {
      const extra = Buffer.alloc(1 + pick(1024));
      for (let i = 0; i < extra.length; i++) extra[i] = pick(256);
      if (extra.length >= 4 && pick(2) === 0) extra.set([0x1f, 0x8b, 0x08, 0x00]);
      return { bytes: Buffer.concat([out, extra]), how: `append ${extra.length}` };
    }
    default: {
      // Swap two members (e.g. signature after control), or drop one.
      const members = gzipMembers(buf);
      if (members.length < 2) return { bytes: out, how: "reorder (one member)" };
      const parts = members.map((m) => buf.subarray(m.offset, m.offset + m.length));
      const i = pick(parts.length);
      if (pick(2) === 0) parts.splice(i, 1);
      else parts.push(parts.splice(i, 1)[0]!);
      return { bytes: Buffer.concat(parts), how: `members reordered/dropped (${i})` };
    }
  }
}

const HANG_MS = 30_000;

async function classify(mutation: string, run: () => Promise<string>, expected: string): Promise<CaseResult> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<"hang">((resolve) => {
    timer = setTimeout(() => resolve("hang"), HANG_MS);
  });
  try {
    const got = await Promise.race([run(), hang]);
    if (got === "hang") return { outcome: "bug:hang", detail: `no answer in ${HANG_MS} ms`, mutation };
    if (got === expected) return { outcome: "identical", detail: "", mutation };
    return { outcome: "bug:accepted-different", detail: got.slice(0, 500), mutation };
  } catch (err) {
    if (isDistrolessError(err)) return { outcome: "refused", detail: err.code, mutation };
    const e = err as Error;
    return { outcome: "bug:crash", detail: `${e?.name}: ${e?.message}\n${e?.stack ?? ""}`, mutation };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Parses a mutant without trust (inspect's path: no signature, datahash not enforced): any outcome
 * is fine except an exception that is not a DistrolessError, or a hang.
 */
async function unverifiedApk(file: string): Promise<string> {
  const head = await readApkHead(file);
  await scanApkData(head, undefined, { enforceDatahash: false });
  return "parsed";
}

/** Runs one mutant of the apk through the verified read and the unverified parse. */
export async function apkCase(corpus: Corpus, rand: () => number, n: number): Promise<CaseResult[]> {
  const { bytes, how } = mutate(corpus.apk, rand);
  const f = path.join(corpus.dir, `mutant-${n % 4}.apk`);
  writeFileSync(f, bytes);
  const verified = await classify(`apk ${how}`, () => verifiedApk(f, corpus.keyring), corpus.apkSnapshot);
  const loose = await classify(`apk (unverified) ${how}`, () => unverifiedApk(f), "parsed");
  // For the unverified parse, a different but successful parse is expected; only crashes count.
  if (loose.outcome === "bug:accepted-different") loose.outcome = "identical";
  return [verified, loose];
}

export async function indexCase(corpus: Corpus, rand: () => number): Promise<CaseResult[]> {
  const { bytes, how } = mutate(corpus.index, rand);
  const verified = await classify(
    `index ${how}`,
    () => verifiedIndex(bytes, corpus.keyring),
    corpus.indexSnapshot,
  );
  const loose = await classify(
    `index (unverified) ${how}`,
    async () => {
      await readIndexArchive(bytes, { allowUntrusted: true, subject: "fuzz/APKINDEX.tar.gz" });
      return "parsed";
    },
    "parsed",
  );
  if (loose.outcome === "bug:accepted-different") loose.outcome = "identical";
  return [verified, loose];
}

/** Runs `count` apk mutants and `count` index mutants from `seed`; returns every result. */
export async function runFuzz(corpus: Corpus, seed: number, count: number): Promise<CaseResult[]> {
  const rand = rng(seed);
  const results: CaseResult[] = [];
  for (let i = 0; i < count; i++) {
    results.push(...(await apkCase(corpus, rand, i)));
    results.push(...(await indexCase(corpus, rand)));
  }
  return results;
}
