import * as assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { beforeEach, describe, test } from "node:test";
import { Keyring } from "../../provider/apk/keys";
import { RepositoryClient } from "../../provider/repository/client";
import { clearIndexMemo } from "../../provider/repository/index-loader";
import { parseRepositorySource } from "../../provider/repository/source";
import { isDistrolessError } from "../../provider/util/errors";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { testKey, writeRepo } from "../resolve/test-repo";

/** A local repository directory holding one fixture index under `<arch>/`. */
async function repoWith(indexFile: string, arch: string): Promise<string> {
  const root = tempDir("pd-trust-");
  await fsp.mkdir(path.join(root, arch), { recursive: true });
  await fsp.copyFile(indexFile, path.join(root, arch, "APKINDEX.tar.gz"));
  return root;
}

function warnings(): { warn: (m: string) => void; info: () => void; lines: string[] } {
  const lines: string[] = [];
  return { warn: (m) => lines.push(m), info: () => {}, lines };
}

describe("index signatures", needsFixtures(), () => {
  beforeEach(() => clearIndexMemo());

  test("an index signed by an untrusted key is refused, naming the repository and the signing key", async () => {
    const root = await repoWith(fixture("local-repo-private", "x86_64", "APKINDEX.tar.gz"), "x86_64");
    const keyring = await Keyring.fromPaths([fixture("local-repo", "melange.rsa.pub")]);
    const client = new RepositoryClient({ cacheDir: tempDir(), keyring });
    await assert.rejects(client.loadIndex(parseRepositorySource(root), "x86_64"), (err: unknown) => {
      assert.ok(isDistrolessError(err, "E_SIGNATURE"));
      assert.match(err.message, new RegExp(`the index of repository ${root} for x86_64 is not trusted`));
      assert.match(
        err.message,
        /signed by untrusted key private_pkg_key\.rsa\.pub; trusted keys: melange\.rsa\.pub/,
      );
      return true;
    });
  });

  test("allowing untrusted indexes loads it with a warning, never silently", async () => {
    const root = await repoWith(fixture("local-repo-private", "x86_64", "APKINDEX.tar.gz"), "x86_64");
    const progress = warnings();
    const client = new RepositoryClient({ cacheDir: tempDir(), allowUntrusted: true, progress });
    const loaded = await client.loadIndex(parseRepositorySource(root), "x86_64");
    assert.equal(loaded.verifiedBy, undefined);
    assert.deepEqual(loaded.signatures, [{ algorithm: "sha1", keyName: "private_pkg_key.rsa.pub" }]);
    assert.equal(progress.lines.length, 1);
    assert.match(
      progress.lines[0]!,
      /untrusted index \(signed with private_pkg_key\.rsa\.pub, but no trusted keys were given\)/,
    );
  });

  test("an unsigned index is refused as such", async () => {
    const root = tempDir();
    await writeRepo(root, "x86_64", [{ name: "a", version: "1-r0" }]);
    const key = await testKey();
    const client = new RepositoryClient({
      cacheDir: tempDir(),
      keyring: await Keyring.fromPaths([key.publicKeyFile]),
    });
    await assert.rejects(
      client.loadIndex(parseRepositorySource(root), "x86_64"),
      /is not trusted: it carries no signature/,
    );
  });

  test("a modified index fails its signature", async () => {
    const root = tempDir();
    const cacheDir = tempDir();
    const key = await testKey();
    const file = await writeRepo(root, "x86_64", [{ name: "a", version: "1-r0" }], key);
    const bytes = await fsp.readFile(file);
    bytes[bytes.length - 12] ^= 0x01; // inside the signed content's gzip trailer region
    await fsp.writeFile(file, bytes);
    const client = new RepositoryClient({ cacheDir, keyring: await Keyring.fromPaths([key.publicKeyFile]) });
    await assert.rejects(client.loadIndex(parseRepositorySource(root), "x86_64"), (err: unknown) => {
      assert.ok(isDistrolessError(err));
      assert.ok(["E_SIGNATURE", "E_CHECKSUM", "E_FORMAT"].includes(err.code), err.message);
      return true;
    });
  });

  test("Wolfi's three signatures: one trusted key is enough; SHA-1 (Alpine) and SHA-256 (abuild) both verify", async () => {
    const wolfi = await repoWith(fixture("wolfi-signing", "APKINDEX.tar.gz"), "x86_64");
    const keys = await fsp.readdir(fixture("wolfi-signing", "keys"));
    const one = await Keyring.fromPaths([fixture("wolfi-signing", "keys", keys.sort()[1]!)]);
    const loaded = await new RepositoryClient({ cacheDir: tempDir(), keyring: one }).loadIndex(
      parseRepositorySource(wolfi),
      "x86_64",
    );
    assert.equal(loaded.signatures.length, 3);
    assert.equal(loaded.verifiedBy?.keyName, keys.sort()[1]);

    const alpine = await repoWith(fixture("alpine-v3.16-main-aarch64", "APKINDEX.tar.gz"), "x86_64");
    const alpineKeys = await Keyring.fromPaths([fixture("alpine-keys")]);
    const a = await new RepositoryClient({ cacheDir: tempDir(), keyring: alpineKeys }).loadIndex(
      parseRepositorySource(alpine),
      "x86_64",
    );
    assert.deepEqual(
      [a.verifiedBy?.keyName, a.verifiedBy?.algorithm],
      ["alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub", "sha1"],
    );
    assert.equal(a.entries.length, 4929);

    const rsa256 = await repoWith(fixture("rsa256-signed", "APKINDEX.tar.gz"), "aarch64");
    const r = await new RepositoryClient({
      cacheDir: tempDir(),
      keyring: await Keyring.fromPaths([fixture("rsa256-signed", "test-rsa256.rsa.pub")]),
    }).loadIndex(parseRepositorySource(rsa256), "aarch64");
    assert.equal(r.verifiedBy?.algorithm, "sha256");
  });

  test("a remembered verification does not outlive the key: a reused parse is checked against the current keyring", async () => {
    const root = await repoWith(fixture("local-repo", "x86_64", "APKINDEX.tar.gz"), "x86_64");
    const cacheDir = tempDir();
    const source = parseRepositorySource(root);
    const trusted = await Keyring.fromPaths([fixture("local-repo", "melange.rsa.pub")]);
    await new RepositoryClient({ cacheDir, keyring: trusted }).loadIndex(source, "x86_64");
    // Same key name, different key: the cached verification must not count.
    const impostor = new Keyring().add(
      "melange.rsa.pub",
      await fsp.readFile(fixture("local-repo-private", "private_pkg_key.rsa.pub")),
    );
    await assert.rejects(
      new RepositoryClient({ cacheDir, keyring: impostor }).loadIndex(source, "x86_64"),
      (err: unknown) => {
        assert.ok(isDistrolessError(err, "E_SIGNATURE"));
        assert.match(err.message, /bad signature/);
        return true;
      },
    );
    const again = await new RepositoryClient({ cacheDir, keyring: trusted }).loadIndex(source, "x86_64");
    assert.equal(again.parse, "memory");
    assert.equal(again.verifiedBy?.keyName, "melange.rsa.pub");
  });
});
