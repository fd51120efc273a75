// UTF-8 by hand: Espruino has no built-in text encoder or decoder, and XS device builds may lack them.
// Strings are walked as UTF-16 code units; a surrogate pair becomes one 4-byte sequence.
import { ERR_UTF8, ERR_TOPIC, ERR_TOO_LONG, ERR_NO_SPACE } from './errors.js';
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
  if (kind && n === 0) return ERR_TOPIC;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) return ERR_UTF8;
      bytes++;
      if (kind && (c === 0x2b || c === 0x23)) {
        // '+' or '#'
        if (kind === TOPIC_NAME) return ERR_TOPIC;
        if (i > 0 && s.charCodeAt(i - 1) !== 0x2f) return ERR_TOPIC;
        if (c === 0x23 ? i !== n - 1 : i + 1 < n && s.charCodeAt(i + 1) !== 0x2f) return ERR_TOPIC;
      }
    } else if (c < 0x800) bytes += 2;
    else if (c < 0xd800 || c > 0xdfff) bytes += 3;
    else {
      // High surrogate must be followed by a low one.
      const d = s.charCodeAt(i + 1);
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) return ERR_UTF8;
      bytes += 4;
      i++;
    }
  }
  return bytes > MAX_STRING_BYTES ? ERR_TOO_LONG : bytes;
}

/**
 * Writes the UTF-8 bytes of `s` (already checked by utf8Length) at `off`; returns the end offset.
 * No bounds check: the caller reserved the space.
 */
export function utf8Write(b: Uint8Array, off: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) b[off++] = c;
    else if (c < 0x800) {
      b[off++] = 0xc0 | (c >> 6);
      b[off++] = 0x80 | (c & 63);
    } else if (c < 0xd800 || c > 0xdfff) {
      b[off++] = 0xe0 | (c >> 12);
      b[off++] = 0x80 | ((c >> 6) & 63);
      b[off++] = 0x80 | (c & 63);
    } else {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      b[off++] = 0xf0 | (c >> 18);
      b[off++] = 0x80 | ((c >> 12) & 63);
      b[off++] = 0x80 | ((c >> 6) & 63);
      b[off++] = 0x80 | (c & 63);
    }
  }
  return off;
}

/**
 * Writes a length-prefixed UTF-8 string at `off` if it fits before `end`.
 * Returns the end offset, or a negative error code.
 */
export function writeString(b: Uint8Array, off: number, end: number, s: string, kind: number): number {
  const n = utf8Length(s, kind);
  if (n < 0) return n;
  if (off + 2 + n > end) return ERR_NO_SPACE;
  b[off] = n >> 8;
  b[off + 1] = n & 255;
  return utf8Write(b, off + 2, s);
}

/**
 * True when b[off, end) is well-formed UTF-8 with no U+0000, no surrogate code points
 * and no overlong forms [MQTT-1.5.3-1..2].
 */
export function utf8Valid(b: Uint8Array, off: number, end: number): boolean {
  while (off < end) {
    const c = b[off++];
    if (c < 0x80) {
      if (c === 0) return false;
      continue;
    }
    let more: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c < 0xc2) return false; // stray continuation byte or overlong 2-byte form
    if (c < 0xe0) more = 1;
    else if (c < 0xf0) {
      more = 2;
      if (c === 0xe0) lo = 0xa0; // overlong 3-byte form
      else if (c === 0xed) hi = 0x9f; // U+D800..U+DFFF surrogates
    } else if (c < 0xf5) {
      more = 3;
      if (c === 0xf0) lo = 0x90; // overlong 4-byte form
      else if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return false;
    if (off + more > end) return false;
    const d = b[off++];
    if (d < lo || d > hi) return false;
    while (--more) {
      const e = b[off++];
      if (e < 0x80 || e > 0xbf) return false;
    }
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
  const end = off + len;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      if (off >= end || b[off++] !== c) return false;
      continue;
    }
    let k: number; // number of continuation bytes
    if (c < 0x800) {
      if (off >= end || b[off++] !== (0xc0 | (c >> 6))) return false;
      k = 1;
    } else if (c < 0xd800 || c > 0xdfff) {
      if (off >= end || b[off++] !== (0xe0 | (c >> 12))) return false;
      k = 2;
    } else {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      if (off >= end || b[off++] !== (0xf0 | (c >> 18))) return false;
      k = 3;
    }
    while (k--) if (off >= end || b[off++] !== (0x80 | ((c >> (6 * k)) & 63))) return false;
  }
  return off === end;
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
    if (c > 0xffff) {
      c -= 0x10000;
      s += String.fromCharCode(0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
    } else s += String.fromCharCode(c);
  }
  return s;
}
