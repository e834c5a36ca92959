import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { readApkHead } from "../apk/apk-reader";
import { isKnownArch, isPackageFileStem } from "../apk/names";
import { PUBLISH_LOCK, publishPackages } from "../repository/publish";
import { digestOf } from "../util/canonical";
import { DistrolessError } from "../util/errors";
import { pathExists } from "../util/fs";
import { ociDigest } from "../util/hash";
import {
  type CheckFailure,
  defineProvider,
  type OperationContext,
  type Props,
  type ResourceImplementation,
} from "./define";
import { remoteRepository } from "./repository-remote";
import { keyIdentity, signingKeyOf } from "./signing";
import { containsUnknown, UNKNOWN } from "./unknowns";

/** A package as ApkRepository receives it: a built package (from ApkPackage) or a file path. */
interface PackageInput {
  file: string;
  checksum?: string;
}

function packageInputs(value: unknown): PackageInput[] {
  const out: PackageInput[] = [];
  const visit = (v: unknown, where: string) => {
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) visit(x, `${where}[${i}]`);
    } else if (typeof v === "string") out.push({ file: path.resolve(v) });
    else if (v && typeof v === "object" && typeof (v as PackageInput).file === "string") {
      const p = v as PackageInput;
      out.push({
        file: path.resolve(p.file),
        ...(typeof p.checksum === "string" ? { checksum: p.checksum } : {}),
      });
    } else if (v !== undefined && v !== null) {
      throw new DistrolessError("E_CONFIG", `${where} is neither an ApkPackage's packages nor an .apk path`);
    }
  };
  visit(value ?? [], "packages");
  return out;
}

async function indexDigest(root: string, arch: string): Promise<string> {
  const data = await fsp.readFile(path.join(root, arch, "APKINDEX.tar.gz")).catch(() => undefined);
  return data ? ociDigest(data) : "missing";
}

/** With `path` the resource publishes; with `url` it describes an existing repository. */
function isLocal(inputs: Props): boolean {
  return inputs.path !== undefined && inputs.path !== null;
}

/** The content identity of a local publish: what goes in, not where it came from on disk. */
async function localDigest(
  news: Props,
): Promise<{ inputDigest: string; packages: string[]; keyName: string }> {
  const key = signingKeyOf(news);
  const pkgs = packageInputs(news.packages);
  const checksums: string[] = [];
  for (const p of pkgs) checksums.push(p.checksum ?? (await readApkHead(p.file)).controlChecksum);
  checksums.sort();
  const inputDigest = digestOf({
    kind: "local",
    path: path.resolve(String(news.path)),
    key: keyIdentity(key),
    packages: checksums,
    description: news.description ?? "",
    prune: news.prune !== false,
  });
  return { inputDigest, packages: checksums, keyName: key.keyName };
}

async function publish(inputs: Props, ctx: OperationContext, createdBefore?: boolean): Promise<Props> {
  const root = path.resolve(String(inputs.path));
  const existed = await pathExists(root);
  const key = signingKeyOf(inputs);
  const files = packageInputs(inputs.packages).map((p) => p.file);
  ctx.progress.info(`publishing ${files.length} package(s) into ${root}`);
  const result = await publishPackages({
    root,
    packages: files,
    signingKey: key,
    prune: inputs.prune !== false,
    ...(typeof inputs.description === "string" ? { description: inputs.description } : {}),
    progress: ctx.progress,
  });
  const indexes: Record<string, { digest: string; packages: string[] }> = {};
  for (const a of result.archs) {
    indexes[a.arch] = { digest: a.indexDigest, packages: a.packages.map((p) => `${p.name}-${p.version}`) };
  }
  const resolved = inputs.resolved as { inputDigest: string };
  return {
    resourceName: inputs.resourceName,
    path: root,
    url: root,
    keyName: result.keyName,
    publicKey: result.publicKeyPem,
    indexes,
    archs: Object.keys(indexes),
    reference: {
      url: root,
      keys: [{ name: result.keyName, pem: result.publicKeyPem }],
      digest: digestOf(indexes),
    },
    inputDigest: resolved.inputDigest,
    // Whether this resource made the directory: only then does delete remove what it published.
    created: createdBefore ?? !existed,
  };
}

