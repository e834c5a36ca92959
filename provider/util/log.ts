/**
 * Progress reporting the core uses without knowing who listens: the CLI prints to stderr, the Pulumi
 * layer forwards to `pulumi.log` with the resource attached, tests collect the lines.
 */
export interface Progress {
  info(message: string): void;
  warn(message: string): void;
  /**
   * Bytes done of one large transfer (an upload, a download, a layer being written), named by
   * `label` (made once per transfer; the same string on every call). Called per chunk, so it must be
   * cheap: listeners throttle what they show. `done >= total` ends the transfer. Optional: the I/O
   * code reports only when a listener wants it.
   */
  bytes?(label: string, done: number, total: number): void;
}

export const silentProgress: Progress = {
  info: () => {},
  warn: () => {},
};

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** `label: 3.4 MiB of 8.0 MiB (42%)`: one transfer's progress as a line. */
export function formatByteProgress(label: string, done: number, total: number): string {
  const percent = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : 0;
  return `${label}: ${formatBytes(done)} of ${formatBytes(total)} (${percent}%)`;
}
