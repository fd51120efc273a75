// The byte-at-a-time read loop both Moddable transports share: one byte per read() call is what
// lets them allocate nothing.
import type { TransportEvents, RxSink } from '../../src/transport.js';

/** What the loop needs of a transport: its current socket, receive sink and events. */
export interface Reader<S> {
  _s: S | 0 | undefined;
  _r: RxSink;
  _e: TransportEvents;
}

/**
 * Moves `count` readable bytes of socket `s` into the receive buffer (`read(s)` gives one byte),
 * letting the client decode after each stretch, so it frees room when the buffer is full. Stops
 * when `s` is no longer the transport's socket (the client closed it from inside _readable:
 * reading a closed socket throws on the device), or when the client freed no room. `read` is a
 * module-level function, so nothing is allocated per event.
 */
export function readInto<S>(t: Reader<S>, s: S, count: number, read: (s: S) => number): void {
  const rx = t._r;
  for (let n, b, w; t._s == s; ) {
    n = rx.space();
    if (n > count) n = count;
    count -= n;
    for (b = rx.buf, w = rx.w; n--; ) b[w++] = read(s);
    rx.commit(w - rx.w);
    t._e._readable();
    if (!count || !rx.space()) return;
  }
}