const implementation: ResourceImplementation = {
  type: "ApkRepository",
  secretInputs: ["signingKey", "signingKeyPassphrase"],

  async check(_olds, news) {
    const failures: CheckFailure[] = [];
    const hasPath = isLocal(news);
    const hasUrl = news.url !== undefined && news.url !== null;
    if (hasPath === hasUrl)
      failures.push({
        property: hasPath ? "url" : "path",
        reason: "give exactly one of path (publish) or url (existing repository)",
      });
    if (hasPath && (news.signingKey === undefined || news.signingKey === null)) {
      failures.push({
        property: "signingKey",
        reason: "a repository with a path needs signingKey to sign its index",
      });
    }
    if (hasUrl && news.packages !== undefined)
      failures.push({ property: "packages", reason: "packages are published only into a path repository" });
    if (failures.length) return { inputs: news, failures };
    if (containsUnknown(news)) return { inputs: { ...news, resolved: UNKNOWN } };
    const resolved = hasPath ? await localDigest(news) : await remoteRepository.resolve(news);
    return { inputs: { ...news, resolved } };
  },

  async diff(_id, olds, news) {
    const resolved = news.resolved as { inputDigest?: string } | string | undefined;
    if (typeof resolved !== "object" || !resolved) return { changes: true };
    // A different directory or URL is a different repository: replace (the old one is cleaned up).
    const newPath = isLocal(news) ? path.resolve(String(news.path)) : null;
    const replaces: string[] = [];
    if ((olds.path ?? null) !== newPath) replaces.push("path");
    if (newPath === null && olds.url !== news.url) replaces.push("url");
    if (replaces.length) return { changes: true, replaces };
    if (olds.inputDigest !== resolved.inputDigest) return { changes: true };
    // The published files are part of the desired state: an index changed or removed outside
    // Pulumi is republished on the next `up`.
    if (olds.path) {
      for (const [arch, idx] of Object.entries((olds.indexes ?? {}) as Record<string, { digest: string }>)) {
        if ((await indexDigest(String(olds.path), arch)) !== idx.digest) return { changes: true };
      }
    }
    return { changes: false };
  },

  async create(inputs, ctx) {
    const outs = isLocal(inputs) ? await publish(inputs, ctx) : await remoteRepository.describe(inputs, ctx);
    return { id: String(outs.url), outs };
  },

  async update(_id, olds, news, ctx) {
    const outs = isLocal(news)
      ? await publish(news, ctx, olds.created === true)
      : await remoteRepository.describe(news, ctx);
    return { outs };
  },

  async read(id, props, ctx) {
    if (!props.path) return { id, props: await remoteRepository.refresh(props, ctx) };
    const indexes = { ...((props.indexes ?? {}) as Record<string, { digest: string; packages: string[] }>) };
    let drifted = false;
    for (const [arch, idx] of Object.entries(indexes)) {
      const actual = await indexDigest(String(props.path), arch);
      if (actual !== idx.digest) {
        drifted = true;
        indexes[arch] = { ...idx, digest: actual };
        ctx.progress.warn(`${arch}/APKINDEX.tar.gz changed outside Pulumi (${idx.digest} -> ${actual})`);
      }
    }
    // A drifted repository no longer holds what was published: clearing inputDigest makes the next
    // `up` republish it.
    return { id, props: drifted ? { ...props, indexes, inputDigest: "" } : props };
  },

  async delete(_id, props, ctx) {
    if (!props.path || props.created !== true) return; // not ours: leave every file
    const root = String(props.path);
    for (const [arch, idx] of Object.entries(
      (props.indexes ?? {}) as Record<string, { packages: string[] }>,
    )) {
      // Outputs come from the state file: only names that are apk file names inside an arch dir.
      if (!isKnownArch(arch)) continue;
      for (const p of idx.packages) {
        if (isPackageFileStem(p)) await fsp.rm(path.join(root, arch, `${p}.apk`), { force: true });
      }
      await fsp.rm(path.join(root, arch, "APKINDEX.tar.gz"), { force: true });
      await fsp.rmdir(path.join(root, arch)).catch(() => {});
    }
    if (typeof props.keyName === "string") await fsp.rm(path.join(root, props.keyName), { force: true });
    await fsp.rm(path.join(root, PUBLISH_LOCK), { force: true });
    await fsp.rmdir(root).catch(() => ctx.progress.warn(`${root} is not empty; left in place`));
  },
};

export const provider = defineProvider(implementation);
