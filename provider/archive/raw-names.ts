/**
 * File names are bytes. apk-tools keeps them as bytes; a JavaScript string cannot hold a byte that
 * is not part of valid UTF-8, and a lossy decode turns every such byte into U+FFFD, so two
 * different names would become one file. Names are therefore decoded the way Python's
 * "surrogateescape" does: valid UTF-8 as usual, each other byte 0x80-0xFF as the lone surrogate
 * U+DC80-U+DCFF, which valid UTF-8 can never produce. Encoding reverses it exactly, so a name
 * round-trips byte for byte into the layer and the installed database.
 */

const LOW_ESCAPE = 0xdc00;

/** Decodes name bytes: UTF-8 where valid, each other byte as U+DC80+byte. */
export function decodeName(bytes: Uint8Array): string {
  const plain = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (!plain.includes("\uFFFD")) return plain;
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const n = validSequenceLength(bytes, i);
    if (n === 0) {
      out += String.fromCharCode(LOW_ESCAPE + bytes[i]!);
      i++;
    } else {
      out += Buffer.from(bytes.buffer, bytes.byteOffset + i, n).toString("utf8");
      i += n;
    }
  }
  return out;
}

/** The length of the valid UTF-8 sequence at `i` (1-4), or 0 when the byte there starts none. */
function validSequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no encoded surrogates
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** True when `s` holds an escaped byte (a lone U+DC80-U+DCFF). */
export function hasRawBytes(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff && !(i > 0 && isHigh(s.charCodeAt(i - 1)))) return true;
  }
  return false;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** The bytes of a name decoded by `decodeName` (plain UTF-8 for every other string). */
export function encodeName(s: string): Buffer {
  if (!hasRawBytes(s)) return Buffer.from(s, "utf8");
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc80 && c <= 0xdcff && !(i > 0 && isHigh(s.charCodeAt(i - 1)))) {
      if (i > start) parts.push(Buffer.from(s.slice(start, i), "utf8"));
      parts.push(Buffer.from([c - LOW_ESCAPE]));
      start = i + 1;
    }
  }
  if (start < s.length) parts.push(Buffer.from(s.slice(start), "utf8"));
  return Buffer.concat(parts);
}

/** A name's length in bytes, as it will be written. */
export function nameByteLength(s: string): number {
  return hasRawBytes(s) ? encodeName(s).length : Buffer.byteLength(s);
}
