// UTF-8 by hand: Espruino has no built-in text encoder or decoder, and XS device builds may lack them.
// Strings are walked as UTF-16 code units; a surrogate pair becomes one 4-byte sequence, and so does
// a charCodeAt value above 0xFFFF (Espruino Unicode builds and XS give whole code points there).
import { ERR_UTF8, ERR_TOPIC, ERR_TOO_LONG } from './errors.js';
import { MAX_STRING_BYTES } from './constants.js';

/** What a string field must obey besides being UTF-8. */
export const PLAIN = 0;
/** A topic name: non-empty, no '+' or '#'. */
export const TOPIC_NAME = 1;
/** A topic filter: non-empty, '+' a whole level, '#' a whole last level. */
export const TOPIC_FILTER = 2;

/**
 * The one walk over s[i, j) as UTF-8 that measuring, writing and comparing share (one copy of
 * the rules keeps bundles small): with `b` null it only counts, else it writes the bytes at
 * b[off] (`cmp` false) or compares them with b[off] on (`cmp` true), never at or past `end`.
 * Checks U+0000, unpaired surrogates and, by `kind`, the topic rules as it goes. Returns the
 * offset after the last byte, or ERR_UTF8, ERR_TOPIC, or ERR_TOO_LONG when it reaches `end` or
 * finds a difference.
 */
export function utf8Walk(
  s: string, i: number, j: number, b: Uint8Array | null, off: number, end: number, kind?: number, cmp?: boolean,
): number {
  let c: number;
  let d: number;
  if (kind && i >= j) return ERR_TOPIC;
  for (; i < j; i++) {
    c = s.charCodeAt(i);
    // '+' or '#' ((c | 8) == 0x2b): never in a name; in a filter a whole level, '#' only the last.
    if (kind && (c | 8) == 0x2b && (kind == TOPIC_NAME || (i && s.charCodeAt(i - 1) != 0x2f)
      || (i + 1 < j && (c < 0x2b || s.charCodeAt(i + 1) != 0x2f)))) return ERR_TOPIC;
    if (c && c < 0x80 && off < end && b && !cmp) {
      b[off++] = c; // the common ASCII write, without the general loop (speed on interpreters)
      continue;
    }
    // U+0000 is never allowed. A high surrogate and a low one make one code point (never 0, so
    // the || chain ends there); anything else is unpaired.
    if (!c || c >> 11 == 0x1b && (c > 0xdbff || (d = s.charCodeAt(++i)) >> 10 != 0x37 || !(c = (c << 10) + d - 0x35fdc00))) {
      return ERR_UTF8;
    }
    // Above 0xFFFF also when a runtime's charCodeAt gives whole code points (Espruino, XS).
    // k continuation bytes: lead byte 0xxxxxxx, 110xxxxx, 1110xxxx or 11110xxx, then 10xxxxxx
    // each. Every value stays a small integer: a result above 2^30 would be a heap number,
    // allocated per character.
    for (let k = c < 0x80 ? 0 : c < 0x800 ? 1 : c < 0x10000 ? 2 : 3, x = c >> 6 * k | (0xf0e0c000 >> 8 * k & 255);
      k >= 0; x = 128 | c >> 6 * --k & 63) {
      if (off >= end || (b && (cmp ? b[off] != x : (b[off] = x, 0)))) return ERR_TOO_LONG;
      off++;
    }
  }
  return off;
}

/**
 * UTF-8 byte length of `s`, or ERR_UTF8 for an unpaired surrogate or U+0000, ERR_TOPIC when
 * `kind` rules are broken, ERR_TOO_LONG past 65,535 bytes.
 */
export function utf8Length(s: string, kind: number): number {
  return utf8Walk(s, 0, s.length, null, 0, MAX_STRING_BYTES, kind);
}

/**
 * Writes the UTF-8 bytes of `s` (already checked by utf8Length) at `off`; returns the end offset.
 * The caller reserved the space.
 */
