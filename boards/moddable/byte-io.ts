// The byte-at-a-time read loop both Moddable transports share: one byte per read() call is what
// lets them allocate nothing.
import type { TransportEvents, RxSink } from '../../src/transport.js';

/** A Moddable socket as the read loop sees it: it carries `_t`, its transport. */
export interface ByteSocket {
  _t: { _s: unknown; _r: RxSink; _e: TransportEvents };
  read(type?: NumberConstructor): number;
}

/**
 * Moves `count` readable bytes of the socket (`this`) into the receive buffer, letting the client
 * decode after each stretch, so it frees room when the buffer is full. Stops when the socket is no
 * longer its transport's (the client closed it from inside _readable: reading a closed socket
 * throws on the device), or when the buffer has no room (the client freed none: the rest waits
 * in the socket). A plain function with `this` = the
 * socket: the ECMA-419 socket calls it as onReadable(count) itself; the classic socket's callback
 * passes `Number` (its read(Number) is one byte; ECMA-419's read() in "number" format takes no
 * argument, and the SDK's read() ignores any). Nothing is allocated per event.
 */
export function readInto(this: ByteSocket, count: number, type?: NumberConstructor): void {
  const t = this._t;
  const rx = t._r;
  for (let n, b, w; t._s == this && count && (n = rx.space()); ) {
    if (n > count) n = count;
    count -= n;
    for (b = rx.buf, w = rx.w; n--; ) b[w++] = this.read(type);
    rx.commit(w - rx.w);
    t._e._readable();
  }
}
