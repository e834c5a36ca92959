/**
 * The melange runner: hands the whole build to a real `melange build` on PATH with the equivalent
 * flags (arch, out dir, source dir, signing key, repositories and keys, namespace, pipeline dirs,
 * build options, vars, SOURCE_DATE_EPOCH), then reads back the apks it wrote. Useful where melange's
 * own runners (docker, qemu) are needed, e.g. a foreign arch.
 */
import { spawn } from "node:child_process";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { readApkHead } from "../../apk/apk-reader";
import { packageFilePath } from "../../apk/names";
import { DistrolessError } from "../../util/errors";
import { silentProgress } from "../../util/log";
import type { BuildPackageOptions, BuiltPackage } from "../build";
import type { PreparedBuild } from "../prepare";
import { copySourceTree } from "../source/source-tree";
import { findOnPath } from "./runner";
import { OutputTail } from "./step-process";

export async function melangeArgs(
  prepared: PreparedBuild,
  options: BuildPackageOptions,
  scratch: string,
): Promise<string[]> {
  if (!prepared.recipeFile) {
    throw new DistrolessError(
      "E_CONFIG",
      "the melange runner needs the recipe as a file (recipeFile), not an inline recipe or plan",
    );
  }
  const args = [
    "build",
    path.resolve(prepared.recipeFile),
    "--arch",
    prepared.plan.arch,
    "--out-dir",
    path.resolve(options.outDir),
  ];
  if (prepared.source.root && prepared.source.excluded.length > 0) {
    // melange copies --source-dir whole: hand it a copy without the private keys instead.
    const filtered = path.join(scratch, "source");
    await fsp.mkdir(filtered);
    await copySourceTree(prepared.source, filtered);
    args.push("--source-dir", filtered);
  } else if (prepared.source.root) args.push("--source-dir", prepared.source.root);
  if (prepared.signingKey) {
    // melange reads the key from a file named like the key (the signature names it).
    const keyFile = path.join(scratch, prepared.signingKey.keyName.replace(/\.pub$/, ""));
    const pem = prepared.signingKey.privateKey.export({ type: "pkcs1", format: "pem" });
    await fsp.writeFile(keyFile, pem, { mode: 0o600 });
    args.push("--signing-key", keyFile);
  }
  for (const r of options.repositories ?? []) args.push("--repository-append", r);
  for (const k of options.keyring ?? []) args.push("--keyring-append", k);
  for (const d of options.pipelineDirs ?? []) args.push("--pipeline-dir", d);
  for (const o of options.buildOptions ?? []) args.push("--build-option", o);
  if (options.vars && Object.keys(options.vars).length > 0) {
    const varsFile = path.join(scratch, "vars.yaml");
    await fsp.writeFile(varsFile, stringify(options.vars));
    args.push("--vars-file", varsFile);
  }
  args.push("--namespace", prepared.namespace, "--generate-index=false");
  if (options.cacheDir) args.push("--cache-dir", path.join(options.cacheDir, "melange-cache"));
  return args;
}

export async function buildWithMelange(
  prepared: PreparedBuild,
  options: BuildPackageOptions,
): Promise<BuiltPackage[]> {
  const melange = await findOnPath("melange");
  if (!melange) throw new DistrolessError("E_MISSING", "the melange runner needs a `melange` binary on PATH");
  const progress = options.progress ?? silentProgress;
  const scratch = await fsp.mkdtemp(path.join(os.tmpdir(), "pd-melange-"));
  try {
    const args = await melangeArgs(prepared, options, scratch);
    progress.info(`running melange ${args.filter((a) => !a.startsWith(scratch)).join(" ")}`);
    await new Promise<void>((resolve, reject) => {
      const tail = new OutputTail();
      const child = spawn(melange, args, {
        env: { ...process.env, SOURCE_DATE_EPOCH: String(prepared.sourceDateEpoch) },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const onLine = (l: string) => progress.info(`  | ${l}`);
      child.stdout.setEncoding("utf8").on("data", (d: string) => tail.push(d, onLine));
      child.stderr.setEncoding("utf8").on("data", (d: string) => tail.push(d, onLine));
      child.on("error", (err) =>
        reject(new DistrolessError("E_MISSING", `cannot run melange: ${err.message}`)),
      );
      child.on("close", (code) => {
        tail.end(onLine);
        if (code === 0) resolve();
        else
          reject(
            new DistrolessError(
              "E_BUILD",
              `melange build failed with exit code ${code}\n--- last output ---\n${tail.text}`,
            ),
          );
      });
    });
  } finally {
    await fsp.rm(scratch, { recursive: true, force: true });
  }
  const plan = prepared.plan;
  const outDir = path.resolve(options.outDir);
  const out: BuiltPackage[] = [];
  for (const name of [plan.package.name, ...plan.subpackages.map((s) => s.name)]) {
    const file = packageFilePath(outDir, plan.arch, name, plan.package.fullVersion);
    const head = await readApkHead(file);
    const datahash = head.pkginfo.datahash;
    out.push({
      name,
      version: head.pkginfo.pkgver,
      arch: head.pkginfo.arch,
      file,
      size: head.fileSize,
      controlChecksum: head.controlChecksum,
      datahash,
      depends: head.pkginfo.depends,
      provides: head.pkginfo.provides,
    });
  }
  return out;
}
