import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { promisify } from "node:util";
import { DistrolessError } from "../util/errors";
import { readFileCapped, writeFileAtomic } from "../util/fs";

/**
 * RSA signing keys as apk expects them: the private key as PEM (`RSA PRIVATE KEY`, PKCS#1), the
 * public key as PEM SPKI (`PUBLIC KEY`) in a file whose name ends in `.rsa.pub`. Signatures name the
 * key by that file name, so the name is part of the key's identity.
 */
export interface SigningKey {
  /** The public key file name apk uses in `.SIGN.RSA256.<keyName>` (ends in `.rsa.pub`). */
  keyName: string;
  privateKey: KeyObject;
  publicKeyPem: string;
  /** The file it was loaded from, when it was: builds keep that file out of their workspace. */
  file?: string;
}

const MAX_KEY_FILE = 64 << 10;

/** `melange.rsa` -> `melange.rsa.pub`; `foo.rsa.pub` stays; `key.pem` -> `key.pem.pub`... apk only needs the suffix match. */
export function publicKeyNameFor(privateKeyFile: string): string {
  const base = path.basename(privateKeyFile);
  return base.endsWith(".pub") ? base : `${base}.pub`;
}

export async function generateSigningKey(
  bits = 4096,
): Promise<{ privateKeyPem: string; publicKeyPem: string }> {
  if (bits < 2048)
    throw new DistrolessError("E_CONFIG", `RSA keys must be at least 2048 bits (asked for ${bits})`);
  const { privateKey, publicKey } = await promisify(generateKeyPair)("rsa", { modulusLength: bits });
  return {
    privateKeyPem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

/** Writes `<dir>/<name>` (0600) and `<dir>/<name>.pub`, as `melange keygen` does. */
export async function writeKeyPair(
  dir: string,
  name: string,
  pair: { privateKeyPem: string; publicKeyPem: string },
): Promise<{ privateKeyFile: string; publicKeyFile: string }> {
  const privateKeyFile = path.join(dir, name);
  const publicKeyFile = path.join(dir, `${name}.pub`);
  await writeFileAtomic(privateKeyFile, pair.privateKeyPem, 0o600);
  await writeFileAtomic(publicKeyFile, pair.publicKeyPem, 0o644);
  return { privateKeyFile, publicKeyFile };
}

/**
 * Loads a private key from PEM text: PKCS#1 or PKCS#8, optionally encrypted (passphrase). The key
 * name defaults to `<name>.pub` of the file it came from. Errors never include key material.
 */
export function parsePrivateKey(pem: string | Buffer, keyName: string, passphrase?: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
  } catch (err) {
    const msg = (err as Error).message;
    const hint = /passphrase|bad decrypt|interrupted or cancelled/i.test(msg)
      ? passphrase === undefined
        ? "the key is encrypted: a passphrase is required"
        : "wrong passphrase"
      : "not a PEM private key";
    throw new DistrolessError("E_CONFIG", `cannot load the signing key: ${hint}`, { subject: keyName });
  }
  if (privateKey.asymmetricKeyType !== "rsa") {
    throw new DistrolessError("E_CONFIG", `signing key must be RSA (got ${privateKey.asymmetricKeyType})`, {
      subject: keyName,
    });
  }
  const publicKeyPem = createPublicKey(privateKey).export({ type: "spki", format: "pem" }).toString();
  return {
    keyName: keyName.endsWith(".rsa.pub") || keyName.endsWith(".pub") ? keyName : `${keyName}.pub`,
    privateKey,
    publicKeyPem,
  };
}

export async function loadPrivateKey(
  file: string,
  options: { passphrase?: string; keyName?: string } = {},
): Promise<SigningKey> {
  const pem = await readFileCapped(file, MAX_KEY_FILE);
  const key = parsePrivateKey(pem, options.keyName ?? publicKeyNameFor(file), options.passphrase);
  return { ...key, file: path.resolve(file) };
}

export function parsePublicKey(pem: string | Buffer, subject: string): KeyObject {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== "rsa") throw new Error("not RSA");
    return key;
  } catch {
    throw new DistrolessError("E_CONFIG", "not an RSA public key in PEM form", { subject });
  }
}

