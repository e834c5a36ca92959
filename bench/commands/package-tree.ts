/**
 * `package` of a recipe that copies a ~100 MiB, 4,400-file source tree into its destdir (host
 * runner), beside `tar -c usr | gzip -6` of the same tree. Also makes the signing key and the
 * package the image row (build-image.ts) assembles.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { alternate, argValue, cli, makeTree, report, timeCommand } from "./_shared";

export const RECIPE = `package:
  name: tree
  version: 1.0.0
  epoch: 0
  copyright:
    - license: MIT
pipeline:
  - runs: cp -a usr "\${{targets.destdir}}"
`;

export interface PackagedTree {
  source: string;
  key: string;
  publicKey: string;
  apk: string;
}

/** The source tree, the key and the recipe under work (made once; both rows use them). */
export function prepareTree(work: string): {
  source: string;
  recipe: string;
  key: string;
  publicKey: string;
} {
  const source = path.join(work, "src");
  const recipe = path.join(work, "tree.yaml");
  const keys = path.join(work, "keys");
  if (!existsSync(source)) {
    const mb = argValue("--mb", 100);
    const files = argValue("--files", 4400);
    const t0 = Date.now();
    const bytes = makeTree(source, mb, files);
    console.log(
      `\n(made a source tree of ${(bytes / 2 ** 20).toFixed(0)} MiB in ${files} files in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    writeFileSync(recipe, RECIPE);
    mkdirSync(keys);
    timeCommand(cli("keygen", "--out", keys, "--name", "bench", "--bits", "2048"));
  }
  // keygen --name bench writes bench (private) and bench.pub.
  const key = path.join(keys, "bench");
  return { source, recipe, key, publicKey: `${key}.pub` };
}

/** One `package` run into out; returns the apk it wrote. */
export function packageTree(work: string, out: string): string {
  const { source, recipe, key } = prepareTree(work);
  rmSync(out, { recursive: true, force: true });
  timeCommand(packageArgv(recipe, source, key, out, work));
  const dir = path.join(out, "x86_64");
  return path.join(dir, readdirSync(dir).find((f) => f.endsWith(".apk"))!);
}

function packageArgv(recipe: string, source: string, key: string, out: string, work: string): string[] {
  return cli(
    "package",
    recipe,
    "--arch",
    "x86_64",
    "--runner",
    "host",
    "--source-dir",
    source,
    "--signing-key",
    key,
    "--out",
    out,
    "--cache-dir",
    path.join(work, "cache-package"),
  );
}

export function packageRow(work: string): void {
  const { source, recipe, key } = prepareTree(work);
  const out = path.join(work, "out-package");
  const runs = alternate(
    argValue("--rounds", 3),
    () => timeCommand(packageArgv(recipe, source, key, out, work)),
    () => timeCommand(["sh", "-c", `cd '${source}' && tar -c usr | gzip -6 > '${work}/yard.tar.gz'`]),
    () => rmSync(out, { recursive: true, force: true }),
  );
  report(
    "package, ~100 MiB source tree copied to destdir, host runner",
    "pulumi-distroless package",
    "tar -c usr | gzip -6",
    runs,
    {
      kind: "ratio",
      max: 1,
    },
  );
}
