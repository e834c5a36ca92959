/**
 * The user's extra CA certificates (NODE_EXTRA_CA_CERTS), loaded when the first TLS connection is
 * made instead of when the process starts.
 *
 * Node 20 reads that file and builds its whole root store (~140 bundled CAs, then the file's) while
 * it starts, before any of our code runs: ~90 ms of CPU in every command, even those that make no
 * TLS connection at all (a lock from a local repository, a push to a plain-HTTP registry). So the
 * bin (launch.ts) starts node without the variable, hands us the file's name here, and puts the
 * variable back into process.env so every process we start gets it as the user set it.
 *
 * Every TLS connection we make goes through undici agents (util/undici-lean.ts), which ask
 * `deferredTrust()` for the secure context to use: the CAs Node would have trusted by default plus
 * the file's, built once. A file that cannot be read fails that connection with an error naming it
 * (Node itself only warned and went on without the CAs, which ends in a certificate error that does
 * not say why).
 */
import { readFileSync } from "node:fs";
import type { SecureContext } from "node:tls";
import { DistrolessError } from "./errors";

let deferredFile: string | undefined;
const contexts = new Map<string, SecureContext>();

/** Called by the bin when it started node without NODE_EXTRA_CA_CERTS (that file's name). */
export function deferExtraCaCertificates(file: string | undefined): void {
  deferredFile = file || undefined;
  contexts.clear();
}

/** Whether TLS connections must be given the deferred CAs (the bin deferred them). */
export function hasDeferredCaCertificates(): boolean {
  return deferredFile !== undefined;
}

type TlsWithDefaults = typeof import("node:tls") & {
  /** Node >= 22.15: the CAs trusted by default (bundled, or the system's under --use-system-ca). */
  getCACertificates?: (type: "default") => string[];
};

/**
 * The secure context for a TLS connection: the deferred file's CAs added to `ca` (an agent's own
 * list, which replaces the defaults as Node's `ca` option does), else to the CAs Node trusts by
 * default; undefined when nothing was deferred (Node's defaults then already hold the file's CAs).
 * Built once per list.
 */
export function deferredTrust(ca?: readonly (string | Buffer)[]): SecureContext | undefined {
  const file = deferredFile;
  if (file === undefined) return undefined;
  const key = ca ? ca.join("\n") : "";
  const known = contexts.get(key);
  if (known) return known;
  let pem: string;
  try {
    pem = readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new DistrolessError(
      "E_MISSING",
      `the NODE_EXTRA_CA_CERTS file cannot be read (${reason}); no TLS connection is made without the CAs it adds`,
      { subject: file },
    );
  }
  const tls = require("node:tls") as TlsWithDefaults;
  const base = ca ?? (tls.getCACertificates ? tls.getCACertificates("default") : tls.rootCertificates);
  let context: SecureContext;
  try {
    context = tls.createSecureContext({ ca: [...base, pem] });
  } catch (err) {
    throw new DistrolessError(
      "E_FORMAT",
      `the NODE_EXTRA_CA_CERTS file holds no usable PEM certificate (${(err as Error).message})`,
      { subject: file },
    );
  }
  contexts.set(key, context);
  return context;
}
