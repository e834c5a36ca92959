/**
 * Why hashing goes through node:crypto and not @noble/hashes (provider/util/hash.ts): SHA-1 (every
 * installed file's checksum) and SHA-256 (every layer and blob) over the same 64 MiB, in 1 MiB
 * updates as a stream would feed them, median of 5. Asserts nothing.
 *
 *   npm run build && node dist/bench/hash.js
 */
import { randomBytes } from "node:crypto";
import { sha1 as nobleSha1 } from "@noble/hashes/legacy";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2";
import { newHash } from "../provider/util/hash";

const data = randomBytes(64 << 20);
const chunk = 1 << 20;

function median(fn: () => void): number {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times.sort((a, b) => a - b)[2]!;
}

function feed(update: (b: Uint8Array) => void): void {
  for (let o = 0; o < data.length; o += chunk) update(data.subarray(o, o + chunk));
}

const mib = data.length / (1 << 20);
for (const [name, node, noble] of [
  ["SHA-1", () => newHash("sha1"), () => nobleSha1.create()],
  ["SHA-256", () => newHash("sha256"), () => nobleSha256.create()],
] as const) {
  const a = median(() => {
    const h = node();
    feed((b) => h.update(b));
    h.digest();
  });
  const b = median(() => {
    const h = noble();
    feed((x) => h.update(x));
    h.digest();
  });
  console.log(
    `${name.padEnd(8)} node:crypto ${(mib / (a / 1000)).toFixed(0).padStart(5)} MiB/s   @noble/hashes ${(mib / (b / 1000)).toFixed(0).padStart(5)} MiB/s   (${(b / a).toFixed(1)}x)`,
  );
}
