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
 * UTF-8 byte length of `s`, or ERR_UTF8 for an unpaired surrogate or U+0000,
 * or ERR_TOPIC when `kind` rules are broken.
 */
export function utf8Length(s: string, kind: number): number {
  const n = s.length;
  let bytes = 0;
  if (kind && !n) return ERR_TOPIC;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (!c) return ERR_UTF8;
    if (kind && (c === 0x2b || c === 0x23) && (kind === TOPIC_NAME || (i && s.charCodeAt(i - 1) !== 0x2f)
      || (c === 0x23 ? i !== n - 1 : i + 1 < n && s.charCodeAt(i + 1) !== 0x2f))) return ERR_TOPIC;
    if (c >> 10 === 0x37) return ERR_UTF8; // a low surrogate with no high one before it
    if (c >> 10 === 0x36) {
      // A high surrogate must be followed by a low one.
      if (s.charCodeAt(++i) >> 10 !== 0x37) return ERR_UTF8;
      bytes++;
    }
    // Above 0xFFFF: a runtime whose charCodeAt gives whole code points (Espruino's Unicode
    // builds, Moddable XS) rather than UTF-16 units.
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return bytes > MAX_STRING_BYTES ? ERR_TOO_LONG : bytes;
}

/**
 * Walks s[i, j) as UTF-8 bytes: writes them at b[off] (`end` < 0: no bounds check, the caller
 * reserved the space), or compares them with b[off, end). Returns the offset after the last byte,
 * or -1 at the first difference. Writing and comparing share this one walk to keep bundles small.
 */
export function utf8Walk(s: string, i: number, j: number, b: Uint8Array, off: number, end: number): number {
  for (; i < j; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80 && end < 0) {
      b[off++] = c; // the common ASCII write, without the general loop (speed on interpreters)
      continue;
    }
    // A surrogate pair becomes its code point (a runtime may also give the code point itself).
    if (c >> 11 === 0x1b) c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
    // continuation bytes
    const n = c < 0x80 ? 0 : c < 0x800 ? 1 : c < 0x10000 ? 2 : 3;
    for (let k = n; k >= 0; k--) {
      // Lead byte 0xxxxxxx, 110xxxxx, 1110xxxx or 11110xxx, then 10xxxxxx each. Every value stays
      // a small integer: a result above 2^30 would be a heap number, allocated per character.
      const x = k < n ? 0x80 | ((c >> (6 * k)) & 63) : (c >> (6 * n)) | (n ? (0xf0e0c0 >> (8 * n - 8)) & 255 : 0);
      if (end < 0) b[off] = x;
      else if (off >= end || b[off] !== x) return -1;
      off++;
    }
  }
  return off;
}

/**
 * Writes the UTF-8 bytes of `s` (already checked by utf8Length) at `off`; returns the end offset.
 * No bounds check: the caller reserved the space.
 */
export function utf8Write(b: Uint8Array, off: number, s: string): number {
  return utf8Walk(s, 0, s.length, b, off, -1);
}

/**
 * True when b[off, end) is well-formed UTF-8 with no U+0000, no surrogate code points
 * and no overlong forms [MQTT-1.5.3-1..2].
 */
export function utf8Valid(b: Uint8Array, off: number, end: number): boolean {
  while (off < end) {
    const c = b[off++];
    if (c < 0x80) {
      if (!c) return false;
      continue;
    }
    // c < 0xc2: a stray continuation byte or an overlong 2-byte form; above 0xf4: past U+10FFFF.
    if (c < 0xc2 || c > 0xf4) return false;
    let more = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
    // The second byte's range rules out overlong 3- and 4-byte forms (e0, f0), surrogates (ed)
    // and code points above U+10FFFF (f4).
    if (off + more > end) return false;
    const d = b[off];
    if (d < (c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80) || d > (c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf)) return false;
    while (more--) if ((b[off++] & 0xc0) !== 0x80) return false;
  }
  return true;
}

/** Topic check on received bytes: a topic name is non-empty and has no wildcards. */
export function topicNameValid(b: Uint8Array, off: number, end: number): boolean {
  if (off === end) return false;
  for (let i = off; i < end; i++) if (b[i] === 0x2b || b[i] === 0x23) return false;
  return true;
}

/**
 * True when the valid UTF-8 bytes b[off, off+len) spell the string `s`: compares without
 * decoding, so nothing is allocated.
 */
export function utf8Equals(b: Uint8Array, off: number, len: number, s: string): boolean {
  return utf8Walk(s, 0, s.length, b, off, off + len) === off + len;
}

/** Decodes valid UTF-8 bytes to a string. Allocates: a convenience, not for hot paths. */
export function utf8Decode(b: Uint8Array, off: number, len: number): string {
  const end = off + len;
  let s = '';
  while (off < end) {
    let c = b[off++];
    if (c >= 0x80) {
      const more = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
      c &= 0x3f >> more;
      for (let k = 0; k < more; k++) c = (c << 6) | (b[off++] & 63);
    }
    s += c > 0xffff ? String.fromCharCode(0xd7c0 + (c >> 10), 0xdc00 + (c & 0x3ff)) : String.fromCharCode(c);
  }
  return s;
}
