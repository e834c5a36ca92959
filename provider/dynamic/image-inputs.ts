import * as crypto from "node:crypto";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { loadApkoConfig, validateApkoConfig } from "../image/config";
import type { ApkoConfig } from "../image/config/types";
import { applyOverrides, type ImageOverrides } from "../image/pipeline";
import { probeVcs } from "../image/vcs";
import type { RegistryOptions } from "../registry";
import { defaultCacheDir } from "../repository/cache";
import { RepositoryClient } from "../repository/client";
import type { PinnedPackage } from "../resolve/apko-lock";
import { readApkoLockFile } from "../resolve/apko-lock";
import { loadSecurityDbs } from "../security/load";
import type { SecurityDb } from "../security/secdb";
import { type ImageSigningKey, loadImageSigningKey } from "../sign/keys";
import { DistrolessError } from "../util/errors";
import { sha256Hex } from "../util/hash";
import type { Progress } from "../util/log";
import type { Props } from "./define";
import { parseKeyInputs } from "./keys";

/** What check puts in `resolved`: the preview-visible lock and the digest that drives diff. */
export interface ResolvedImageInputs {
  inputDigest: string;
  /** arch -> package name -> version: preview shows `resolved.lock.x86_64.openssl: 3.1.1-r0 => 3.1.2-r0`. */
  lock: Record<string, Record<string, string>>;
  /** arch -> package name -> `C:`: a rebuilt package with the same version shows too. */
  checksums: Record<string, Record<string, string>>;
  archs: string[];
  /** arch -> name -> CVE ids a version change fixes (with `securityDb`): preview shows them. */
  fixes?: Record<string, Record<string, string[]>>;
  /** SHA-256 of the signing key's public half, when `signKey` is given: a new key re-signs. */
  signer?: string;
  /** Digest of the `provenance` records: new provenance re-attests (the image itself is unchanged). */
  provenance?: string;
}

/** One ApkPackage `provenance` output record: a package's provenance file and its statement digest. */
export interface ProvenanceRecord {
  arch: string;
  name: string;
  version: string;
  checksum: string;
  file: string;
  digest: string;
}

/**
 * The `provenance` input: ApkPackage `provenance` outputs (lists of records), given directly or
 * gathered by the SDK from ApkPackages in `packages`; nested lists are flattened.
 */
export function provenanceRecords(inputs: Props): ProvenanceRecord[] {
  const flat = (Array.isArray(inputs.provenance) ? inputs.provenance : []).flat(2) as unknown[];
  return flat.map((r, i) => {
    const o = (r ?? {}) as Record<string, unknown>;
    for (const k of ["arch", "name", "version", "checksum", "file", "digest"]) {
      if (typeof o[k] !== "string") {
        throw new DistrolessError("E_CONFIG", `needs ${k} (give an ApkPackage's provenance output)`, {
          subject: `provenance[${i}]`,
        });
      }
    }
    return o as unknown as ProvenanceRecord;
  });
}

/** The image signing key from `signKey` (+ `signKeyPassword`); undefined when not signing. */
export function imageSigningKey(inputs: Props): ImageSigningKey | undefined {
  if (inputs.signKey === undefined || inputs.signKey === null) return undefined;
  if (typeof inputs.signKey !== "string")
    throw new DistrolessError("E_CONFIG", "signKey must be a PEM string");
  const password = typeof inputs.signKeyPassword === "string" ? inputs.signKeyPassword : undefined;
  return loadImageSigningKey(inputs.signKey, password, "signKey");
}

export function signerFingerprint(key: ImageSigningKey): string {
  const der = crypto.createPublicKey(key.publicKeyPem).export({ type: "spki", format: "der" });
  return `sha256:${sha256Hex(der)}`;
}

