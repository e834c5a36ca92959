import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ApkPackage, ApkRepository, DistrolessImage } from "pulumi-distroless";

// The offline demo: a busybox package made from the host's static busybox, a `hello` package built
// in the bubblewrap sandbox against it, two signed local repositories, and an image pushed to a
// local registry (scripts/demo.sh starts one on 127.0.0.1).
// The recipes and apko.yaml live beside this file; compiled (dist/examples/demo), look in the source tree.
const here = [__dirname, path.resolve(__dirname, "..", "..", "..", "examples", "demo")].find((d) =>
  fs.existsSync(path.join(d, "apko.yaml")),
)!;
const config = new pulumi.Config();
const work = path.resolve(config.get("workDir") ?? ".cache/demo");
const registry = config.get("registry") ?? "127.0.0.1:5115";
// An optional upstream repository (a path or URL) and its public key file: its packages float, so
// a newer busybox published there, outside this program, is a visible change of the image's lock in
// `pulumi preview --diff`.
const upstream = config.get("upstream");
const upstreamKey = config.get("upstreamKey");
const signingKey =
  config.getSecret("signingKey") ?? pulumi.secret(fs.readFileSync(path.join(work, "demo.rsa"), "utf8"));
// The key's apk name as melange and the CLI give it: the key file's name plus `.pub`.
const keyName = "demo.rsa.pub";

const busybox = new ApkPackage("busybox", {
  configFile: path.join(here, "busybox", "melange.yaml"),
  signingKey,
  keyName,
  runner: "host",
  archs: ["x86_64"],
  outDir: path.join(work, "packages", "busybox"),
});

const base = new ApkRepository("base", {
  path: path.join(work, "repos", "base"),
  signingKey,
  keyName,
  packages: [busybox],
  description: "demo base packages",
});

const hello = new ApkPackage("hello", {
  configFile: path.join(here, "hello", "melange.yaml"),
  signingKey,
  keyName,
  runner: "bubblewrap",
  archs: ["x86_64"],
  repositories: [base.url],
  keyring: [base.reference.apply((r) => r.keys[0]!)],
  outDir: path.join(work, "packages", "hello"),
});

const apps = new ApkRepository("apps", {
  path: path.join(work, "repos", "apps"),
  signingKey,
  keyName,
  packages: [hello],
  description: "demo applications",
});

const image = new DistrolessImage("hello", {
  configFile: path.join(here, "apko.yaml"),
  repositories: [base, apps, ...(upstream ? [upstream] : [])],
  keyring: upstreamKey ? [upstreamKey] : [],
  // hello is pinned to exactly the version built; busybox (apko.yaml) floats: the newest in base or
  // upstream.
  packages: [hello],
  repository: `${registry}/demo/hello`,
  tags: ["latest"],
});

export const helloRef = hello.ref;
export const imageRef = image.imageRef;
export const digest = image.digest;
export const lock = image.lock;
