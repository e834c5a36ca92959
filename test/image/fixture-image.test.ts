import * as assert from "node:assert/strict";
import { existsSync, lstatSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { readTarBuffer } from "../../provider/archive/tar-reader";
import { assembleImage } from "../../provider/image/assemble";
import { loadApkoConfig } from "../../provider/image/config";
import { parseInstalledDb, viewRecord } from "../../provider/image/installed-db";
import { isDistrolessError } from "../../provider/util/errors";
import { runCli } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { tempDir } from "../helpers/tmp";
import { fileText, hasTool, readLayer, resolvedPlans, run } from "./image-helpers";

const config = (name: string) => loadApkoConfig(fixture("configs", "apko", name));

describe("images from the fixture apko configs", () => {
  test(
    "apko.yaml: an OCI layout umoci unpacks and skopeo reads, laid out as apko lays it",
    needsFixtures(),
    async () => {
      const dir = tempDir();
      const cfg = await config("apko.yaml");
      const cache = path.join(dir, "cache");
      const { plans, keys } = await resolvedPlans(cfg, cache);
      const oci = path.join(dir, "oci");
      const result = await assembleImage({
        config: cfg,
        plans,
        keys,
        cacheDir: cache,
        outputDir: oci,
        sbomDir: path.join(dir, "sbom"),
      });
      assert.deepEqual(
        result.platforms.map((p) => [p.arch, p.platform.architecture]),
        [
          ["x86_64", "amd64"],
          ["aarch64", "arm64"],
        ],
      );
      assert.deepEqual(
        result.lockedPackages.x86_64!.map((p) => p.name),
        ["pretend-baselayout", "replayout"],
      );

      const layer = await readLayer(oci, "amd64");
      const names = layer.map((e) => e.header.name);
      // Depth-first, bytewise; no root, no "./", no trailing slash.
      assert.deepEqual(names.slice(0, 6), [
        "dev",
        "dev/console",
        "dev/null",
        "dev/random",
        "dev/urandom",
        "dev/zero",
      ]);
      assert.ok(names.every((n) => !n.startsWith("./") && !n.endsWith("/")));
      const mode = (n: string) => layer.find((e) => e.header.name === n)!.header;
      const expectModes: [string, string, number][] = [
        ["tmp", "directory", 0o1777],
        ["proc", "directory", 0o555],
        ["etc/apk/keys", "directory", 0o755],
        ["usr/lib/apk/exec", "directory", 0o755],
        ["var/cache/misc", "directory", 0o755],
        ["usr/lib/apk/db/lock", "file", 0o600],
        ["usr/lib/apk/db/installed", "file", 0o644],
        ["etc/apk/arch", "file", 0o644],
        ["etc/apko.json", "file", 0o444],
        ["dev/console", "chardev", 0o620],
        ["dev/null", "chardev", 0o666],
        ["lib/apk", "symlink", 0o777],
      ];
      for (const [n, type, m] of expectModes) {
        assert.equal(mode(n).type, type, n);
        assert.equal(mode(n).mode, m, `${n} mode`);
      }
      assert.deepEqual([mode("dev/console").devmajor, mode("dev/console").devminor], [5, 1]);
      assert.deepEqual([mode("dev/urandom").devmajor, mode("dev/urandom").devminor], [1, 9]);
      assert.equal(mode("lib/apk").linkname, "../usr/lib/apk");
      // The apk records 501:20 (its builder's ids); apko's layer has every package entry owned by
      // root, and so does ours (test/conformance checks it against apko; the db keeps 501:20).
      assert.deepEqual([mode("etc/os-release").uid, mode("etc/os-release").gid], [0, 0]);
      assert.deepEqual([mode("etc/apk").uid, mode("etc/apk").gid], [0, 0]);
      assert.equal(fileText(layer, "etc/apk/arch"), "x86_64\n");
      assert.equal(fileText(layer, "etc/apk/world"), "pretend-baselayout=1.0.0-r0\nreplayout=1.0.0-r0\n");
      assert.equal(fileText(layer, "etc/apk/repositories"), "../../local-repo\n");
      assert.equal(
        fileText(layer, "etc/apk/keys/melange.rsa.pub"),
        readFileSync(fixture("local-repo", "melange.rsa.pub"), "utf8"),
      );
      assert.equal(fileText(layer, "etc/passwd"), "");
      assert.match(
        fileText(layer, "etc/os-release")!,
        /^ID=replaces$/m,
        "replayout's os-release replaced pretend-baselayout's",
      );
      const db = parseInstalledDb(fileText(layer, "usr/lib/apk/db/installed")!).map((r) => viewRecord(r));
      assert.deepEqual(
        db.map((p) => [p.name, p.files.map((f) => f.path)]),
        [
          ["pretend-baselayout", ["var/lib/db/sbom/pretend-baselayout-1.0.0-r0.spdx.json"]],
          ["replayout", ["etc/os-release", "var/lib/db/sbom/replayout-1.0.0-r0.spdx.json"]],
        ],
      );

      if (hasTool("skopeo")) {
        const inspected = JSON.parse(run("skopeo", ["inspect", `oci:${oci}:latest`]));
        assert.equal(inspected.Digest, result.indexDigest);
        assert.equal(inspected.Architecture, "amd64");
        assert.deepEqual(inspected.Layers, [result.platforms[0]!.layerDigest]);
        const arm = JSON.parse(run("skopeo", ["inspect", `oci:${oci}:latest-aarch64`]));
        assert.equal(arm.Architecture, "arm64");
        const cfgJson = JSON.parse(run("skopeo", ["inspect", "--config", `oci:${oci}:latest`]));
        assert.deepEqual(cfgJson.config.Entrypoint, ["/bin/sh", "-l"]);
        assert.deepEqual(cfgJson.rootfs.diff_ids, [result.platforms[0]!.diffId]);
      }
      if (hasTool("umoci")) {
        for (const arch of ["x86_64", "aarch64"]) {
          const bundle = path.join(dir, `bundle-${arch}`);
          run("umoci", ["unpack", "--image", `${oci}:latest-${arch}`, bundle]);
          const root = path.join(bundle, "rootfs");
          assert.match(readFileSync(path.join(root, "etc/os-release"), "utf8"), /ID=replaces/);
          assert.equal(readFileSync(path.join(root, "etc/apk/arch"), "utf8"), `${arch}\n`);
          assert.equal(readlinkSync(path.join(root, "lib/apk")), "../usr/lib/apk");
          assert.ok(existsSync(path.join(root, "lib/apk/db/installed")), "lib/apk resolves to the database");
          assert.ok(lstatSync(path.join(root, "dev/null")).isCharacterDevice());
          assert.equal(statSync(path.join(root, "tmp")).mode & 0o7777, 0o1777);
        }
      }
      // SBOM files: one per arch and one for the index, also stored as blobs.
      for (const s of result.sboms) {
        assert.ok(s.file && existsSync(s.file));
        assert.ok(existsSync(path.join(oci, "blobs", "sha256", s.descriptor.digest.slice(7))));
      }
      const sbom = JSON.parse(readFileSync(path.join(dir, "sbom", "sbom-x86_64.spdx.json"), "utf8"));
      assert.equal(sbom.spdxVersion, "SPDX-2.3");
      const purls = sbom.packages.flatMap((p: { externalRefs?: { referenceLocator: string }[] }) =>
        (p.externalRefs ?? []).map((r) => r.referenceLocator),
      );
      assert.ok(purls.includes("pkg:apk/replaces/replayout@1.0.0-r0?arch=x86_64"), purls.join("\n"));
      assert.ok(purls.includes("pkg:apk/replaces/pretend-baselayout@1.0.0-r0?arch=x86_64"));
      const os = sbom.packages.find(
        (p: { primaryPackagePurpose?: string }) => p.primaryPackagePurpose === "OPERATING_SYSTEM",
      );
      assert.deepEqual(
        [os.name, os.versionInfo, os.supplier],
        ["replaces", "1.0.0", "Organization: Replaces"],
      );
      const replayout = sbom.packages.find((p: { name: string }) => p.name === "replayout");
      assert.deepEqual(
        replayout.checksums.map((c: { algorithm: string }) => c.algorithm),
        ["SHA1", "SHA256"],
      );
      assert.equal(sbom.creationInfo.created, "1970-01-01T00:00:00Z");
      assert.ok(sbom.documentNamespace.endsWith(result.platforms[0]!.manifestDigest.slice(7)));
      const rel = (a: string, t: string) =>
        sbom.relationships.filter(
          (r: { spdxElementId: string; relationshipType: string }) =>
            r.spdxElementId === a && r.relationshipType === t,
        );
      assert.equal(rel("SPDXRef-DOCUMENT", "DESCRIBES").length, 1);
      const layerId = sbom.packages[1].SPDXID;
      assert.equal(rel(layerId, "CONTAINS").length, 3, "the OS and both packages");
    },
  );

  test("base_image.apko.yaml: two repositories, two keys", needsFixtures(), async () => {
    const dir = tempDir();
    const cfg = await config("base_image.apko.yaml");
    const cache = path.join(dir, "cache");
    const { plans, keys } = await resolvedPlans(cfg, cache);
    await assembleImage({ config: cfg, plans, keys, cacheDir: cache, outputDir: path.join(dir, "oci") });
    const layer = await readLayer(path.join(dir, "oci"), "arm64");
    assert.equal(fileText(layer, "etc/apk/repositories"), "../../local-repo\n../../local-repo-private\n");
    assert.ok(fileText(layer, "etc/apk/keys/melange.rsa.pub"));
    assert.ok(fileText(layer, "etc/apk/keys/private_pkg_key.rsa.pub"));
    assert.equal(
      fileText(layer, "etc/apk/world"),
      "package-x=1.0.0-r0\npackage-y=1.0.0-r0\npretend-baselayout=1.0.0-r0\n",
    );
    const db = parseInstalledDb(fileText(layer, "usr/lib/apk/db/installed")!).map((r) => viewRecord(r));
    assert.deepEqual(
      db.map((p) => p.name),
      ["pretend-baselayout", "package-x", "package-y"],
    );
  });

  test(
    "apko-certs.yaml: both providers installed and their certificates bundled",
    needsFixtures(),
    async () => {
      const dir = tempDir();
      const cfg = await config("apko-certs.yaml");
      const cache = path.join(dir, "cache");
      const { plans, keys } = await resolvedPlans(cfg, cache);
      await assembleImage({ config: cfg, plans, keys, cacheDir: cache, outputDir: path.join(dir, "oci") });
      const layer = await readLayer(path.join(dir, "oci"), "amd64");
      const bundle = fileText(layer, "etc/ssl/certs/ca-certificates.crt")!;
      assert.equal(bundle.match(/-----BEGIN CERTIFICATE-----/g)!.length, 4);
      for (const c of ["cert-a", "cert-b", "cert-c", "cert-d"]) {
        const pem = fileText(layer, `usr/local/share/ca-certificates/${c}.crt`)!;
        const body = pem.replace(/-----[^-]+-----|\s/g, "");
        assert.ok(bundle.replace(/\s/g, "").includes(body), `${c} is in the bundle`);
      }
    },
  );

  test(
    "a world naming only the virtual custom-ca-certificates fails, naming both providers",
    needsFixtures(),
    async () => {
      const dir = tempDir();
      const file = path.join(dir, "virtual.yaml");
      writeFileSync(
        file,
        [
          "contents:",
          `  keyring: [${fixture("local-repo", "melange.rsa.pub")}]`,
          `  repositories: [${fixture("local-repo")}]`,
          "  packages: [pretend-baselayout, custom-ca-certificates]",
          "archs: [x86_64]",
        ].join("\n"),
      );
      const res = await runCli([
        "build",
        file,
        "--output",
        path.join(dir, "oci"),
        "--cache-dir",
        path.join(dir, "cache"),
      ]);
      assert.equal(res.code, 1);
      assert.match(res.stderr, /custom-ca-certs-1 custom-ca-certs-2/);
      assert.ok(!existsSync(path.join(dir, "oci", "index.json")));
      await assert.rejects(resolvedPlans(await loadApkoConfig(file), path.join(dir, "cache")), (e) =>
        isDistrolessError(e, "E_RESOLVE"),
      );
    },
  );

  test(
    "the build verb prints the index digest and, per arch, manifest and diff_id",
    needsFixtures(),
    async () => {
      const dir = tempDir();
      const args = ["build", fixture("configs", "apko", "apko.yaml"), "--cache-dir", path.join(dir, "cache")];
      const json = await runCli([
        ...args,
        "--output",
        path.join(dir, "oci"),
        "--json",
        "--sbom-path",
        path.join(dir, "sbom"),
      ]);
      assert.equal(json.code, 0, json.stderr);
      const out = JSON.parse(json.stdout);
      assert.match(out.indexDigest, /^sha256:[0-9a-f]{64}$/);
      assert.deepEqual(
        out.platforms.map((p: { arch: string }) => p.arch),
        ["x86_64", "aarch64"],
      );
      for (const p of out.platforms) {
        assert.match(p.manifestDigest, /^sha256:/);
        assert.match(p.diffId, /^sha256:/);
      }
      assert.ok(existsSync(path.join(dir, "sbom", "sbom-index.spdx.json")));
      const human = await runCli([
        ...args,
        "--output",
        path.join(dir, "img.tar"),
        "--arch",
        "x86_64",
        "--tag",
        "example.com/app:v1",
      ]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^index sha256:[0-9a-f]{64}$/m);
      assert.match(human.stdout, /^x86_64 +manifest sha256:[0-9a-f]{64} diff_id sha256:[0-9a-f]{64}$/m);
      if (hasTool("skopeo")) {
        const docker = JSON.parse(run("skopeo", ["inspect", `docker-archive:${path.join(dir, "img.tar")}`]));
        assert.equal(docker.Architecture, "amd64");
        assert.deepEqual(docker.Layers.length, 1);
        const ociArchive = JSON.parse(
          run("skopeo", ["inspect", `oci-archive:${path.join(dir, "img.tar")}:v1`]),
        );
        assert.equal(ociArchive.Architecture, "amd64");
      }
      const archive = await readTarBuffer(readFileSync(path.join(dir, "img.tar")));
      const manifestJson = JSON.parse(
        archive.find((e) => e.header.name === "manifest.json")!.data.toString(),
      );
      assert.deepEqual(manifestJson[0].RepoTags, ["example.com/app:v1"]);
      assert.equal(manifestJson[0].Layers.length, 1);
      // Same inputs through the CLI and through two separate runs: the same image.
      const again = await runCli([...args, "--output", path.join(dir, "oci2"), "--json"]);
      assert.equal(JSON.parse(again.stdout).indexDigest, out.indexDigest);
    },
  );
});
