import * as assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { UNKNOWN } from "../../provider/dynamic/unknowns";
import { imageExists } from "../../provider/registry";
import { runProcess } from "../helpers/cli";
import { fixture, needsFixtures } from "../helpers/fixtures";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { toolSkip } from "../helpers/tools";
import { needsTools } from "../registry/readback";
import type { PlannedResource } from "./preview-outputs";
import { blobsInStorage } from "./pulumi-checks";
import { createProgram, hookTempDir, type PulumiProgram, removeTempDirs } from "./pulumi-project";

/*
 * exactPreview through the real CLI and engine: the image's packages come from a repository served
 * over HTTP (the shared fixtures' local-repo), so the package cache starts cold. A cold preview
 * leaves the digest unknown; once `up` has fetched the packages, a preview of a change shows the
 * concrete new digest, ref and per-arch digests (pushing nothing), and the next `up` pushes exactly
 * that digest; `exactPreview: false` keeps it unknown.
 */

const PROGRAM = (repoUrl: string, keyFile: string, registryHost: string, cacheDir: string) => `
import * as pulumi from "@pulumi/pulumi";
import { DistrolessImage } from "pulumi-distroless";

const cfg = new pulumi.Config();
const exact = cfg.get("exactPreview");
const image = new DistrolessImage("app", {
  config: {
    contents: { repositories: [${JSON.stringify(repoUrl)}], keyring: [${JSON.stringify(keyFile)}], packages: ["pretend-baselayout"] },
    archs: ["x86_64"],
  },
  annotations: { greeting: cfg.get("greeting") ?? "v1" },
  repository: ${JSON.stringify(`${registryHost}/team/preview`)},
  tags: ["v1"],
  cacheDir: ${JSON.stringify(cacheDir)},
  sourceDateEpoch: 1700000000,
  ...(exact === undefined ? {} : { exactPreview: exact === "auto" ? ("auto" as const) : exact === "true" }),
});
export const digest = image.digest;
export const ref = image.ref;
export const platforms = image.platforms;
`;

/** The fixture repository's x86_64 directory over HTTP: packages have to be fetched into the cache. */
async function serveRepository(): Promise<{ url: string; server: http.Server }> {
  const root = fixture("local-repo");
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/+/, "");
    const file = path.join(root, rel);
    if (!file.startsWith(`${root}${path.sep}`) || !existsSync(file) || rel.split("/").length !== 2) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function known(v: unknown): boolean {
  return v !== undefined && v !== null && v !== UNKNOWN;
}

describe("real engine: exactPreview shows the image's digest in preview", {
  ...toolSkip("pulumi"),
  ...needsTools(),
  ...needsFixtures(),
}, () => {
  let registry: RegistryServer;
  let repo: { url: string; server: http.Server };
  let program: PulumiProgram;
  let cacheDir: string;
  let firstDigest: string;
  const repository = () => `${registry.host}/team/preview`;

  /** `pulumi preview` of `stack`, with the engine's planned outputs of the image. */
  async function preview(stack = program.stack): Promise<PlannedResource> {
    const runner = path.join(__dirname, "preview-outputs.js");
    const r = await runProcess(
      process.execPath,
      [runner, "--dir", program.dir, "--program", path.join(program.dir, "index.js"), "--stack", stack],
      { cwd: program.dir, env: program.env },
    );
    program.transcript.text += r.stdout + r.stderr;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const line = r.stdout.split("\n").find((l) => l.startsWith("planned: "));
    assert.ok(line, r.stdout);
    const planned = JSON.parse(line.slice("planned: ".length)) as Record<string, PlannedResource>;
    assert.ok(planned.app, `the image is in the plan: ${line}`);
    return planned.app;
  }

  async function config(key: string, value: string): Promise<void> {
    const r = await program.pulumi(["config", "set", "--stack", program.stack, key, value]);
    assert.equal(r.code, 0, r.stderr);
  }

  before(async () => {
    registry = await startRegistry();
    repo = await serveRepository();
    cacheDir = path.join(hookTempDir("pd-exact-cache-"), "cache");
    program = await createProgram({
      name: "exact",
      files: {
        "index.ts": PROGRAM(repo.url, fixture("local-repo", "melange.rsa.pub"), registry.host, cacheDir),
      },
    });
  });

  after(async () => {
    await registry?.stop();
    await new Promise((resolve) => repo?.server.close(resolve));
    removeTempDirs();
  });

  test("cold cache: preview leaves the digest unknown and fetches, pushes and writes nothing", async () => {
    const planned = await preview();
    assert.equal(planned.op, "create");
    for (const k of ["digest", "imageRef", "ref", "platforms"]) {
      assert.ok(!known(planned.outputs[k]), `${k} is unknown in a cold preview: ${planned.outputs[k]}`);
    }
    const packages = path.join(cacheDir, "packages");
    assert.deepEqual(existsSync(packages) ? readdirSync(packages) : [], [], "no package fetched");
    assert.deepEqual(blobsInStorage(registry), [], "nothing pushed");
  });

  test("warm cache: a change's preview shows the new digest, ref and platforms; up pushes exactly that", async () => {
    const first = await program.op("up");
    assert.equal(first.code, 0, first.stdout + first.stderr);
    firstDigest = String(first.result?.outputs.digest);
    assert.match(firstDigest, /^sha256:[a-f0-9]{64}$/);

    await config("greeting", "v2");
    const planned = await preview();
    assert.equal(planned.op, "update");
    const digest = String(planned.outputs.digest);
    assert.match(digest, /^sha256:[a-f0-9]{64}$/, "the digest is concrete in preview");
    assert.notEqual(digest, firstDigest, "a new image");
    assert.equal(planned.outputs.imageRef, `${repository()}@${digest}`);
    assert.equal(planned.outputs.ref, `${repository()}:v1@${digest}`);
    const platform = (planned.outputs.platforms as Record<string, string>).x86_64;
    assert.match(String(platform), /^sha256:[a-f0-9]{64}$/);
    assert.equal(
      await imageExists(repository(), digest, {}),
      false,
      "preview pushed nothing: the registry does not have the previewed image",
    );

    const up = await program.op("up");
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.deepEqual(up.result?.changes, { update: 1, same: 1 });
    assert.equal(up.result?.outputs.digest, digest, "up pushed the digest preview showed");
    assert.equal(up.result?.outputs.ref, planned.outputs.ref);
    assert.deepEqual(up.result?.outputs.platforms, planned.outputs.platforms);
    assert.equal(await imageExists(repository(), digest, {}), true);
  });

  test("a new stack's first preview (create) shows the digest its up will push, from the warm cache", async () => {
    // Its config has no greeting: the same image the first up pushed.
    const planned = await preview("warm");
    assert.equal(planned.op, "create");
    assert.equal(planned.outputs.digest, firstDigest);
    assert.equal(planned.outputs.ref, `${repository()}:v1@${firstDigest}`);
  });

  test("exactPreview: false keeps the digest unknown", async () => {
    await config("exactPreview", "false");
    await config("greeting", "v3");
    const planned = await preview();
    assert.equal(planned.op, "update");
    for (const k of ["digest", "imageRef", "ref", "platforms"]) {
      assert.ok(
        !known(planned.outputs[k]),
        `${k} is unknown with exactPreview: false: ${planned.outputs[k]}`,
      );
    }
  });
});
