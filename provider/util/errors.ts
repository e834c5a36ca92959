/**
 * One error type for everything the core reports to users. Every error carries what it is about
 * (a file, a package, a YAML path, a registry) so messages stay actionable once they surface through
 * the CLI or a Pulumi resource, which prefixes the resource name.
 */
export type ErrorCode =
  | "E_CONFIG" // invalid user config (YAML, unknown field, bad value)
  | "E_FORMAT" // a file does not have the expected format (corrupt apk, bad tar, bad gzip)
  | "E_HOSTILE" // input that tries to escape or exhaust (path traversal, size bombs)
  | "E_SIGNATURE" // missing, unknown or invalid signature
  | "E_CHECKSUM" // content does not match its recorded checksum
  | "E_RESOLVE" // the solver cannot satisfy the world
  | "E_CONFLICT" // two packages write the same path
  | "E_NETWORK" // unreachable host, HTTP failure
  | "E_REGISTRY" // an OCI registry refused an operation
  | "E_AUTH" // credentials missing or rejected
  | "E_BUILD" // a build step failed
  | "E_MISSING" // a required file, tool, package or cache entry is not there
  | "E_INTERNAL";

export class DistrolessError extends Error {
  readonly code: ErrorCode;
  /** The file, package, YAML path or URL the error is about, when one applies. */
  readonly subject: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { subject?: string; cause?: unknown }) {
    super(options?.subject ? `${options.subject}: ${message}` : message, { cause: options?.cause });
    this.name = "DistrolessError";
    this.code = code;
    this.subject = options?.subject;
  }
}

export function isDistrolessError(err: unknown, code?: ErrorCode): err is DistrolessError {
  return err instanceof DistrolessError && (code === undefined || err.code === code);
}

/** Adds a subject (a file name, a package) in front of an error raised deeper down, keeping its code. */
export function withSubject<T>(subject: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw rewrap(subject, err);
  }
}

export async function withSubjectAsync<T>(subject: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw rewrap(subject, err);
  }
}

function rewrap(subject: string, err: unknown): DistrolessError {
  if (err instanceof DistrolessError) {
    if (err.subject === subject || err.message.startsWith(`${subject}: `)) return err;
    const wrapped = new DistrolessError(err.code, err.message, { subject, cause: err.cause ?? err });
    return wrapped;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new DistrolessError("E_INTERNAL", message, { subject, cause: err });
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
