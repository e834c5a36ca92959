import { formatByteProgress, formatBytes, type Progress } from "../util/log";

/**
 * The CLI's progress on stderr (never stdout, which `--json` owns): messages as lines, and the
 * bytes of large transfers either as one live bar (a terminal: one line rewritten with `\r` when a
 * transfer begins and then at most ~10 times a second, erased before any message and at the end)
 * or as occasional plain lines (a pipe or a log: a line per quarter of a transfer, or every 5 s of
 * a slow one).
 */
export interface CliProgress extends Progress {
  /** Erases the bar if it is showing (before other output); the next report draws it again. */
  erase(): void;
  /** Forgets every transfer and erases the bar: the verb has ended. */
  finish(): void;
}

export interface CliProgressOptions {
  /** A terminal gets the live bar; anything else the plain lines. */
  tty: boolean;
  /** Terminal width (the bar is cut to fit); default 80. */
  columns?: number;
  /** The clock (ms); tests of the throttling give their own. */
  now?: () => number;
}

/** Transfers smaller than this finish too fast to be worth a bar or a line. */
export const LARGE_TRANSFER = 1 << 20;
const BAR_INTERVAL_MS = 100;
const LINE_INTERVAL_MS = 5000;
const BAR_WIDTH = 20;
const ERASE_LINE = "\r\x1b[K";

/** One transfer in flight: mutated in place on every report (no allocation per chunk). */
interface Transfer {
  done: number;
  total: number;
  /** Plain mode: the last quarter printed and when. */
  quarter: number;
  lineAt: number;
}

export function cliProgress(write: (text: string) => void, options: CliProgressOptions): CliProgress {
  const now = options.now ?? Date.now;
  const columns = Math.max(20, options.columns ?? 80);
  const active = new Map<string, Transfer>();
  let barShown = false;
  let drawnAt = Number.NEGATIVE_INFINITY;
  /** The transfer the bar names: the one reported last. */
  let latest = "";

  const erase = () => {
    if (!barShown) return;
    write(ERASE_LINE);
    barShown = false;
  };

  const draw = () => {
    drawnAt = now();
    if (active.size === 0) return erase();
    let done = 0;
    let total = 0;
    for (const t of active.values()) {
      done += t.done;
      total += t.total;
    }
    const filled = Math.min(BAR_WIDTH, Math.floor((done * BAR_WIDTH) / total));
    const percent = Math.min(100, Math.floor((done * 100) / total));
    const name = active.has(latest) ? latest : active.keys().next().value!;
    const more = active.size > 1 ? ` (+${active.size - 1} more)` : "";
    const bar = ` [${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${percent}% ${formatBytes(done)}/${formatBytes(total)}`;
    // The name gives way on a narrow terminal: the bar and the numbers always fit on one line.
    const room = Math.max(0, columns - 1 - bar.length);
    const label = `${name}${more}`;
    const shown = label.length <= room ? label : `${label.slice(0, Math.max(0, room - 1))}…`;
    write(`\r${shown}${bar}\x1b[K`);
    barShown = true;
  };

  const say = (text: string) => {
    const redraw = barShown;
    erase();
    write(text);
    if (redraw && active.size > 0) draw();
  };

  return {
    info: (m) => say(`${m}\n`),
    warn: (m) => say(`warning: ${m}\n`),
    bytes(label, done, total) {
      if (total < LARGE_TRANSFER) return;
      let t = active.get(label);
      if (done >= total) {
        if (!t) return;
        active.delete(label);
        if (options.tty) draw();
        return;
      }
      const started = !t;
      if (!t) {
        t = { done, total, quarter: 0, lineAt: now() };
        active.set(label, t);
      }
      t.done = done;
      t.total = total;
      latest = label;
      if (options.tty) {
        // A transfer that begins is named at once: one that ends within the interval (a fast
        // local upload right after the layer's last drawing) would otherwise never be shown.
        if (started || now() - drawnAt >= BAR_INTERVAL_MS) draw();
        return;
      }
      const quarter = Math.floor((done * 4) / total);
      const at = now();
      if (quarter > t.quarter || at - t.lineAt >= LINE_INTERVAL_MS) {
        t.quarter = Math.max(t.quarter, quarter);
        t.lineAt = at;
        write(`${formatByteProgress(label, done, total)}\n`);
      }
    },
    erase() {
      erase();
      drawnAt = Number.NEGATIVE_INFINITY;
    },
    finish() {
      active.clear();
      erase();
    },
  };
}
