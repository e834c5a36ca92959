import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { AssembleResult } from "../../provider/image/assemble";
import { file, fileText, pkgInfo, type TestPackage, testKey, withParents, writeRepo } from "./image-helpers";
import { buildOurs, readLayers } from "./layering-helpers";

/**
 * A base image built by our own assembler (an OCI layout), the installed list beside it (its
 * usr/lib/apk/db/installed, as apko's `apkindex` expects: `<dir>/<arch>/APKINDEX`), and configs for
 * images on top of it. The repository has a newer libfoo than the base's, so resolving on the base
 * shows whether the base's version is kept.
 */

const pkg = (
  name: string,
  version: string,
  files: [string, string][],
  depends: string[] = [],
): TestPackage => ({
  info: pkgInfo(name, version, "x86_64", { depends, size: 1000, builddate: 1_700_000_000 }),
  entries: withParents(files.map(([p, body]) => file(p, body))),
});

export const BASE_PACKAGES: TestPackage[] = [
  pkg("baselayout", "1.0-r0", [
    ["etc/os-release", "ID=based\nVERSION_ID=1\n"],
    ["etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"],
    ["etc/group", "root:x:0:\n"],
  ]),
  pkg("libfoo", "1.0-r0", [["usr/lib/libfoo.so.1", "foo 1\n"]]),
  pkg("libfoo", "2.0-r0", [["usr/lib/libfoo.so.2", "foo 2\n"]]),
  pkg(
    "app",
    "1.0-r0",
    [
      ["usr/bin/app", "#!/bin/sh\necho app\n"],
      ["etc/app.conf", "x=1\n"],
    ],
    ["libfoo"],
  ),
  pkg("needs-new-foo", "1.0-r0", [["usr/bin/new", "new\n"]], ["libfoo>=2.0"]),
];

/** The same packages built for another arch. */
export const basePackagesFor = (arch: string): TestPackage[] =>
  BASE_PACKAGES.map((p) => ({ ...p, info: { ...p.info, arch } }));

export interface BaseFixture {
  dir: string;
  repo: string;
  key: string;
  /** The base image's OCI layout. */
  image: string;
  /** The directory holding `x86_64/APKINDEX`. */
  apkindex: string;
  base: AssembleResult;
}

export function configText(
  fx: Pick<BaseFixture, "repo" | "key">,
  lines: string[],
  archs: string[] = ["x86_64"],
): string {
  return [
    "contents:",
    `  keyring: [${fx.key}]`,
    `  repositories: [${fx.repo}]`,
    ...lines,
    `archs: [${archs.join(", ")}]`,
    "",
  ].join("\n");
}

/** Builds the base (baselayout + libfoo 1.0) and writes its installed list. */
export async function makeBase(dir: string): Promise<BaseFixture> {
  const repo = path.join(dir, "repo");
  const key = await writeRepo(repo, "x86_64", BASE_PACKAGES, await testKey());
  const image = path.join(dir, "base-oci");
  const apkindex = path.join(dir, "base-apkindex");
  const fx = { dir, repo, key, image, apkindex };
  return { ...fx, base: await buildBase(fx, ["baselayout", "libfoo=1.0-r0"]) };
}

/** (Re)builds the base image with `packages` and writes its installed list beside it. */
export async function buildBase(fx: Omit<BaseFixture, "base">, packages: string[]): Promise<AssembleResult> {
  const baseConfig = path.join(fx.dir, "base.apko.yaml");
  writeFileSync(baseConfig, configText(fx, [`  packages: [${packages.join(", ")}]`]));
  const base = await buildOurs(baseConfig, fx.image, path.join(fx.dir, "cache"));
  const [layer] = await readLayers(fx.image, "amd64");
  mkdirSync(path.join(fx.apkindex, "x86_64"), { recursive: true });
  writeFileSync(path.join(fx.apkindex, "x86_64", "APKINDEX"), fileText(layer!, "usr/lib/apk/db/installed")!);
  return base;
}

/** A config on the base asking for `packages`; written as `<name>.apko.yaml` in the fixture's dir. */
export function onBaseConfig(
  fx: BaseFixture,
  name: string,
  packages: string[],
  extra: string[] = [],
): string {
  const file = path.join(fx.dir, `${name}.apko.yaml`);
  writeFileSync(
    file,
    configText(fx, [
      `  packages: [${packages.join(", ")}]`,
      "  baseimage:",
      `    image: ${fx.image}`,
      `    apkindex: ${fx.apkindex}`,
      ...extra,
    ]),
  );
  return file;
}
