/**
 * Issue #9 item 10: the publish lock. A stale lock (dead PID) is taken over atomically: with eight
 * publishers racing for it, never two hold it at once, and nobody's temp file is deleted under it.
 * A lock that is busy says what it waits for and how to clear it; leftovers (an empty lock file, a
 * PID now reused by another process) are recognised.
 */
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import { readIndexArchive } from "../../provider/apk/index-archive";
import { PUBLISH_LOCK, publishPackages } from "../../provider/repository/publish";
import { isDistrolessError } from "../../provider/util/errors";
import { acquireLock } from "../../provider/util/file-lock";
import { projectRoot } from "../helpers/fixtures";
import { makeApk, makeTestKey, type TestKey } from "../helpers/hostile-repo";
import { tempDir } from "../helpers/tmp";

const WORK = tempDir("pd-publock-");

/** A PID that belonged to a process which has exited (the kernel may hand it out again, rarely). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "0"]);
  assert.equal(r.status, 0);
  return r.pid;
}

/** A live process unrelated to publishing; killed by the caller. */
function sleeper() {
  return spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
}

function childPublish(root: string, apk: string, keyFile: string, log: string, startAt: number) {
  const mod = path.join(projectRoot, "dist/provider/repository/publish.js");
  const me = path.basename(apk);
  // The critical section, logged: a start must always be followed by its own end.
  const script = `
    const fs = require("node:fs");
    const publish = require(${JSON.stringify(mod)}).publishPackages;
    // Every publisher reaches the lock at the same moment: the race is for real.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ${startAt} - Date.now()));
    publish({
      root: ${JSON.stringify(root)},
      packages: [${JSON.stringify(apk)}],
      signingKey: ${JSON.stringify(keyFile)},
      beforeIndex: async () => {
        fs.appendFileSync(${JSON.stringify(log)}, "start ${me}\\n");
        await new Promise((r) => setTimeout(r, 30));
        fs.appendFileSync(${JSON.stringify(log)}, "end ${me}\\n");
      },
    }).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); });`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const done = new Promise<{ code: number | null; stderr: string }>((resolve) =>
    child.on("close", (code) => resolve({ code, stderr })),
  );
  return Object.assign(done, { child });
}

