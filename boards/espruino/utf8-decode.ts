// utf8Decode for Espruino. Its String.fromCharCode keeps only the low 8 bits (0x20AC gives 0xAC,
// seen on 2v29), so the core decoder cannot build text above U+00FF there. Unicode builds (Linux,
// Bangle.js) get a real Unicode string from E.asUTF8. 8-bit builds (ESP32, ESP8266: E.asUTF8 throws
// "Unicode not supported on this build") keep the core decoder: a string there holds Latin-1, so
// U+0000..U+00FF decode exactly, and higher code points cannot be held at all (read the bytes
// from the PacketView instead). Allocates: a convenience, not for hot paths.
import { utf8Decode as latin1Decode } from '../../src/codec/utf8.js';

declare const E: { toString(v: Uint8Array): string | undefined; asUTF8(s: string): string };

let unicode: number | undefined; // unknown until the first call

export function utf8Decode(b: Uint8Array, off: number, len: number): string {
  let s;
  if (unicode == null) {
    try {
      E.asUTF8('a');
      unicode = 1;
    } catch (e) {
      unicode = 0;
    }
  }
  // E.toString is undefined when memory is short; no bytes decode to '' either way.
  return unicode && len && (s = E.toString(b.subarray(off, off + len))) ? E.asUTF8(s) : latin1Decode(b, off, len);
}
