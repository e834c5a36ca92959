/**
 * An exclusive lock between processes, held as a lock file beside what it protects (a repository's
 * `.publish.lock`, a build guest's `<key>.lock`).
 *
 * - The lock file appears with its content in one step: the owner line is written to a private temp
 *   file which is then hard-linked to the lock name (`link` fails if the name exists). So a lock file
 *   is never seen empty or half-written while its owner is alive.
 * - The owner line is `<pid> <host> <start>`, where `<start>` is the process start time from
 *   /proc, so a PID reused by an unrelated process after a crash or reboot is recognised as stale.
 * - A stale lock is taken over under a second, short-lived lock (`<lock>.takeover`): the taker
 *   re-reads the lock file under it and removes it only if it is still the same stale file. Two
 *   takers can therefore never both remove a lock, nor remove a fresh one the other just created.
 *   A takeover lock is held for a few file operations; one older than TAKEOVER_STALE_MS belongs to
 *   a killed taker and is removed.
 * - A waiter says what it waits for (the owner, its age) and how to clear a lock left behind.
 */
import { randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { DistrolessError } from "./errors";

export interface FileLock {
  release(): Promise<void>;
}

export interface LockOptions {
  timeoutMs?: number;
  pollMs?: number;
  /** Told once the lock has been busy for `waitNoticeMs` (default 2 s), then every minute. */
  onWait?: (message: string) => void;
  waitNoticeMs?: number;
}

/** An empty or unreadable lock file older than this is a leftover, not a lock being created. */
const EMPTY_STALE_MS = 5_000;
const TAKEOVER_STALE_MS = 10_000;

interface Owner {
  pid: number;
  host?: string;
  start?: string;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined off Linux. */
async function processStart(pid: number): Promise<string | undefined> {
  const stat = await fsp.readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (!stat) return undefined;
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields[19];
}

async function ownerLine(): Promise<string> {
  const start = await processStart(process.pid);
  return `${process.pid} ${os.hostname()}${start ? ` ${start}` : ""}\n`;
}

function parseOwner(text: string): Owner | undefined {
  const [pid, host, start] = text.trim().split(/\s+/);
  const n = Number(pid);
  if (!Number.isSafeInteger(n) || n <= 0) return undefined;
  const owner: Owner = { pid: n };
  if (host) owner.host = host;
  if (start) owner.start = start;
  return owner;
}

type Verdict = { stale: true; why: string } | { stale: false; holder: string };

/** Is the lock file as it is now left behind by a process that is gone? */
async function judge(lockFile: string): Promise<Verdict | undefined> {
  let text: string;
  let mtimeMs: number;
  try {
    const [t, st] = await Promise.all([fsp.readFile(lockFile, "utf8"), fsp.stat(lockFile)]);
    text = t;
    mtimeMs = st.mtimeMs;
  } catch {
    return undefined; // released meanwhile: try to take it
  }
  const age = `${Math.round((Date.now() - mtimeMs) / 1000)} s old`;
  const owner = parseOwner(text);
  if (!owner) {
    if (Date.now() - mtimeMs > EMPTY_STALE_MS) return { stale: true, why: "it names no process" };
    return { stale: false, holder: `a process still writing it (${age})` };
  }
  const holder = `process ${owner.pid}${owner.host ? ` on ${owner.host}` : ""} (${age})`;
  // Another host's process cannot be checked from here (a shared file system): it holds the lock.
  if (owner.host && owner.host !== os.hostname()) return { stale: false, holder };
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return { stale: true, why: `${holder} is gone` };
  }
  if (owner.start) {
    const start = await processStart(owner.pid);
    if (start !== undefined && start !== owner.start) {
      return { stale: true, why: `${holder} is gone (its PID now belongs to another process)` };
    }
  }
  return { stale: false, holder };
}

/** Creates `file` holding `content`, or fails with EEXIST: never visible without its content. */
async function createWithContent(file: string, content: string): Promise<boolean> {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
  await fsp.writeFile(tmp, content);
  try {
    await fsp.link(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/**
 * Temp files of lock creators killed between writing and linking (`.<lock>.<pid>.<hex>.tmp`): only
 * those whose process is gone, since a live waiter's temp file is about to be linked.
 */
async function sweepDeadTemps(lockFile: string): Promise<void> {
  const dir = path.dirname(lockFile);
  const prefix = `.${path.basename(lockFile)}.`;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix) || !name.endsWith(".tmp")) continue;
    const pid = Number(name.slice(prefix.length).split(".")[0]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ESRCH")
        await fsp.rm(path.join(dir, name), { force: true });
    }
  }
}

/** Removes the lock file if, under the takeover lock, it is still stale. */
async function takeOver(lockFile: string, line: string): Promise<void> {
  const guard = `${lockFile}.takeover`;
  if (!(await createWithContent(guard, line))) {
    const st = await fsp.stat(guard).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > TAKEOVER_STALE_MS) await fsp.rm(guard, { force: true });
    return; // someone else is taking over; the caller retries
  }
  try {
    const verdict = await judge(lockFile);
    if (verdict?.stale) await fsp.rm(lockFile, { force: true });
  } finally {
    await fsp.rm(guard, { force: true });
  }
}

export async function acquireLock(lockFile: string, options: LockOptions = {}): Promise<FileLock> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const pollMs = options.pollMs ?? 50;
  const started = Date.now();
  let nextNotice = started + (options.waitNoticeMs ?? 2_000);
  await fsp.mkdir(path.dirname(lockFile), { recursive: true });
  const line = await ownerLine();
  const clear = `if no such process is running, delete ${lockFile}`;
  for (;;) {
    if (await createWithContent(lockFile, line)) {
      await sweepDeadTemps(lockFile);
      return {
        release: async () => {
          // Only our own lock: after a takeover by mistake it would be someone else's.
          const now = await fsp.readFile(lockFile, "utf8").catch(() => undefined);
          if (now === line) await fsp.rm(lockFile, { force: true });
        },
      };
    }
    const verdict = await judge(lockFile);
    if (verdict?.stale) {
      await takeOver(lockFile, line);
      continue;
    }
    const holder = verdict && !verdict.stale ? verdict.holder : "another process";
    if (Date.now() - started > timeoutMs) {
      throw new DistrolessError(
        "E_INTERNAL",
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for the lock held by ${holder}; ${clear}`,
        { subject: lockFile },
      );
    }
    if (options.onWait && Date.now() >= nextNotice) {
      options.onWait(`waiting for ${lockFile}, held by ${holder}; ${clear}`);
      nextNotice = Date.now() + 60_000;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export async function withLock<T>(lockFile: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> {
  const lock = await acquireLock(lockFile, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
