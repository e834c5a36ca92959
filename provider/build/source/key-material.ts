/**
 * Which files of a build's source directory are private key material, kept out of the workspace a
 * recipe's steps can read (and so package). A key file lying beside the recipe is the common case:
 * `melange keygen` writes `melange.rsa` next to `melange.yaml`, and the source directory defaults to
 * the recipe's directory.
 *
 * Excluded by default:
 *   - the signing key itself (the same file, a hard link to it, or any unencrypted copy of the same
 *     key under another name): never copied, whatever `.melangeignore` says;
 *   - `*.rsa`, the apk/melange private key naming (`*.rsa.pub` public keys are kept);
 *   - small files (up to 64 KiB) holding a PEM private key (`-----BEGIN ... PRIVATE KEY-----`).
 * The last two may be taken back with a `!path` line in `.melangeignore` (test keys a package's test
 * suite needs); the signing key may not.
 */
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync, type Stats } from "node:fs";
import * as fsp from "node:fs/promises";

/** Why a file was kept out of the workspace. */
export type ExclusionReason = "signing key" | "private key (*.rsa)" | "PEM private key";

/** The signing key, as far as the source listing needs to recognise it. */
export interface SigningKeyIdentity {
  /** The file it was loaded from, if it was. */
  file?: string;
  /** SPKI PEM of its public half: copies under other names are recognised by it. */
  publicKeyPem: string;
}

/** Files up to this size are read to look for a PEM private key; keys are a few KiB. */
export const PEM_SCAN_LIMIT = 64 << 10;
const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/;

export class KeyMaterialFilter {
  private signingFile: Stats | undefined;

  private constructor(private readonly signing: SigningKeyIdentity | undefined) {}

  static async create(signing: SigningKeyIdentity | undefined): Promise<KeyMaterialFilter> {
    const filter = new KeyMaterialFilter(signing);
    if (signing?.file) filter.signingFile = await fsp.stat(signing.file).catch(() => undefined);
    return filter;
  }

  /**
   * Why the regular file at `abs` (`rel` in the tree) must not be copied (`reason`), and its content
   * when it was read (small files), so the caller need not read it again; `pem` when it holds a PEM
   * private key. `reincluded`: whether `.melangeignore` takes it back explicitly (`!path`), which
   * lifts all but the signing key rule (asked only for a file that is key material). `knownNotPem`: the caller knows the content unchanged since a scan that
   * found no PEM key (digest-cache.ts), so it is not read again.
   */
  check(
    abs: string,
    rel: string,
    st: Stats,
    reincluded: () => boolean,
    knownNotPem = false,
  ): { reason?: ExclusionReason; content?: Buffer; pem?: boolean } {
    const sf = this.signingFile;
    if (sf && st.dev === sf.dev && st.ino === sf.ino) return { reason: "signing key" };
    // Synchronous: a source tree is thousands of small files, and an async read per file costs
    // several thread-pool round trips each (measured 6-17x slower than this on a busy machine).
    const content = !knownNotPem && st.size <= PEM_SCAN_LIMIT ? readFileSync(abs) : undefined;
    const text = content?.toString("latin1");
    const pem = text !== undefined && PEM_PRIVATE_KEY.test(text);
    if (pem && this.isSigningKey(text)) return { reason: "signing key" };
    if (/\.rsa$/i.test(rel) && !reincluded()) return { reason: "private key (*.rsa)" };
    if (pem && !reincluded()) return { reason: "PEM private key" };
    return { ...(content ? { content } : {}), pem };
  }

  /** Whether PEM text holds the signing key (unencrypted; an encrypted copy stays excluded by content). */
  private isSigningKey(text: string): boolean {
    if (!this.signing) return false;
    try {
      const pub = createPublicKey(createPrivateKey(text)).export({ type: "spki", format: "pem" }).toString();
      return pub === this.signing.publicKeyPem;
    } catch {
      return false;
    }
  }
}
