// Topic filter matching against a received topic in place: the topic stays as UTF-8 bytes in
// the receive buffer, the filter is the app's string, nothing is decoded or allocated.
import { utf8Walk } from './codec/utf8.js';

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
  // One level at a time: filter level f[i, j), topic level b[t, e).
  for (let i = 0, t = off, j: number, e: number; ; i = j + 1, t = e + 1) {
    c = f.charCodeAt(i);
    if (c === 0x23) return true; // '#'
    j = f.indexOf('/', i);
    if (j < 0) j = n;
    e = t;
    while (e < end && b[e] !== 0x2f) e++;
    // '+' matches any one level; anything else must spell it exactly.
    if (c !== 0x2b && utf8Walk(f, i, j, b, t, e) !== e) return false;
    if (j === n) return e === end;
    // Topic used up: only a trailing "/#" still matches ("a/#" matches "a").
    if (e === end) return j + 2 === n && f.charCodeAt(j + 1) === 0x23;
  }
}
