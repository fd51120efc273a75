// Topic filter matching against a received topic in place: the topic stays as UTF-8 bytes in
// the receive buffer, the filter is the app's string, nothing is decoded or allocated.

/** Compares the code point at s[i] with the UTF-8 bytes at b[t]; returns the offset after it, or -1. */
function matchChar(s: string, i: number, b: Uint8Array, t: number, end: number): number {
  let c = s.charCodeAt(i);
  let k: number; // continuation bytes
  let lead: number;
  if (c < 0x80) return t < end && b[t] === c ? t + 1 : -1;
  if (c < 0x800) { k = 1; lead = 0xc0 | (c >> 6); }
  else if (c < 0xd800 || c > 0xdfff) { k = 2; lead = 0xe0 | (c >> 12); }
  else {
    c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00);
    k = 3;
    lead = 0xf0 | (c >> 18);
  }
  if (t + k >= end || b[t] !== lead) return -1;
  while (k--) if (b[++t] !== (0x80 | ((c >> (6 * k)) & 63))) return -1;
  return t + 1;
}

/**
 * True when topic b[off, off+len) matches filter `f` [MQTT-4.7]: '+' is one whole level, '#' the
 * rest including the parent level, and a topic starting with '$' is not matched by a filter
 * starting with a wildcard [MQTT-4.7.2-1]. `f` must be a valid filter.
 */
export function topicMatch(f: string, b: Uint8Array, off: number, len: number): boolean {
  const end = off + len;
  const n = f.length;
  let c = f.charCodeAt(0);
  if (b[off] === 0x24 && (c === 0x2b || c === 0x23)) return false;
  let t = off;
  for (let i = 0; i < n; i++) {
    c = f.charCodeAt(i);
    if (c === 0x23) return true; // '#'
    if (c === 0x2b) {
      while (t < end && b[t] !== 0x2f) t++;
      continue;
    }
    if (t === end) {
      // Topic used up: only a trailing "/#" still matches ("a/#" matches "a").
      return c === 0x2f && i + 2 === n && f.charCodeAt(i + 1) === 0x23;
    }
    t = matchChar(f, i, b, t, end);
    if (t < 0) return false;
    if (c >= 0xd800 && c <= 0xdbff) i++;
  }
  return t === end;
}