describe("the publish lock", () => {
  let key: TestKey;
  const apks: string[] = [];
  before(async () => {
    key = await makeTestKey(path.join(WORK, "keys"));
    for (let i = 0; i < 8; i++) {
      apks.push(await makeApk(path.join(WORK, "b"), { name: `pkg${i}`, version: "1.0-r0", key: key.key }));
    }
  });

  test("a dead PID's lock and eight concurrent publishers: one holder at a time, every package lands (3 rounds)", async () => {
    for (let round = 0; round < 3; round++) {
      const root = tempDir("pd-publock-race-");
      writeFileSync(path.join(root, PUBLISH_LOCK), `${deadPid()}\n`);
      const log = path.join(root, "..", `${path.basename(root)}.log`);
      writeFileSync(log, "");
      const startAt = Date.now() + 1500; // after every child has started
      const results = await Promise.all(
        apks.map((a) => childPublish(root, a, key.privateKeyFile, log, startAt)),
      );
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const lines = readFileSync(log, "utf8").trim().split("\n");
      assert.equal(lines.length, 16);
      for (let i = 0; i < lines.length; i += 2) {
        const [s, who] = lines[i]!.split(" ");
        assert.equal(s, "start", `round ${round}: ${lines.join(", ")}`);
        assert.equal(lines[i + 1], `end ${who}`, `round ${round}, two holders at once: ${lines.join(", ")}`);
      }
      const idx = await readIndexArchive(readFileSync(path.join(root, "x86_64", "APKINDEX.tar.gz")), {
        keyring: key.keyring,
      });
      assert.deepEqual(
        idx.entries.map((e) => e.name),
        apks.map((_, i) => `pkg${i}`),
      );
      assert.deepEqual(
        readdirSync(root).filter((n) => n.endsWith(".tmp") || n.includes(PUBLISH_LOCK)),
        [],
        "no lock or temp file left",
      );
    }
  });

  test("a lock held by a live process: the publisher says whom it waits for and how to clear it, and goes on once it is gone", async () => {
    const root = tempDir("pd-publock-live-");
    const holder = sleeper();
    const lock = path.join(root, PUBLISH_LOCK);
    writeFileSync(lock, `${holder.pid}\n`); // the old format: a PID only
    const warnings: string[] = [];
    let resolveWarned: () => void = () => {};
    const warned = new Promise<void>((r) => {
      resolveWarned = r;
    });
    const publishing = publishPackages({
      root,
      packages: [apks[0]!],
      signingKey: key.key,
      progress: {
        info: () => {},
        warn: (m) => {
          warnings.push(m);
          resolveWarned();
        },
      },
    });
    await warned;
    assert.match(
      warnings[0]!,
      new RegExp(
        `^waiting for ${lock.replace(/[.]/g, "\\.")}, held by process ${holder.pid} \\(\\d+ s old\\); if no such process is running, delete ${lock.replace(/[.]/g, "\\.")}$`,
      ),
    );
    holder.kill("SIGKILL");
    const res = await publishing;
    assert.deepEqual(
      res.archs[0]!.packages.map((p) => p.name),
      ["pkg0"],
    );
  });

  test("a timed-out wait names the holder and the way out", async () => {
    const root = tempDir("pd-publock-timeout-");
    const holder = sleeper();
    try {
      const lock = path.join(root, PUBLISH_LOCK);
      writeFileSync(lock, `${holder.pid}\n`);
      await assert.rejects(acquireLock(lock, { timeoutMs: 200, pollMs: 20 }), (err: unknown) => {
        assert.ok(isDistrolessError(err, "E_INTERNAL"));
        assert.match(
          err.message,
          new RegExp(`held by process ${holder.pid} .*; if no such process is running, delete `),
        );
        return true;
      });
    } finally {
      holder.kill("SIGKILL");
    }
  });

  test("leftovers are taken over: an old empty lock file, and a PID now used by an unrelated process", async () => {
    const root = tempDir("pd-publock-left-");
    const lock = path.join(root, PUBLISH_LOCK);
    writeFileSync(lock, "");
    const old = new Date(Date.now() - 60_000);
    utimesSync(lock, old, old);
    await publishPackages({ root, packages: [apks[0]!], signingKey: key.key });

    // The PID is alive, but its start time is not the one the lock recorded: a reused PID.
    const holder = sleeper();
    try {
      writeFileSync(lock, `${holder.pid} ${os.hostname()} 1\n`);
      const res = await publishPackages({ root, packages: [apks[1]!], signingKey: key.key });
      assert.deepEqual(
        res.archs[0]!.packages.map((p) => p.name),
        ["pkg0", "pkg1"],
      );
    } finally {
      holder.kill("SIGKILL");
    }
  });

  test("publishers killed (SIGKILL) at random points, 4 times: the next publish takes over, the index stays whole", async () => {
    const root = tempDir("pd-publock-kill-");
    const log = path.join(root, "..", `${path.basename(root)}.log`);
    await publishPackages({ root, packages: [apks[0]!], signingKey: key.key });
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 1; i <= 4; i++) {
      const run = childPublish(root, apks[i]!, key.privateKeyFile, log, 0);
      await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 600)));
      run.child.kill("SIGKILL");
      await run;
      // Whatever the killed one left (its lock, temp files), the next publisher carries on.
      await publishPackages({ root, packages: [apks[i + 3]!], signingKey: key.key });
      const idx = await readIndexArchive(readFileSync(path.join(root, "x86_64", "APKINDEX.tar.gz")), {
        keyring: key.keyring,
      });
      for (const e of idx.entries) {
        assert.ok(
          existsSync(path.join(root, "x86_64", `${e.name}-${e.version}.apk`)),
          `${e.name} listed but missing`,
        );
      }
      assert.ok(idx.entries.some((e) => e.name === `pkg${i + 3}`));
      assert.deepEqual(
        readdirSync(root).filter((n) => n.includes(PUBLISH_LOCK)),
        [],
        "no lock, takeover guard or lock temp file left",
      );
    }
  });
});
