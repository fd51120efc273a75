// The byte-at-a-time socket I/O both Moddable transports share: reading one byte per call and
// writing one byte per call is what lets them allocate nothing.
import type { TransportEvents, RxSink } from '../../src/transport.js';

/**
 * Moves `count` readable bytes into the receive buffer with `read()` (one byte each), letting the
 * client decode whenever the buffer fills. Stops when `alive()` turns false: the client closed
 * the connection from inside onReadable, and reading a closed socket throws on the device.
 * `read` and `alive` are made once per socket, not per event.
 */
export function readInto(rx: RxSink, ev: TransportEvents, count: number, read: () => number, alive: () => boolean): void {
  let n = rx.space();
  while (count) {
    if (!n) {
      ev.onReadable();
      if (!alive()) return;
      n = rx.space();
      if (!n) return;
    }
    const k = count < n ? count : n;
    const b = rx.buf;
    const w = rx.w;
    for (let i = 0; i < k; i++) b[w + i] = read();
    rx.commit(k);
    count -= k;
    n -= k;
  }
  ev.onReadable();
}

/** Writes up to `room` bytes of b[off, off+len) one by one; returns the count written. */
export function writeBytes(s: { write(byte: number): unknown }, room: number, b: Uint8Array, off: number, len: number): number {
  const n = len < room ? len : room;
  for (let i = 0; i < n; i++) s.write(b[off + i]);
  return n;
}
