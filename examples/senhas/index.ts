import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ApkPackage, ApkRepository, DistrolessImage } from "pulumi-distroless";

// senhas (a Python password generator) as an apk built against Wolfi, published into a signed
// repository, and shipped as a distroless multi-arch image. Needs network (packages.wolfi.dev and
// your registry).
//
//   pulumi config set --secret signingKey -- "$(cat melange.rsa)"
//   pulumi config set registry ghcr.io/you
//   pulumi config set --secret registryPassword ...
const config = new pulumi.Config();
const signingKey = config.requireSecret("signingKey");

const senhas = new ApkPackage("senhas", {
  configFile: path.join(__dirname, "melange.yaml"),
  signingKey,
  archs: ["x86_64", "aarch64"],
});

const repo = new ApkRepository("senhas", {
  path: path.join(__dirname, ".distroless", "repo"),
  signingKey,
  packages: [senhas],
});

const image = new DistrolessImage("senhas", {
  configFile: path.join(__dirname, "apko.yaml"),
  repositories: [repo],
  packages: [senhas],
  repository: `${config.require("registry")}/senhas`,
  tags: ["latest", senhas.version],
  registryAuth: {
    username: config.get("registryUser") ?? "token",
    password: config.requireSecret("registryPassword"),
  },
});

export const imageRef = image.imageRef;
export const packages = image.lock;
