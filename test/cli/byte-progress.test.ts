import * as assert from "node:assert/strict";
import { describe, test } from "node:test";
import { cliProgress, LARGE_TRANSFER } from "../../provider/cli/byte-progress";

const MiB = 1 << 20;

/** A renderer writing into a string, on a clock the test moves. */
function rendered(tty: boolean) {
  let out = "";
  let clock = 0;
  const progress = cliProgress((t) => (out += t), { tty, columns: 100, now: () => clock });
  return {
    progress,
    advance: (ms: number) => (clock += ms),
    /** What was written since the last take, with ESC shown as `<ESC>`. */
    take: () => {
      const t = out.replaceAll("\x1b", "<ESC>");
      out = "";
      return t;
    },
  };
}

describe("CLI progress renderer", () => {
  test("terminal: draws at most every 100 ms of its clock, erases for a message and redraws after it", () => {
    const r = rendered(true);
    r.progress.bytes!("uploading a", MiB, 4 * MiB);
    assert.match(r.take(), /^\ruploading a \[#####-{15}\] 25% 1\.0 MiB\/4\.0 MiB<ESC>\[K$/);
    r.advance(50);
    r.progress.bytes!("uploading a", 2 * MiB, 4 * MiB);
    assert.equal(r.take(), "", "throttled");
    r.advance(50);
    r.progress.bytes!("uploading a", 3 * MiB, 4 * MiB);
    assert.match(r.take(), /75% 3\.0 MiB\/4\.0 MiB/);
    r.progress.info("a message");
    assert.match(r.take(), /^\r<ESC>\[Ka message\n\ruploading a \[#{15}-{5}\] 75%/);
    // Two transfers: one bar over both, naming the latest and how many more.
    r.advance(100);
    r.progress.bytes!("downloading b", MiB, 4 * MiB);
    assert.match(r.take(), /downloading b \(\+1 more\) \[#{10}-{10}\] 50% 4\.0 MiB\/8\.0 MiB/);
    r.progress.bytes!("uploading a", 4 * MiB, 4 * MiB);
    assert.match(r.take(), /^\rdownloading b \[#####-{15}\] 25%/, "a finished transfer leaves the bar");
    // A transfer that begins is drawn at once, even within the interval: a fast one is still named.
    r.progress.bytes!("uploading c", MiB, 2 * MiB);
    assert.match(r.take(), /^\ruploading c \(\+1 more\) /);
    r.progress.bytes!("uploading c", 2 * MiB, 2 * MiB);
    r.take();
    r.progress.finish();
    assert.equal(r.take(), "\r<ESC>[K", "erased at the end");
    r.progress.finish();
    assert.equal(r.take(), "", "nothing left to erase");
  });

  test("terminal: a narrow one cuts the name, never the numbers", () => {
    let out = "";
    const p = cliProgress((t) => (out += t), { tty: true, columns: 50, now: () => 0 });
    p.bytes!(`uploading ${"x".repeat(80)}`, MiB, 4 * MiB);
    const line = out.slice(1, out.indexOf("\x1b"));
    assert.ok(line.length <= 49, line);
    assert.match(line, /… \[#####-{15}\] 25% 1\.0 MiB\/4\.0 MiB$/);
  });

  test("not a terminal: a line per quarter passed, or after 5 s without one; nothing when done", () => {
    const r = rendered(false);
    r.progress.bytes!("downloading p", MiB / 2, 8 * MiB);
    assert.equal(r.take(), "");
    r.progress.bytes!("downloading p", 2 * MiB, 8 * MiB);
    assert.equal(r.take(), "downloading p: 2.0 MiB of 8.0 MiB (25%)\n");
    r.progress.bytes!("downloading p", 3 * MiB, 8 * MiB);
    assert.equal(r.take(), "");
    r.advance(5000);
    r.progress.bytes!("downloading p", 3.5 * MiB, 8 * MiB);
    assert.equal(r.take(), "downloading p: 3.5 MiB of 8.0 MiB (43%)\n", "a slow transfer still speaks");
    r.progress.bytes!("downloading p", 7 * MiB, 8 * MiB);
    assert.equal(r.take(), "downloading p: 7.0 MiB of 8.0 MiB (87%)\n", "two quarters at once: one line");
    r.progress.bytes!("downloading p", 8 * MiB, 8 * MiB);
    assert.equal(r.take(), "");
    r.progress.finish();
    assert.equal(r.take(), "", "no terminal control in plain mode");
  });

  test("small transfers are not shown at all", () => {
    for (const tty of [true, false]) {
      const r = rendered(tty);
      r.progress.bytes!("uploading small", LARGE_TRANSFER / 2, LARGE_TRANSFER - 1);
      r.progress.finish();
      assert.equal(r.take(), "");
    }
  });
});
