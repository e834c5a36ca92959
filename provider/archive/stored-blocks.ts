/**
 * Incompressible input (already-compressed files, random data) costs zlib as much time as text
 * (it searches for matches that are not there) and saves nothing: deflate falls back to stored
 * blocks anyway. klauspost's compress, which apko's and melange's pgzip use, skips such data
 * quickly; we do the same by classifying fixed-size segments of the input by their byte entropy
 * and writing the incompressible ones as stored blocks ourselves. The decision depends on the
 * segment's bytes only, so the output stays a pure function of the input.
 */

/** Classification granularity: fine enough to find one compressed file between text files. */
export const SEGMENT_SIZE = 4 << 10;
/**
 * Bytes of each segment whose histogram is taken: half from its start, half from its end, so a
 * segment where a compressed file meets text (a file boundary) looks mixed and is deflated.
 */
const SAMPLE_SIZE = 1 << 10;
/** A stretch is stored only when this many segments in a row look incompressible. */
const MIN_STORED_SEGMENTS = 2;
/**
 * Order-0 entropy of the sample, in bits per byte, at and above which a segment looks
 * incompressible. Over 1 KiB samples, random and gzip data measured 7.74-7.86; executables and
 * shared libraries 5-6 (p90 6.05), float arrays 6.9-7.35, text 4.5-5.
 */
const STORE_AT_BITS = 7.7;
/** A stored block holds at most this many bytes (LEN is 16 bits). */
const STORED_MAX = 0xffff;

/** `c * log2(c)` for every count a sample can have: the entropy sum without a log per byte value. */
const C_LOG_C = Float64Array.from({ length: SAMPLE_SIZE + 1 }, (_, c) => (c > 0 ? c * Math.log2(c) : 0));
const counts = new Uint32Array(256);

/** Do the samples at the start and the end of this segment look incompressible? */
export function looksIncompressible(segment: Uint8Array): boolean {
  const n = segment.length;
  if (n < 2 * SAMPLE_SIZE) return false;
  counts.fill(0);
  const half = SAMPLE_SIZE >> 1;
  for (let i = 0; i < half; i++) counts[segment[i]!]!++;
  for (let i = n - half; i < n; i++) counts[segment[i]!]!++;
  // n * H = n * log2(n) - sum(c * log2(c)), over the SAMPLE_SIZE sampled bytes
  let sum = 0;
  for (let b = 0; b < 256; b++) sum += C_LOG_C[counts[b]!]!;
  return SAMPLE_SIZE * Math.log2(SAMPLE_SIZE) - sum >= STORE_AT_BITS * SAMPLE_SIZE;
}

/** A run of consecutive segments of one kind: [start, end) in the block. */
export interface Run {
  start: number;
  end: number;
  stored: boolean;
}

/**
 * Cuts a block into runs to store and runs to deflate (segments are SEGMENT_SIZE apart from the
 * block's start, so the cut depends only on the block's bytes). A stored run needs
 * MIN_STORED_SEGMENTS segments; shorter ones are deflated with their neighbours, as each run costs
 * a deflate call of its own. `classify: false` gives one deflated run.
 */
export function runsOf(block: Uint8Array, classify: boolean): Run[] {
  if (!classify || block.length === 0) return [{ start: 0, end: block.length, stored: false }];
  const runs: Run[] = [];
  const push = (start: number, end: number, stored: boolean) => {
    const last = runs[runs.length - 1];
    if (last && last.stored === stored) last.end = end;
    else runs.push({ start, end, stored });
  };
  let storedFrom = -1;
  let storedCount = 0;
  for (let start = 0; start < block.length; start += SEGMENT_SIZE) {
    const end = Math.min(block.length, start + SEGMENT_SIZE);
    if (looksIncompressible(block.subarray(start, end))) {
      if (storedCount++ === 0) storedFrom = start;
      continue;
    }
    if (storedCount > 0) push(storedFrom, start, storedCount >= MIN_STORED_SEGMENTS);
    storedCount = 0;
    push(start, end, false);
  }
  if (storedCount > 0) push(storedFrom, block.length, storedCount >= MIN_STORED_SEGMENTS);
  return runs;
}

/**
 * `data` as deflate stored blocks. Must start at a byte boundary, which holds at the start of the
 * stream and after any zlib output ending in a sync flush. `final` marks the last block (BFINAL).
 */
export function storedBlocks(data: Uint8Array, final: boolean): Buffer {
  const count = Math.max(1, Math.ceil(data.length / STORED_MAX));
  const out = Buffer.allocUnsafe(data.length + count * 5);
  let o = 0;
  for (let i = 0; i < count; i++) {
    const start = i * STORED_MAX;
    const len = Math.min(STORED_MAX, data.length - start);
    // 3 header bits (BFINAL, BTYPE=00), then padding to the byte boundary: one byte.
    out[o++] = final && i === count - 1 ? 1 : 0;
    out.writeUInt16LE(len, o);
    out.writeUInt16LE(~len & 0xffff, o + 2);
    o += 4;
    out.set(data.subarray(start, start + len), o);
    o += len;
  }
  return out;
}
