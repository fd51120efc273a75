// utf8Decode for Espruino. Its String.fromCharCode keeps only the low 8 bits (0x20AC gives 0xAC,
// seen on 2v29), so the core decoder cannot build text above U+00FF there. Unicode builds (Linux,
// Bangle.js) get a real Unicode string from E.asUTF8. 8-bit builds (ESP32, ESP8266: E.asUTF8 throws
// "Unicode not supported on this build") keep the core decoder: a string there holds Latin-1, so
// U+0000..U+00FF decode exactly, and higher code points cannot be held at all (read the bytes
// from the PacketView instead). Allocates: a convenience, not for hot paths.
import { utf8Decode as latin1Decode } from '../../src/codec/utf8.js';

declare const E: { toString(v: Uint8Array): string | undefined; asUTF8(s: string): string };

let plain: 1 | undefined; // set when E.asUTF8 threw once: an 8-bit build

export function utf8Decode(b: Uint8Array, off: number, len: number): string {
  let s;
  // E.toString is undefined when memory is short (and '' for no bytes): the core decoder then.
  if (!plain && (s = E.toString(b.subarray(off, off + len))))
    try {
      return E.asUTF8(s);
    } catch (e) {
      plain = 1;
    }
  return latin1Decode(b, off, len);
}