export function utf8Write(b: Uint8Array, off: number, s: string): number {
  return utf8Walk(s, 0, s.length, b, off, b.length);
}

/** utf8Scan's `check`: the UTF-8 rules. */
export const CHECK = 1;
/** utf8Scan's `check`: the UTF-8 rules, then no wildcards (a received topic name). */
export const CHECK_TOPIC = 2;

/**
 * The one walk over received bytes b[off, off+len) as UTF-8 that checking and decoding share (one
 * copy of the rules keeps bundles small). With `check` CHECK or CHECK_TOPIC it returns ERR_UTF8
 * for anything ill-formed, overlong, a surrogate, past U+10FFFF or U+0000 [MQTT-1.5.3-1..2], else
 * for CHECK_TOPIC with a '+' or '#' ERR_TOPIC (the caller checks that a topic is not empty), else
 * 0; nothing is allocated. Without `check` it is utf8Decode: the text (allocates), U+0000
 * included, with U+FFFD for a byte that cannot start a sequence or a missing continuation byte.
 */
export function utf8Scan(b: Uint8Array, off: number, len: number): string;
export function utf8Scan(b: Uint8Array, off: number, len: number, check: number): number;
export function utf8Scan(b: Uint8Array, off: number, len: number, check?: number): number | string {
  let s: number | string = check ? 0 : '';
  for (len += off; off < len;) {
    let c = b[off++];
    // Values below 1 << m are overlong (m 0: U+0000).
    let m = 0;
    if (c > 0x7f) {
      // Lead 110xxxxx, 1110xxxx or 11110xxx: n continuation bytes; 127 >> n keeps the lead's payload
      // bits (and a 0xf5..0xff lead above U+10FFFF). A lead below 0xc2 (a stray continuation byte
      // or an overlong 2-byte form) or a missing continuation byte (left for the next round) makes
      // c -3: invalid, and U+FFFD when decoded (String.fromCharCode takes it modulo 2^16).
      let n = c < 0xc2 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
      m = 5 * n + 1;
      for (c = n ? c & 127 >> n : -3; n--;) {
        c = off < len && b[off] >> 6 == 2 ? c << 6 | b[off++] & 63 : -3;
      }
    }
    // Above U+FFFF: a surrogate pair.
    if (!check) s += c > 0xffff ? String.fromCharCode(0xd7c0 + (c >> 10), 0xdc00 | c & 0x3ff) : String.fromCharCode(c);
    else if (c >> m < 1 || c >> 11 == 0x1b || c > 0x10ffff) return ERR_UTF8;
    else if (check > 1 && (c | 8) == 0x2b) s = ERR_TOPIC; // '+' or '#' ((c | 8) == 0x2b)
  }
  return s;
}

/**
 * True when b[off, end) is well-formed UTF-8 with no U+0000, no surrogate code points
 * and no overlong forms [MQTT-1.5.3-1..2].
 */
export function utf8Valid(b: Uint8Array, off: number, end: number): boolean {
  return !utf8Scan(b, off, end - off, CHECK);
}

/** Topic check on received bytes: a topic name is non-empty and has no wildcards ((x | 8) == '+'). */
export function topicNameValid(b: Uint8Array, off: number, end: number): boolean {
  for (let i = off; i < end; i++) if ((b[i] | 8) == 0x2b) return false;
  return off < end;
}

/**
 * True when the valid UTF-8 bytes b[off, off+len) spell the string `s`: compares without
 * decoding, so nothing is allocated.
 */
export function utf8Equals(b: Uint8Array, off: number, len: number, s: string): boolean {
  return utf8Walk(s, 0, s.length, b, off, off + len, 0, true) == off + len;
}

/**
 * utf8Decode(b, off, len): decodes UTF-8 bytes to a string, U+0000 included; a byte that cannot
 * start a sequence, or a missing continuation byte, is U+FFFD. Allocates: a convenience, not for
 * hot paths. It is utf8Scan without `check` (no wrapper in the bundles).
 */
export { utf8Scan as utf8Decode };
