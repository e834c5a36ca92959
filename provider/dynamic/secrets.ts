/**
 * Secrets (signing keys, registry passwords) arrive as plain strings: the engine strips their
 * secret wrapper before calling a dynamic provider and re-applies it by property name. So the
 * provider keeps them under their own input names, never copies them elsewhere, and scrubs them
 * from anything it says (errors, logs).
 */
export class SecretScrubber {
  private readonly values: string[] = [];

  add(value: unknown): this {
    if (typeof value === "string" && value.length >= 4) {
      this.values.push(value);
      // PEM bodies also show up line by line (e.g. in a library's error message).
      if (value.includes("-----BEGIN")) {
        for (const line of value.split("\n"))
          if (line.length >= 32 && !line.startsWith("-----")) this.values.push(line);
      }
    }
    return this;
  }

  scrub(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join("[secret]");
    return out;
  }

  /** An Error safe to hand to the engine: same message minus secrets, no stack with values. */
  scrubError(err: unknown, prefix: string): Error {
    const message = err instanceof Error ? err.message : String(err);
    const safe = new Error(`${prefix}${this.scrub(message)}`);
    safe.stack = `${safe.message}`;
    return safe;
  }
}
