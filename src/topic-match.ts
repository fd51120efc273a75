// Topic filter matching against a received topic in place: the topic stays as UTF-8 bytes in
// the receive buffer, the filter is the app's string, nothing is decoded or allocated.
import { utf8Walk } from './codec/utf8.js';

/**
 * True when topic b[off, off+len) matches filter `f` [MQTT-4.7]: '+' is one whole level, '#' the
 * rest including the parent level, and a topic starting with '$' is not matched by a filter
 * starting with a wildcard [MQTT-4.7.2-1]. `f` must be a valid filter.
 */
export function topicMatch(f: string, b: Uint8Array, off: number, len: number): boolean {
  len += off; // the topic's end
  // One level at a time: filter level f[i, j) (j < 0: the last level), topic level b[t, e). Past
  // the topic's end, t is its end + 1 and every level fails except an empty one and a '#' right
  // after the last level ("a/#" matches "a").
  for (let i = 0, t = off, j: number, e: number; ; i = j + 1, t = e + 1) {
    const c = f.charCodeAt(i);
    // '+' or '#' ((c | 8) == 0x2b) as the first level never matches a '$' topic.
    if (!i && (c | 8) == 0x2b && b[off] == 0x24) return false;
    if (c == 0x23) return t <= len + 1;
    j = f.indexOf('/', i);
    for (e = t; e < len && b[e] != 0x2f;) e++;
    // '+' matches any one level; anything else must spell it exactly.
    if (c != 0x2b && utf8Walk(f, i, j < 0 ? f.length : j, b, t, e, 0, true) != e) return false;
    if (j < 0) return e == len;
  }
}
