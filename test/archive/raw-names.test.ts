import * as assert from "node:assert/strict";
import { test } from "node:test";
import { rng } from "../../bench/_common";
import { decodeName, encodeName, hasRawBytes, nameByteLength } from "../../provider/archive/raw-names";

test("any bytes round-trip through decodeName/encodeName; valid UTF-8 decodes as itself", () => {
  const next = rng(9);
  for (let i = 0; i < 5000; i++) {
    const len = Math.floor(next() * 24);
    const bytes = Buffer.from(Array.from({ length: len }, () => Math.floor(next() * 256)));
    const name = decodeName(bytes);
    assert.deepEqual(encodeName(name), bytes, bytes.toString("hex"));
    assert.equal(nameByteLength(name), bytes.length);
    const utf8 = bytes.toString("utf8");
    if (Buffer.from(utf8, "utf8").equals(bytes)) {
      assert.equal(name, utf8);
      assert.equal(hasRawBytes(name), false);
    } else assert.equal(hasRawBytes(name), true);
  }
  // Emoji (surrogate pairs) are not raw bytes; encoded surrogates (ED A0 80) are.
  assert.equal(hasRawBytes(decodeName(Buffer.from("a\u{1F600}b"))), false);
  assert.deepEqual(encodeName(decodeName(Buffer.from([0xed, 0xa0, 0x80]))), Buffer.from([0xed, 0xa0, 0x80]));
  assert.notEqual(decodeName(Buffer.from([0xe9])), decodeName(Buffer.from([0xe8])));
});
