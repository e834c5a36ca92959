import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { listReferrers } from "../../provider/registry";
import { cosignTag, simpleSigningPayload } from "../../provider/sign/cosign-objects";
import { generateCosignKeyPair } from "../../provider/sign/keys";
import { verifyBytes } from "../../provider/sign/signer";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { tempDir } from "../helpers/tmp";
import { needsTools, skopeoInspectRaw } from "../registry/readback";
import { cosign, cosignBinary, needsCosign } from "./cosign-tool";

describe("image signatures where cosign looks for them", needsFixtures(), () => {
  let registry: RegistryServer;
  const work = tempDir();
  const password = "a cosign password";
  const pair = generateCosignKeyPair(password);
  const other = generateCosignKeyPair("other");
  const keyFile = path.join(work, "cosign.key");
  const pubFile = path.join(work, "cosign.pub");
  const otherPub = path.join(work, "other.pub");
  writeFileSync(keyFile, pair.privateKeyPem, { mode: 0o600 });
  writeFileSync(pubFile, pair.publicKeyPem);
  writeFileSync(otherPub, other.publicKeyPem);
  let repo: string;
  let indexDigest: string;
  /** `build` of the fixture config pushed to `repo:tag` at an epoch (another epoch, another image). */
  const buildArgs = (tag: string, epoch: number, ...extra: string[]) => [
    "build",
    fixture("configs", "apko", "apko.yaml"),
    "--push",
    `${repo}:${tag}`,
    ...extra,
    "--cache-dir",
    work,
    "--source-date-epoch",
    String(epoch),
    "--json",
  ];

  before(async () => {
    if (needsTools().skip !== undefined) return;
    registry = await startRegistry();
    repo = `${registry.host}/signed/app`;
    const built = await runCli(buildArgs("v1", 0));
    assert.equal(built.code, 0, built.stderr);
    indexDigest = (JSON.parse(built.stdout) as { indexDigest: string }).indexDigest;
  });
  after(async () => {
    await registry?.stop();
  });

  test("sign signs the index and each platform manifest; a re-run writes nothing", needsTools(), async () => {
    const env = { COSIGN_PASSWORD: password };
    const first = await runCli(["sign", `${repo}:v1`, "--key", keyFile, "--json"], { env });
    assert.equal(first.code, 0, first.stderr);
    const [result] = JSON.parse(first.stdout) as {
      signatures: { subject: string; tag: string; written: boolean }[];
    }[];
    assert.equal(result!.signatures.length, 3, "the index and two platform manifests");
    assert.equal(result!.signatures[0]!.subject, indexDigest);
    assert.ok(result!.signatures.every((s) => s.written));

    for (const s of result!.signatures) {
      const manifest = JSON.parse(
        (await skopeoInspectRaw(`${repo}:${cosignTag(s.subject, "sig")}`)).toString(),
      ) as {
        layers: { mediaType: string; annotations: Record<string, string> }[];
      };
      assert.equal(manifest.layers.length, 1);
      assert.equal(manifest.layers[0]!.mediaType, "application/vnd.dev.cosign.simplesigning.v1+json");
      const sig = Buffer.from(
        manifest.layers[0]!.annotations["dev.cosignproject.cosign/signature"]!,
        "base64",
      );
      assert.equal(verifyBytes(pair.publicKeyPem, simpleSigningPayload(repo, s.subject), sig), true);
      assert.equal(verifyBytes(other.publicKeyPem, simpleSigningPayload(repo, s.subject), sig), false);
    }

    const again = await runCli(["sign", `${repo}@${indexDigest}`, "--key", keyFile, "--json"], { env });
    assert.equal(again.code, 0, again.stderr);
    const [second] = JSON.parse(again.stdout) as { signatures: { written: boolean }[] }[];
    assert.ok(
      second!.signatures.every((s) => !s.written),
      "deterministic signatures: nothing new to write",
    );

    const noPassword = await runCli([
      "sign",
      `${repo}:v1`,
      "--key",
      keyFile,
      "--sign-password-env",
      "UNSET_VAR_X",
    ]);
    assert.equal(noPassword.code, 1);
    assert.match(noPassword.stderr, /the environment variable UNSET_VAR_X is not set/);
    assert.ok(!noPassword.stderr.includes(password));
  });

  test(
    "build --push --sign-key attaches SBOMs, signatures and SPDX attestations; a re-run adds nothing",
    needsTools(),
    async () => {
      const env = { COSIGN_PASSWORD: password };
      const args = buildArgs("v2", 0, "--sign-key", keyFile);
      const first = await runCli(args, { env });
      assert.equal(first.code, 0, first.stderr);
      type Out = {
        indexDigest: string;
        attached: {
          sbomDigests: Record<string, string>;
          signatureDigests: Record<string, string>;
          attestationDigests: Record<string, string>;
        }[];
      };
      const out = JSON.parse(first.stdout) as Out;
      const [a] = out.attached;
      assert.deepEqual(Object.keys(a!.sbomDigests).sort(), ["aarch64", "index", "x86_64"]);
      assert.deepEqual(Object.keys(a!.attestationDigests).sort(), ["aarch64", "index", "x86_64"]);
      const sboms = await listReferrers(repo, out.indexDigest, { artifactType: "application/spdx+json" });
      assert.equal(sboms.length, 1, "the index SBOM is a referrer of the index");

      const att = JSON.parse(
        (await skopeoInspectRaw(`${repo}:${cosignTag(out.indexDigest, "att")}`)).toString(),
      ) as {
        layers: { mediaType: string; annotations: Record<string, string> }[];
      };
      assert.equal(att.layers.length, 1);
      assert.equal(att.layers[0]!.mediaType, "application/vnd.dsse.envelope.v1+json");
      assert.equal(att.layers[0]!.annotations.predicateType, "https://spdx.dev/Document");

      const again = JSON.parse((await runCli(args, { env })).stdout) as Out;
      assert.deepEqual(again.attached, out.attached, "the same digests: nothing new was signed or attached");
    },
  );

  test(
    "keygen --cosign writes a key pair that sign takes and the real cosign reads",
    needsCosign(),
    async () => {
      const dir = tempDir();
      const env = { COSIGN_PASSWORD: "kg" };
      const made = await runCli(["keygen", "--cosign", "--out", dir, "--json"], { env });
      assert.equal(made.code, 0, made.stderr);
      const signed = await runCli(
        ["sign", `${repo}:v1`, "--key", path.join(dir, "cosign.key"), "--no-recursive"],
        { env },
      );
      assert.equal(signed.code, 0, signed.stderr);
      const flags = ["--insecure-ignore-tlog=true", "--allow-insecure-registry", "--allow-http-registry"];
      const ok = cosign("verify", "--key", path.join(dir, "cosign.pub"), ...flags, `${repo}@${indexDigest}`);
      assert.equal(ok.code, 0, ok.out);
      // A key pair cosign made signs here too, and every signer's layer is kept.
      const own = spawnSync(
        cosignBinary()!,
        ["generate-key-pair", "--output-key-prefix", path.join(dir, "real")],
        {
          env: { ...process.env, COSIGN_PASSWORD: "real" },
          encoding: "utf8",
        },
      );
      assert.equal(own.status, 0, own.stderr);
      const withReal = await runCli(
        ["sign", `${repo}:v1`, "--key", path.join(dir, "real.key"), "--no-recursive"],
        {
          env: { COSIGN_PASSWORD: "real" },
        },
      );
      assert.equal(withReal.code, 0, withReal.stderr);
      for (const pub of [path.join(dir, "real.pub"), path.join(dir, "cosign.pub"), pubFile]) {
        const v = cosign("verify", "--key", pub, ...flags, `${repo}@${indexDigest}`);
        assert.equal(v.code, 0, `${pub}: ${v.out}`);
      }
    },
  );

  test(
    "the real cosign verifies signatures and attestations; another key does not",
    needsCosign(),
    async () => {
      const flags = ["--insecure-ignore-tlog=true", "--allow-insecure-registry", "--allow-http-registry"];
      const ok = cosign("verify", "--key", pubFile, ...flags, `${repo}@${indexDigest}`);
      assert.equal(ok.code, 0, ok.out);
      const wrongKey = cosign("verify", "--key", otherPub, ...flags, `${repo}@${indexDigest}`);
      assert.notEqual(wrongKey.code, 0, wrongKey.out);
      // A tampered image: the tag moved to another image (another epoch), which nobody signed.
      const moved = await runCli(buildArgs("v1", 1));
      assert.equal(moved.code, 0, moved.stderr);
      const tampered = cosign("verify", "--key", pubFile, ...flags, `${repo}:v1`);
      assert.notEqual(tampered.code, 0, tampered.out);
      assert.match(tampered.out, /no signatures found|no matching signatures/i);
      const attested = cosign(
        "verify-attestation",
        "--key",
        pubFile,
        "--type",
        "spdxjson",
        ...flags,
        `${repo}:v2`,
      );
      assert.equal(attested.code, 0, attested.out);
      const other = cosign(
        "verify-attestation",
        "--key",
        otherPub,
        "--type",
        "spdxjson",
        ...flags,
        `${repo}:v2`,
      );
      assert.notEqual(other.code, 0, other.out);
    },
  );
});