/** The apko config (file or object) with the resource's overrides applied. */
export async function imageConfig(
  inputs: Props,
): Promise<{ config: ApkoConfig; inlineKeys: { name: string; pem: string }[] }> {
  const name = String(inputs.resourceName ?? "image");
  let config: ApkoConfig;
  if (typeof inputs.configFile === "string") config = await loadApkoConfig(path.resolve(inputs.configFile));
  else if (inputs.config && typeof inputs.config === "object") {
    config = validateApkoConfig(inputs.config, `${name}.config`, { baseDir: process.cwd() });
  } else
    throw new DistrolessError("E_CONFIG", "give configFile (an apko.yaml) or config (the same as an object)");
  if (inputs.vcs === true && !config.vcs) {
    const from = typeof inputs.configFile === "string" ? path.resolve(inputs.configFile) : process.cwd();
    const vcs = await probeVcs(from, process.cwd());
    if (vcs) config.vcs = vcs;
  }

  const overrides: ImageOverrides = { baseDir: process.cwd(), repositories: [], keyring: [], inlineKeys: [] };
  for (const [i, r] of (Array.isArray(inputs.repositories) ? inputs.repositories : []).entries()) {
    if (typeof r === "string") overrides.repositories!.push(r);
    else if (r && typeof r === "object" && typeof (r as { url?: unknown }).url === "string") {
      // An ApkRepository's `reference`: its location and the keys that sign it.
      const ref = r as { url: string; keys?: unknown };
      overrides.repositories!.push(ref.url);
      for (const k of parseKeyInputs(ref.keys ?? [], `repositories[${i}].keys`)) {
        if (typeof k === "string") overrides.keyring!.push(k);
        else overrides.inlineKeys!.push(k);
      }
    } else
      throw new DistrolessError("E_CONFIG", `repositories[${i}] must be a URL, a path or an ApkRepository`);
  }
  for (const k of parseKeyInputs(inputs.keyring, "keyring")) {
    if (typeof k === "string") overrides.keyring!.push(k);
    else overrides.inlineKeys!.push(k);
  }
  if (Array.isArray(inputs.packages)) overrides.packages = inputs.packages.map(String);
  if (Array.isArray(inputs.archs)) overrides.archs = inputs.archs.map(String);
  if (inputs.annotations && typeof inputs.annotations === "object") {
    overrides.annotations = Object.fromEntries(
      Object.entries(inputs.annotations).map(([k, v]) => [k, String(v)]),
    );
  }
  if (inputs.baseImage !== undefined && inputs.baseImage !== null) {
    const b = inputs.baseImage as { image?: unknown; apkindex?: unknown };
    if (typeof b !== "object" || typeof b.image !== "string" || typeof b.apkindex !== "string")
      throw new DistrolessError(
        "E_CONFIG",
        "baseImage must be { image: <OCI layout directory>, apkindex: <directory with <arch>/APKINDEX> }",
      );
    overrides.baseImage = { image: b.image, apkindex: b.apkindex };
  }
  return { config: applyOverrides(config, overrides), inlineKeys: overrides.inlineKeys! };
}

export function cacheDirOf(inputs: Props): string {
  return typeof inputs.cacheDir === "string" ? path.resolve(inputs.cacheDir) : defaultCacheDir();
}

/** The `securityDb` input (a file or URL, or several) loaded; undefined when not given. */
export async function securityDbOf(
  inputs: Props,
  client: RepositoryClient = repositoryClient(inputs),
): Promise<SecurityDb | undefined> {
  const raw = inputs.securityDb;
  if (raw === undefined || raw === null) return undefined;
  const list = Array.isArray(raw) ? raw : [raw];
  if (!list.every((x): x is string => typeof x === "string")) {
    throw new DistrolessError("E_CONFIG", "securityDb must be a file path or URL, or a list of them");
  }
  return loadSecurityDbs(list, client);
}

export function repositoryClient(inputs: Props, progress?: Progress): RepositoryClient {
  return new RepositoryClient({
    cacheDir: cacheDirOf(inputs),
    offline: inputs.offline === true,
    ...(progress ? { progress } : {}),
  });
}

/** Pins: the exact packages check resolved (so `up` builds what preview showed), or a lock file. */
export async function pinsOf(inputs: Props): Promise<Map<string, PinnedPackage[]> | undefined> {
  const resolved = inputs.resolved as ResolvedImageInputs | undefined;
  if (resolved && typeof resolved === "object") {
    const pins = new Map<string, PinnedPackage[]>();
    for (const [arch, pkgs] of Object.entries(resolved.lock)) {
      pins.set(
        arch,
        Object.entries(pkgs).map(([name, version]) => ({
          name,
          version,
          checksum: resolved.checksums[arch]![name]!,
        })),
      );
    }
    return pins;
  }
  return lockFilePins(inputs);
}

export async function lockFilePins(inputs: Props): Promise<Map<string, PinnedPackage[]> | undefined> {
  if (typeof inputs.lockFile !== "string") return undefined;
  return readApkoLockFile(path.resolve(inputs.lockFile));
}

/** Registry options from the resource's inputs (credentials stay in memory, never in outputs). */
export async function registryOptions(inputs: Props, progress?: Progress): Promise<RegistryOptions> {
  const auth = inputs.registryAuth as { username?: unknown; password?: unknown } | undefined;
  const options: RegistryOptions = {};
  if (auth && typeof auth === "object") {
    options.auth = { username: String(auth.username ?? ""), password: String(auth.password ?? "") };
  }
  if (typeof inputs.caFile === "string") options.caBundle = await fsp.readFile(path.resolve(inputs.caFile));
  if (inputs.insecureRegistry === true) options.insecure = true;
  if (progress) options.progress = progress;
  return options;
}
