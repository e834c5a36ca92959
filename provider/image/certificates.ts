import { X509Certificate } from "node:crypto";
import { parseDependency } from "../apk/dependency";
import { DistrolessError } from "../util/errors";
import { sha256Hex } from "../util/hash";
import { putFile, rewriteFile } from "./base-layout";
import type { ApkoConfig } from "./config/types";
import type { ContentStore } from "./content-store";
import type { InstalledPackage } from "./install";
import { compareNames, type FsTree } from "./tree";

/**
 * `certificates:`, the way apko installs them: each `additional` PEM is written to
 * `usr/local/share/ca-certificates/<name>-<sha256 of DER>.crt`; the `.crt`/`.pem` files of installed
 * packages providing one of `providers` are collected (sorted by path; unparsable ones skipped);
 * those under `usr/share/ca-certificates/` are registered in `etc/ca-certificates.conf`; then every
 * certificate (re-encoded PEM + newline) is appended to each CA bundle that exists.
 *
 * One difference from apko, on purpose: when there are certificates but no bundle at
 * `etc/ssl/certs/ca-certificates.crt`, we create it (apko silently drops them), because
 * SSL_CERT_FILE points there and a configured certificate that reaches no bundle is a surprise.
 */

const CA_CERTS_DIR = "usr/local/share/ca-certificates";
const CA_CONF = "etc/ca-certificates.conf";
const SYSTEM_CA_DIR = "usr/share/ca-certificates/";
const BUNDLES = [
  "etc/ssl/certs/ca-certificates.crt",
  "var/lib/ecs/deps/execute-command/certs/tls-ca-bundle.pem",
];
const PRIMARY_BUNDLE = BUNDLES[0]!;

export interface ParsedCertificate {
  /** Canonical PEM (64-column base64, BEGIN/END lines), as Go's pem.Encode writes it. */
  pem: string;
  /** Hex SHA-256 of the DER. */
  fingerprint: string;
}

/** Exactly one CERTIFICATE block, which must parse as X.509. */
export function parseCertificate(text: string): ParsedCertificate {
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g)];
  if (blocks.length === 0) throw new Error("no PEM certificate found");
  if (blocks.length > 1) throw new Error("multiple certificates found; only one is allowed");
  const [, type, body] = blocks[0]!;
  if (type !== "CERTIFICATE") throw new Error(`expected a CERTIFICATE block, got ${type}`);
  // PEM headers ("Proc-Type: ...") are not part of a certificate block; Go's decoder would keep them.
  if (/^[A-Za-z-]+:/m.test(body!)) throw new Error("PEM headers are not allowed in a certificate");
  const der = Buffer.from(body!.replace(/\s+/g, ""), "base64");
  try {
    new X509Certificate(der);
  } catch (err) {
    throw new Error(`not a valid X.509 certificate: ${(err as Error).message}`);
  }
  const b64 = der.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return {
    pem: `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`,
    fingerprint: sha256Hex(der),
  };
}

function providesAny(pkg: InstalledPackage, providers: string[]): boolean {
  const names = pkg.pkginfo.provides.map((p) => {
    try {
      return parseDependency(p).name;
    } catch {
      return p;
    }
  });
  return providers.some((p) => names.includes(p) || pkg.pkginfo.provides.includes(p));
}

async function readFile(tree: FsTree, store: ContentStore, path: string): Promise<Buffer | undefined> {
  const found = tree.stat(path);
  if (found?.node.kind !== "file") return undefined;
  return store.read(found.node.inode.content, found.node.inode.size, path);
}

export async function installCertificates(
  tree: FsTree,
  store: ContentStore,
  config: ApkoConfig,
  packages: InstalledPackage[],
  ownedPaths: (pkg: InstalledPackage) => string[],
  epoch: number,
): Promise<number> {
  const { additional, providers } = config.certificates;
  if (additional.length === 0 && providers.length === 0) return 0;
  const certs: ParsedCertificate[] = [];
  if (additional.length > 0) tree.mkdirAll(CA_CERTS_DIR, { mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  additional.forEach((a, i) => {
    if (!/^[A-Za-z0-9._-]+$/.test(a.name)) {
      throw new DistrolessError(
        "E_CONFIG",
        `certificate name ${JSON.stringify(a.name)} may only use letters, digits, . _ -`,
        {
          subject: `${config.source}: certificates.additional[${i}]`,
        },
      );
    }
    let cert: ParsedCertificate;
    try {
      cert = parseCertificate(a.content);
    } catch (err) {
      throw new DistrolessError("E_CONFIG", `certificate ${a.name}: ${(err as Error).message}`, {
        subject: `${config.source}: certificates.additional[${i}]`,
      });
    }
    putFile(tree, `${CA_CERTS_DIR}/${a.name}-${cert.fingerprint}.crt`, cert.pem, 0o644, { mtime: epoch });
    certs.push(cert);
  });
  if (providers.length > 0) {
    const files: string[] = [];
    for (const pkg of packages) {
      if (!providesAny(pkg, providers)) continue;
      for (const p of ownedPaths(pkg)) if (/\.(crt|pem)$/.test(p)) files.push(p);
    }
    files.sort(compareNames);
    const conf: string[] = [];
    for (const p of files) {
      const data = await readFile(tree, store, p);
      if (!data) continue;
      try {
        certs.push(parseCertificate(data.toString("utf8")));
      } catch {
        continue; // apko skips files it cannot parse as one certificate
      }
      if (p.startsWith(SYSTEM_CA_DIR)) conf.push(p.slice(SYSTEM_CA_DIR.length));
    }
    if (conf.length > 0) {
      const before = (await readFile(tree, store, CA_CONF))?.toString("utf8") ?? "";
      writeBack(tree, CA_CONF, before + conf.map((c) => `${c}\n`).join(""), epoch);
    }
  }
  if (certs.length === 0) return 0;
  const appended = certs.map((c) => `${c.pem}\n`).join("");
  let wrote = false;
  for (const bundle of BUNDLES) {
    const existing = await readFile(tree, store, bundle);
    if (existing === undefined) continue;
    writeBack(tree, bundle, existing.toString("utf8") + appended, epoch);
    wrote = true;
  }
  if (!wrote && !tree.lookup(PRIMARY_BUNDLE)) {
    tree.mkdirAll("etc/ssl/certs", { mode: 0o755, uid: 0, gid: 0, mtime: 0 });
    putFile(tree, PRIMARY_BUNDLE, appended, 0o644, { mtime: epoch });
  }
  return certs.length;
}

/** Rewrites a file (following a symlink to it) with new content and mtime; creates it 0644 if absent. */
function writeBack(tree: FsTree, path: string, text: string, epoch: number): void {
  const found = tree.stat(path);
  if (found?.node.kind === "file") {
    const node = rewriteFile(tree, found.path, text);
    node.meta = { ...node.meta, mtime: epoch };
    return;
  }
  putFile(tree, path, text, 0o644, { mtime: epoch });
}
