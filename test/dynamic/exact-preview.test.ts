import * as assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { writeApk } from "../../provider/apk/apk-writer";
import { generateSigningKey, parsePrivateKey } from "../../provider/apk/keys";
import { emptyPkgInfo } from "../../provider/apk/pkginfo";
import { provider } from "../../provider/dynamic/image";
import { EXACT_PREVIEW_AUTO_MAX_BYTES } from "../../provider/dynamic/image-preview";
import { publishPackages } from "../../provider/repository/publish";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";

/*
 * exactPreview at the provider's check and create (the engine path is test/e2e/pulumi-exact-preview):
 * the image's packages come from the shared fixtures' local-repo, a local repository, so they are on
 * this machine and "auto" turns on.
 */

function inputs(work: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceName: "img",
    config: {
      contents: {
        repositories: [fixture("local-repo")],
        keyring: [fixture("local-repo", "melange.rsa.pub")],
        packages: ["pretend-baselayout"],
      },
      archs: ["x86_64"],
    },
    outputPath: path.join(work, "image"),
    cacheDir: path.join(work, "cache"),
    sourceDateEpoch: 1_700_000_000,
    ...extra,
  };
}

describe("DistrolessImage exactPreview (provider)", needsFixtures(), () => {
  test("auto with local packages: check knows digest, platforms and imageRef, writing nothing outside the cache; create delivers that digest", async () => {
    const work = tempDir("pd-exact-");
    const checked = await provider.check({}, inputs(work));
    const digest = String(checked.inputs.digest);
    assert.match(digest, /^sha256:[a-f0-9]{64}$/);
    assert.match(String((checked.inputs.platforms as Record<string, string>).x86_64), /^sha256:/);
    assert.equal(checked.inputs.imageRef, `oci:${path.join(work, "image")}@${digest}`);
    assert.equal(existsSync(path.join(work, "image")), false, "check does not write outputPath");
    const created = await provider.create(checked.inputs);
    assert.equal(created.outs.digest, digest);
    assert.equal(created.outs.imageRef, checked.inputs.imageRef);
  });

  test("create refuses to deliver a digest other than the one check computed, and writes nothing", async () => {
    const work = tempDir("pd-exact-");
    const checked = await provider.check({}, inputs(work));
    // What a non-deterministic build looks like from create: check saw another digest.
    const other = `sha256:${"0".repeat(64)}`;
    await assert.rejects(provider.create({ ...checked.inputs, digest: other }), (err: Error) => {
      assert.match(err.message, /DistrolessImage "img" \(create\)/);
      assert.match(err.message, new RegExp(`built as ${String(checked.inputs.digest)}.*computed ${other}`));
      assert.match(err.message, /not deterministic; nothing was pushed or written/);
      return true;
    });
    assert.equal(existsSync(path.join(work, "image")), false);
  });

  test("exactPreview: false leaves the outputs to create; a value other than a boolean or auto is refused", async () => {
    const work = tempDir("pd-exact-");
    const off = await provider.check({}, inputs(work, { exactPreview: false }));
    for (const k of ["digest", "imageRef", "ref", "platforms"]) assert.equal(off.inputs[k], undefined, k);
    assert.match(String((off.inputs.resolved as { inputDigest: string }).inputDigest), /^sha256:/);
    const bad = await provider.check({}, inputs(work, { exactPreview: "always" }));
    assert.deepEqual(bad.failures, [{ property: "exactPreview", reason: 'must be true, false or "auto"' }]);
  });

  test("a digest given as an input is not taken for a computed one", async () => {
    const work = tempDir("pd-exact-");
    const given = `sha256:${"1".repeat(64)}`;
    const off = await provider.check({}, inputs(work, { exactPreview: false, digest: given, ref: "x" }));
    assert.equal(off.inputs.digest, undefined);
    assert.equal(off.inputs.ref, undefined);
  });
});

describe("DistrolessImage exactPreview: auto's size limit", () => {
  test(`"auto" stays off above ${EXACT_PREVIEW_AUTO_MAX_BYTES} installed bytes; true builds anyway`, async () => {
    const work = tempDir("pd-exact-big-");
    // Zeros: a small apk that installs more than the limit (the limit follows installed bytes).
    const key = await generateSigningKey(2048);
    const signingKey = parsePrivateKey(key.privateKeyPem, "big.rsa.pub");
    writeFileSync(path.join(work, "big.rsa.pub"), key.publicKeyPem);
    const apk = path.join(work, "big-1.0.0-r0.apk");
    await writeApk({
      pkginfo: { ...emptyPkgInfo(), pkgname: "big", pkgver: "1.0.0-r0", arch: "x86_64", licenses: ["MIT"] },
      entries: [
        { path: "usr", type: "directory", mode: 0o755, uid: 0, gid: 0 },
        {
          path: "usr/big",
          type: "file",
          mode: 0o644,
          uid: 0,
          gid: 0,
          content: Buffer.alloc(EXACT_PREVIEW_AUTO_MAX_BYTES + 1024 * 1024),
        },
      ],
      signingKey,
      sourceDateEpoch: 1_700_000_000,
      output: apk,
    });
    await publishPackages({ root: path.join(work, "repo"), packages: [apk], signingKey });
    const big = {
      resourceName: "big",
      config: {
        contents: {
          repositories: [path.join(work, "repo")],
          keyring: [path.join(work, "big.rsa.pub")],
          packages: ["big"],
        },
        archs: ["x86_64"],
      },
      outputPath: path.join(work, "image"),
      cacheDir: path.join(work, "cache"),
    };
    const auto = await provider.check({}, big);
    assert.equal(
      auto.inputs.digest,
      undefined,
      "auto: unknown above the limit, though every package is local",
    );
    const forced = await provider.check({}, { ...big, exactPreview: true });
    assert.match(String(forced.inputs.digest), /^sha256:[a-f0-9]{64}$/);
  });
});
