import { formatByteProgress, type Progress } from "../util/log";
import type { SecretScrubber } from "./secrets";

interface PulumiLog {
  info(msg: string, resource?: unknown, streamId?: number, ephemeral?: boolean): Promise<void>;
  warn(msg: string, resource?: unknown, streamId?: number, ephemeral?: boolean): Promise<void>;
}

/**
 * Progress for a resource operation, through `pulumi.log` (the engine shows it with the operation),
 * prefixed with the resource name and scrubbed of secrets.
 */
export function resourceProgress(resourceName: string, scrubber: SecretScrubber): Progress {
  const log = loadPulumiLog();
  const say = (level: "info" | "warn", message: string) => {
    const text = scrubber.scrub(`${resourceName}: ${message}`);
    if (log) void log[level](text, undefined, undefined, level === "info");
    else process.stderr.write(`${level}: ${text}\n`);
  };
  // Bytes of large transfers become the engine's ephemeral status, at most every BYTES_INTERVAL_MS
  // per transfer: the engine shows it with the operation and drops it when the operation ends.
  const shownAt = new Map<string, number>();
  const bytes = (label: string, done: number, total: number) => {
    if (total < LARGE_TRANSFER) return;
    if (done >= total) {
      shownAt.delete(label);
      return;
    }
    const now = Date.now();
    if (now - (shownAt.get(label) ?? Number.NEGATIVE_INFINITY) < BYTES_INTERVAL_MS) return;
    shownAt.set(label, now);
    say("info", formatByteProgress(label, done, total));
  };
  return { info: (m) => say("info", m), warn: (m) => say("warn", m), bytes };
}

/** Transfers below this are not worth a status line. */
const LARGE_TRANSFER = 1 << 20;
const BYTES_INTERVAL_MS = 2000;

function loadPulumiLog(): PulumiLog | undefined {
  try {
    return (require("@pulumi/pulumi") as { log: PulumiLog }).log;
  } catch {
    return undefined;
  }
}
