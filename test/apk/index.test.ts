import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { buildSignatureMember, readIndexArchive, writeIndexArchive } from "../../provider/apk/index-archive";
import { emptyIndexEntry, formatIndexText, parseIndexText } from "../../provider/apk/index-text";
import { Keyring, parsePrivateKey } from "../../provider/apk/keys";
import { splitGzipMembers } from "../../provider/archive/gzip-members";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import { isDistrolessError } from "../../provider/util/errors";
import { fixture, needsFixtures } from "../helpers/fixtures";

/** Every signed index among the fixtures, with the key(s) that must verify it. */
const INDEXES: { file: string; keys: string[] }[] = [
  { file: "alpine-v3.16-main-aarch64/APKINDEX.tar.gz", keys: ["alpine-keys"] },
  { file: "alpine-v3.17-main-aarch64/APKINDEX.tar.gz", keys: ["alpine-keys"] },
  { file: "rsa256-signed/APKINDEX.tar.gz", keys: ["rsa256-signed/test-rsa256.rsa.pub"] },
  { file: "local-repo/x86_64/APKINDEX.tar.gz", keys: ["local-repo/melange.rsa.pub"] },
  { file: "local-repo/aarch64/APKINDEX.tar.gz", keys: ["local-repo/melange.rsa.pub"] },
  { file: "local-repo-private/x86_64/APKINDEX.tar.gz", keys: ["local-repo-private/private_pkg_key.rsa.pub"] },
  {
    file: "local-repo-private/aarch64/APKINDEX.tar.gz",
    keys: ["local-repo-private/private_pkg_key.rsa.pub"],
  },
];

const WOLFI_KEYS = [
  "chainguard-0106f58bac88057c2ff5c2829850df492717a876ed700443550353c7ab23f5a0.rsa.pub",
  "chainguard-60912bbc46bfc8ed6bda0b50db3a8a5f3c4344d6bc8549ec9b84d96140b475d1.rsa.pub",
  "chainguard-61cb6bccd1f584b007db7be51ebce2b0530a54cc5a94e7650b570d113d537cf3.rsa.pub",
];

async function ring(paths: string[]): Promise<Keyring> {
  return Keyring.fromPaths(paths.map((p) => fixture(p)));
}

function rejects(promise: Promise<unknown>, pattern: RegExp, subject: string): Promise<void> {
  return assert.rejects(promise, (err: unknown) => {
    assert.ok(isDistrolessError(err, "E_SIGNATURE") || isDistrolessError(err), String(err));
    assert.match((err as Error).message, pattern);
    assert.ok((err as Error).message.includes(subject), `error names the file: ${(err as Error).message}`);
    return true;
  });
}

