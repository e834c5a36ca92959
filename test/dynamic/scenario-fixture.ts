import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { writeApk } from "../../provider/apk/apk-writer";
import { generateSigningKey, parsePrivateKey } from "../../provider/apk/keys";
import { emptyPkgInfo } from "../../provider/apk/pkginfo";
import { publishPackages } from "../../provider/repository/publish";
import { type RegistryServer, startRegistry } from "../helpers/registry-server";
import { makeTestCa } from "../helpers/test-ca";

const run = promisify(execFile);

/** melange's substitution (not a JS template): `${{targets.destdir}}`. */
const DESTDIR = `$${"{{targets.destdir}}"}`;

export const USER = "deployer";
export const PASSWORD = "s3cret-registry-password-4f1c";

/**
 * The world the protocol scenarios run in, all real: a TLS registry with htpasswd auth, an
 * "upstream" repository (signed with its own key) holding libgreet, a recipe for the program's own
 * package, and the signing key the program uses (as a secret).
 */
export interface ScenarioWorld {
  work: string;
  registry: RegistryServer;
  caFile: string;
  certDir: string;
  signingKeyPem: string;
  upstreamDir: string;
  upstreamKeyFile: string;
  recipeFile: string;
  /** Publishes libgreet-<version> into the upstream repository (outside the program). */
  publishUpstream(version: string): Promise<void>;
  /** Rewrites the program's recipe so its content changes. */
  writeRecipe(message: string): void;
}

export async function makeWorld(work: string): Promise<ScenarioWorld> {
  const ca = makeTestCa();
  const cert = ca.issue({ commonName: "127.0.0.1", ips: ["127.0.0.1"] });
  const registry = await startRegistry({
    auth: { kind: "htpasswd", users: { [USER]: PASSWORD } },
    tls: { certPem: cert.certPem, keyPem: cert.keyPem },
  });
  const certDir = path.join(work, "certs");
  mkdirSync(certDir, { recursive: true });
  const caFile = path.join(certDir, "ca.crt");
  writeFileSync(caFile, ca.certPem);

  const program = await generateSigningKey(2048);
  const upstream = await generateSigningKey(2048);
  const upstreamDir = path.join(work, "upstream");
  const upstreamKeyFile = path.join(work, "upstream.rsa.pub");
  writeFileSync(upstreamKeyFile, upstream.publicKeyPem);
  const upstreamKey = parsePrivateKey(upstream.privateKeyPem, "upstream.rsa.pub");

  const publishUpstream = async (version: string) => {
    const out = path.join(work, "upstream-build", `libgreet-${version}.apk`);
    await writeApk({
      pkginfo: {
        ...emptyPkgInfo(),
        pkgname: "libgreet",
        pkgver: `${version}-r0`,
        arch: "x86_64",
        licenses: ["MIT"],
      },
      entries: [
        { path: "usr", type: "directory", mode: 0o755, uid: 0, gid: 0 },
        { path: "usr/share", type: "directory", mode: 0o755, uid: 0, gid: 0 },
        {
          path: "usr/share/greeting",
          type: "file",
          mode: 0o644,
          uid: 0,
          gid: 0,
          content: Buffer.from(`hello from libgreet ${version}\n`),
        },
      ],
      signingKey: upstreamKey,
      sourceDateEpoch: 1_700_000_000,
      output: out,
    });
    await publishPackages({ root: upstreamDir, packages: [out], signingKey: upstreamKey });
  };
  await publishUpstream("1.0.0");

  const appDir = path.join(work, "app");
  mkdirSync(appDir, { recursive: true });
  const recipeFile = path.join(appDir, "melange.yaml");
  const writeRecipe = (message: string) => {
    writeFileSync(
      recipeFile,
      [
        "package:",
        "  name: greeter-app",
        "  version: 1.0.0",
        "  epoch: 0",
        "  description: the program's own package",
        "  dependencies:",
        "    runtime:",
        "      - libgreet",
        "pipeline:",
        "  - runs: |",
        `      mkdir -p "${DESTDIR}/usr/bin"`,
        `      printf '#!/bin/sh\\necho ${message}\\n' > "${DESTDIR}/usr/bin/greeter"`,
        `      chmod 0755 "${DESTDIR}/usr/bin/greeter"`,
        "",
      ].join("\n"),
    );
  };
  writeRecipe("v1");
  return {
    work,
    registry,
    caFile,
    certDir,
    signingKeyPem: program.privateKeyPem,
    upstreamDir,
    upstreamKeyFile,
    recipeFile,
    publishUpstream,
    writeRecipe,
  };
}

/** `skopeo delete`: removes a manifest from the registry, as someone cleaning it up would. */
export async function deleteFromRegistry(world: ScenarioWorld, reference: string): Promise<void> {
  await run("skopeo", [
    "delete",
    `--cert-dir=${world.certDir}`,
    `--creds=${USER}:${PASSWORD}`,
    `docker://${reference}`,
  ]);
}
