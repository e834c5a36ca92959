import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from "node:crypto";
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

/** Trusted public keys by apk key name (`<name>.rsa.pub`). */
export class Keyring {
  private readonly keys = new Map<string, KeyObject>();
  private readonly pems = new Map<string, string>();

  add(keyName: string, pem: string | Buffer): this {
    this.keys.set(keyName, parsePublicKey(pem, keyName));
    this.pems.set(keyName, pem.toString());
    return this;
  }

  get(keyName: string): KeyObject | undefined {
    return this.keys.get(keyName);
  }

  pem(keyName: string): string | undefined {
    return this.pems.get(keyName);
  }

  names(): string[] {
    return [...this.keys.keys()].sort();
  }

  get size(): number {
    return this.keys.size;
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