describe("APKINDEX.tar.gz from the real world", needsFixtures(), () => {
  for (const { file, keys } of INDEXES) {
    test(`${file} parses and verifies with its real key`, async () => {
      const idx = await readIndexArchive(readFileSync(fixture(file)), {
        keyring: await ring(keys),
        subject: file,
      });
      assert.ok(idx.entries.length > 0);
      assert.ok(idx.verifiedBy, "verified");
      for (const e of idx.entries) {
        assert.match(e.checksum, /^Q1[A-Za-z0-9+/]{27}=$/, `${e.name} C:`);
        assert.ok(e.name && e.version && e.arch);
      }
    });

    test(`${file} is rejected under a wrong key, no key, and a flipped byte`, async () => {
      const data = readFileSync(fixture(file));
      const wrong = await ring([
        "alpine-v3.16-main-aarch64/alpine-devel@lists.alpinelinux.org-4a6a0840.rsa.pub",
      ]);
      await rejects(readIndexArchive(data, { keyring: wrong, subject: file }), /untrusted key/, file);
      await rejects(
        readIndexArchive(data, { keyring: new Keyring(), subject: file }),
        /untrusted key .*trusted keys: none/,
        file,
      );
      await rejects(readIndexArchive(data, { subject: file }), /no trusted keys/, file);
      // Flip one byte inside the signed content's deflate stream (past its gzip header): either the
      // gzip CRC or the signature catches it; both are clear errors naming the file.
      const flipped = Buffer.from(data);
      const at = data.length - 40;
      flipped[at] = flipped[at]! ^ 0x01;
      await assert.rejects(
        readIndexArchive(flipped, { keyring: await ring(keys), subject: file }),
        (err: unknown) => {
          assert.ok(isDistrolessError(err), String(err));
          assert.match((err as Error).message, /CRC|corrupt|bad signature|invalid/i);
          assert.ok((err as Error).message.includes(file));
          return true;
        },
      );
    });
  }

  test("a flipped byte in the signature itself is a bad signature", async () => {
    const file = "local-repo/x86_64/APKINDEX.tar.gz";
    const data = readFileSync(fixture(file));
    const [sigMember] = splitGzipMembers(data);
    // Re-build the signature member with one signature bit flipped, using our own writer.
    const [entry] = await readTarBuffer(sigMember!.inflated);
    const sig = Buffer.from(entry!.data);
    sig[10] = sig[10]! ^ 0x80;
    const tampered = Buffer.concat([
      buildSignatureMember([{ algorithm: "sha256", keyName: "melange.rsa.pub", signature: sig }]),
      data.subarray(sigMember!.length),
    ]);
    await rejects(
      readIndexArchive(tampered, { keyring: await ring(["local-repo/melange.rsa.pub"]), subject: file }),
      /bad signature.*melange\.rsa\.pub/,
      file,
    );
  });

  for (const key of WOLFI_KEYS) {
    test(`the three-signature Wolfi index verifies with only ${key.slice(0, 20)}...`, async () => {
      const file = "wolfi-signing/APKINDEX.tar.gz";
      const idx = await readIndexArchive(readFileSync(fixture(file)), {
        keyring: await ring([path.join("wolfi-signing", "keys", key)]),
        subject: file,
      });
      assert.equal(idx.signatures.length, 3);
      assert.equal(idx.verifiedBy?.keyName, key);
    });
  }

  test("our writer reproduces melange's APKINDEX text for local-repo/x86_64", async () => {
    const idx = await readIndexArchive(readFileSync(fixture("local-repo/x86_64/APKINDEX.tar.gz")), {
      allowUntrusted: true,
      keepText: true,
    });
    const unsigned = writeIndexArchive(idx.entries, { description: idx.description });
    const back = await readIndexArchive(unsigned, { allowUntrusted: true, keepText: true });
    assert.ok(idx.text && idx.text.length > 100);
    assert.equal(back.text, idx.text);
    assert.equal(formatIndexText(parseIndexText(idx.text)), idx.text);
  });

  test("an index we sign verifies with our key (SHA-256 and SHA-1) and not with another", async () => {
    const key = parsePrivateKey(readFileSync(fixture("local-repo/melange.rsa")), "melange.rsa.pub");
    const src = await readIndexArchive(readFileSync(fixture("local-repo/aarch64/APKINDEX.tar.gz")), {
      allowUntrusted: true,
    });
    const signed = writeIndexArchive(src.entries, { signingKey: key, algorithms: ["sha256", "sha1"] });
    const back = await readIndexArchive(signed, { keyring: await ring(["local-repo/melange.rsa.pub"]) });
    assert.equal(back.signatures.length, 2);
    assert.deepEqual(
      { keyName: back.verifiedBy?.keyName, algorithm: back.verifiedBy?.algorithm },
      { keyName: "melange.rsa.pub", algorithm: "sha256" },
    );
    assert.deepEqual(back.entries, src.entries);
    await assert.rejects(
      readIndexArchive(signed, { keyring: await ring(["local-repo-private/private_pkg_key.rsa.pub"]) }),
      /untrusted key melange\.rsa\.pub/,
    );
    // Deterministic: the same entries and key give the same bytes.
    assert.deepEqual(
      writeIndexArchive(src.entries, { signingKey: key, algorithms: ["sha256", "sha1"] }),
      signed,
    );
  });

  test("an untrusted index is accepted only when explicitly allowed, with its signers reported", async () => {
    const data = readFileSync(fixture("wolfi-signing/APKINDEX.tar.gz"));
    const idx = await readIndexArchive(data, { keyring: new Keyring(), allowUntrusted: true });
    assert.equal(idx.verifiedBy, undefined);
    assert.equal(idx.signatures.length, 3);
  });
});

describe("large indexes", () => {
  test("an unsigned index of 20,000 records (several MB inflated) reads when untrusted is allowed", async () => {
    const entries = Array.from({ length: 20_000 }, (_, i) => ({
      ...emptyIndexEntry(),
      checksum: `Q1${String(i).padStart(27, "A")}=`,
      name: `pkg${i}`,
      version: "1.0-r0",
      arch: "x86_64",
      description: `package number ${i} with a description long enough to matter`,
      depends: [`so:libdep${i % 97}.so.1`, "musl"],
      // Non-ASCII far into the text (past the first chunks, which decode as ASCII).
      maintainer: i === 15_000 ? "Timo Teräs <timo@example.org> — ☃" : "",
    }));
    const data = writeIndexArchive(entries);
    const idx = await readIndexArchive(data, { allowUntrusted: true });
    assert.equal(idx.entries.length, 20_000);
    assert.deepEqual(idx.entries[19_999]!.depends, [`so:libdep${19_999 % 97}.so.1`, "musl"]);
    assert.equal(idx.entries[15_000]!.maintainer, "Timo Teräs <timo@example.org> — ☃");
    assert.deepEqual(
      idx.entries,
      (await readIndexArchive(data, { allowUntrusted: true, keepText: true })).entries,
    );
    await assert.rejects(readIndexArchive(data, {}), /no trusted keys/);
  });
});

describe("APKINDEX text", () => {
  test("any field order, unknown fields kept", () => {
    const text =
      "P:foo\nV:1.0-r0\nZ:zeta\nC:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nA:x86_64\nD:bar so:libc.so.6\n\n";
    const [e] = parseIndexText(text);
    assert.equal(e!.name, "foo");
    assert.deepEqual(e!.depends, ["bar", "so:libc.so.6"]);
    assert.deepEqual(e!.extra, [["Z", "zeta"]]);
  });

  test("a duplicated record is an error naming both lines", () => {
    const rec = "C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\nP:foo\nV:1.0-r0\n";
    assert.throws(
      () => parseIndexText(`${rec}\n${rec}\n`, "repo/APKINDEX"),
      /repo\/APKINDEX: .*foo-1\.0-r0 twice.*lines 1 and 5/,
    );
  });

  test("malformed lines and missing fields are errors with line numbers", () => {
    assert.throws(() => parseIndexText("C:Q1x\nP:foo\nnonsense\n"), /line 3/);
    assert.throws(() => parseIndexText("P:foo\nV:1\n\n"), /lacks C/);
    assert.throws(() => parseIndexText("C:Q1x\nP:foo\nV:1\nS:big\n"), /S is not a number/);
  });
});
