import type { Progress } from "../util/log";
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
  return { info: (m) => say("info", m), warn: (m) => say("warn", m) };
}

function loadPulumiLog(): PulumiLog | undefined {
  try {
    return (require("@pulumi/pulumi") as { log: PulumiLog }).log;
  } catch {
    return undefined;
  }
}
