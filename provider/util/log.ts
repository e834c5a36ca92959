/**
 * Progress reporting the core uses without knowing who listens: the CLI prints to stderr, the Pulumi
 * layer forwards to `pulumi.log` with the resource attached, tests collect the lines.
 */
export interface Progress {
  info(message: string): void;
  warn(message: string): void;
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