/** A trusted key as the keyring holds it: the name it was given, the key, its SPKI SHA-256. */
export interface TrustedKey {
  name: string;
  key: KeyObject;
  /** Hex SHA-256 of the key's SPKI DER: what identifies the key whatever it is called. */
  fingerprint: string;
}

/** The hex SHA-256 of a public key's SPKI DER. */
export function publicKeyFingerprint(key: KeyObject): string {
  return createHash("sha256")
    .update(key.export({ type: "spki", format: "der" }))
    .digest("hex");
}

/**
 * The fingerprint prefix in a key name of the scheme resources used before they named keys the
 * way melange does (`distroless-<first 16 hex of the SPKI SHA-256>.rsa.pub`), else undefined.
 */
export function legacyNameFingerprint(keyName: string): string | undefined {
  return /^distroless-([0-9a-f]{16})\.rsa\.pub$/.exec(keyName)?.[1];
}

/**
 * Trusted public keys, by apk key name (`<name>.rsa.pub`) and by content. apk-tools finds the key of
 * a signature by its file name; here the name is a hint: a signature that names a key the keyring
 * holds under another name (a key renamed, or signed under an older name) still verifies when the
 * content matches, and two different keys given the same name are both kept.
 */
export class Keyring {
  private readonly byName = new Map<string, TrustedKey>();
  private readonly all: TrustedKey[] = [];
  private readonly pems = new Map<string, string>();

  add(keyName: string, pem: string | Buffer): this {
    const key = parsePublicKey(pem, keyName);
    const trusted = { name: keyName, key, fingerprint: publicKeyFingerprint(key) };
    if (this.all.some((k) => k.name === keyName && k.fingerprint === trusted.fingerprint)) return this;
    this.all.push(trusted);
    if (!this.byName.has(keyName)) {
      this.byName.set(keyName, trusted);
      this.pems.set(keyName, pem.toString());
    }
    return this;
  }

  get(keyName: string): KeyObject | undefined {
    return this.byName.get(keyName)?.key;
  }

  pem(keyName: string): string | undefined {
    return this.pems.get(keyName);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  get size(): number {
    return this.byName.size;
  }

  /**
   * The keys to try for a signature naming `keyName`: those of that name first, then every other
   * key (the name is a hint; the content decides).
   */
  candidates(keyName: string): TrustedKey[] {
    const named = this.all.filter((k) => k.name === keyName);
    return [...named, ...this.all.filter((k) => k.name !== keyName)];
  }

  /** The key held under another name that `keyName` says it is (a legacy name carries its fingerprint). */
  sameKeyAs(keyName: string): TrustedKey | undefined {
    const prefix = legacyNameFingerprint(keyName);
    return prefix ? this.all.find((k) => k.name !== keyName && k.fingerprint.startsWith(prefix)) : undefined;
  }

  /** `a.rsa.pub (sha256:0123456789abcdef…), …`, or `none`: what an error says the keyring holds. */
  describe(): string {
    if (this.all.length === 0) return "none";
    return [...this.all]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((k) => `${k.name} (sha256:${k.fingerprint.slice(0, 16)}…)`)
      .join(", ");
  }

  /** Adds public key files; each is trusted under its base name. */
  async addFiles(files: string[]): Promise<this> {
    for (const f of files) this.add(path.basename(f), await readFileCapped(f, MAX_KEY_FILE));
    return this;
  }

  /** Adds every `*.pub` file of a directory (apk's /etc/apk/keys). */
  async addDir(dir: string): Promise<this> {
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      throw new DistrolessError("E_MISSING", "keys directory not found", { subject: dir });
    }
    await this.addFiles(
      names
        .filter((n) => n.endsWith(".pub"))
        .sort()
        .map((n) => path.join(dir, n)),
    );
    return this;
  }

  static async fromPaths(paths: string[]): Promise<Keyring> {
    const ring = new Keyring();
    for (const p of paths) {
      const st = await fsp.stat(p).catch(() => undefined);
      if (!st) throw new DistrolessError("E_MISSING", "key file not found", { subject: p });
      if (st.isDirectory()) await ring.addDir(p);
      else await ring.addFiles([p]);
    }
    return ring;
  }
}
