import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, test } from "node:test";
import * as zlib from "node:zlib";
import { ParallelGzip } from "../../provider/archive/parallel-gzip";
import { looksIncompressible, runsOf, SEGMENT_SIZE } from "../../provider/archive/stored-blocks";
import { tempDir } from "../helpers/tmp";

async function compress(
  input: Buffer,
  chunk: number,
  options: ConstructorParameters<typeof ParallelGzip>[0] = {},
): Promise<Buffer> {
  const out: Buffer[] = [];
  const chunks = function* () {
    for (let o = 0; o < input.length; o += chunk) yield input.subarray(o, o + chunk);
  };
  await pipeline(
    Readable.from(chunks()),
    new ParallelGzip(options),
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

function sample(): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    parts.push(Buffer.from(`record ${i}: the quick brown fox\n`.repeat(900 + i)));
    parts.push(randomBytes(7_000 + i * 13));
  }
  return Buffer.concat(parts);
}

describe("parallel gzip", () => {
  test("output decompresses with zlib and with GNU gzip, and passes gzip -t", async () => {
    const input = sample();
    const gz = await compress(input, 65_536, { blockSize: 64 << 10 });
    assert.deepEqual(zlib.gunzipSync(gz), input);
    const file = path.join(tempDir(), "x.gz");
    writeFileSync(file, gz);
    assert.equal(spawnSync("gzip", ["-t", file]).status, 0);
    const out = spawnSync("gzip", ["-dc", file], { maxBuffer: 64 << 20 });
    assert.equal(out.status, 0);
    assert.ok(out.stdout.equals(input));
  });

  test("bytes depend only on the input, level and block size, not on how the input was chunked", async () => {
    const input = sample();
    const a = await compress(input, 1_000, { blockSize: 100_000 });
    const b = await compress(input, 333_333, { blockSize: 100_000, concurrency: 1 });
    assert.deepEqual(a, b);
    const c = await compress(input, 1_000, { blockSize: 100_000, level: 1 });
    assert.notDeepEqual(a, c);
  });

  test("edge sizes: empty, one byte, exactly one block, a block plus one", async () => {
    for (const n of [0, 1, 64 << 10, (64 << 10) + 1, 32 << 10]) {
      const input = randomBytes(n);
      const gz = await compress(input, 4096, { blockSize: 64 << 10 });
      assert.deepEqual(zlib.gunzipSync(gz), input, `size ${n}`);
    }
  });

  test("compression ratio stays within a hair of single-stream gzip (dictionaries carry across blocks)", async () => {
    const input = Buffer.from("abcdefghij".repeat(200_000));
    const ours = await compress(input, 65_536);
    const single = zlib.gzipSync(input, { level: 6 });
    assert.ok(ours.length < single.length * 1.05 + 256, `${ours.length} vs ${single.length}`);
  });

  test("incompressible stretches are stored, text is deflated, and the mix still round-trips", async () => {
    const text = Buffer.from("config value line: the quick brown fox jumps\n".repeat(4000));
    const random = randomBytes(400_000);
    assert.equal(looksIncompressible(random.subarray(0, SEGMENT_SIZE)), true);
    assert.equal(looksIncompressible(text.subarray(0, SEGMENT_SIZE)), false);
    // A segment where random data meets text (a file boundary) is deflated, not stored.
    const boundary = Buffer.concat([
      random.subarray(0, SEGMENT_SIZE / 2),
      text.subarray(0, SEGMENT_SIZE / 2),
    ]);
    assert.equal(looksIncompressible(boundary), false);
    const block = Buffer.concat([
      text.subarray(0, 20_000),
      random.subarray(0, 100_000),
      text.subarray(0, 30_000),
    ]);
    const runs = runsOf(block, true);
    assert.deepEqual(
      runs.map((r) => r.stored),
      [false, true, false],
    );
    // Every byte of the stored run is random data (the run never swallows text).
    const stored = runs[1]!;
    assert.ok(stored.start >= 20_000 && stored.end <= 120_000, `${stored.start}-${stored.end}`);

    const input = Buffer.concat([text, random, text, random.subarray(0, 9_000), text]);
    const gz = await compress(input, 50_000);
    assert.deepEqual(zlib.gunzipSync(gz), input);
    const file = path.join(tempDir(), "mixed.gz");
    writeFileSync(file, gz);
    assert.equal(spawnSync("gzip", ["-t", file]).status, 0);
    // The random part costs its own size (stored), the text part next to nothing.
    assert.ok(gz.length < random.length + 9_000 + 20_000, `${gz.length}`);
    assert.ok(gz.length > random.length, `${gz.length}`);
  });

  test("the output does not depend on the number of blocks in flight (cores)", async () => {
    const input = Buffer.concat([sample(), randomBytes(300_000), sample()]);
    const one = await compress(input, 4_096, { concurrency: 1 });
    const many = await compress(input, 1 << 20, { concurrency: 16 });
    assert.deepEqual(one, many);
    assert.deepEqual(zlib.gunzipSync(one), input);
  });

  test("all-random input ends with a final stored block that gzip accepts", async () => {
    for (const n of [SEGMENT_SIZE * 2, 256 << 10, (256 << 10) + SEGMENT_SIZE * 3]) {
      const input = randomBytes(n);
      const gz = await compress(input, 65_536);
      assert.deepEqual(zlib.gunzipSync(gz), input, `size ${n}`);
      const file = path.join(tempDir(), `random-${n}.gz`);
      writeFileSync(file, gz);
      assert.equal(spawnSync("gzip", ["-t", file]).status, 0, `size ${n}`);
    }
  });
});
