// Transport over the ECMA-419 TCP socket (embedded:io/socket/tcp), in "number" format so reading
// and writing allocate nothing: each read() returns one byte, each write(byte) sends one.
// ECMA-419 takes an IP address only, so the host goes through Net.resolve first (an IP address
// resolves to itself: lwIP's dns_gethostbyname on devices, GResolver in the Linux simulator).
// The socket calls its callbacks with `this` = the socket, so they are plain functions shared by
// every socket, no closure per connection: the socket carries `_t`, its transport. Net.resolve
// calls back with `this` = the global object, so that one callback is a closure, per attempt,
// and gone once called.
import TCP from 'embedded:io/socket/tcp';
import Net from 'net';
import type { Transport, TransportEvents, RxSink } from '../../src/transport.js';
import { ERR_CONNECTION, ERR_DNS } from '../../src/client-errors.js';
import { readInto } from './byte-io.js';

/** The socket as this shim uses it: number format, and a link back to its transport. */
type Sock = Omit<TCP, 'read' | 'write'> & { _t: TcpTransport; read(): number; write(byte: number): number | undefined };

/**
 * onWritable(count) and onError() (no count) in one: a remote close arrives as onError too
 * (ECMA-419 has no close event). The first onWritable means connected: open() left the socket
 * options in `_o` until then.
 */
function onWritable(this: Sock, count?: number): void {
  const t = this._t;
  const ev = t._e;
  if (t._s == this)
    count! >= 0
      ? ((t._n = count), t._o ? ((t._o = 0), ev._opened()) : ev._writable())
      : ((t._s = 0), ev._lost(ERR_CONNECTION));
}

export class TcpTransport implements Transport {
  declare _s: Sock | 0 | undefined;
  /** Bytes the socket takes now: from onWritable, then each write's answer. */
  declare _n: number | undefined;
  declare _r: RxSink;
  declare _e: TransportEvents;
  /** This attempt's socket options until it connects: a name resolved for an older attempt finds other ones. */
  declare _o: Record<string, unknown> | 0 | undefined;

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    const t = this;
    const o = (t._o = { port, nodelay: true, format: 'number', onReadable: readInto, onWritable, onError: onWritable } as Record<string, unknown>);
    t._r = rx;
    t._e = ev;
    Net.resolve(host, (_name: string, address?: string) => {
      if (t._o == o)
        try {
          o.address = address;
          (t._s = new TCP(o as never) as never as Sock)._t = t;
        } catch {
          // No socket could be made: the name did not resolve (an undefined address throws
          // "invalid address"), or out of sockets or memory. A failed connect, not an exception
          // escaping a resolve callback.
          ev._lost(address ? ERR_CONNECTION : ERR_DNS, host);
        }
    });
  }

  write(b: Uint8Array, off: number, len: number): number {
    let s = this._s, i = 0;
    // write(byte) answers the room left (nothing once the socket has failed: then stop). When
    // closed the bytes go nowhere: the client learns of it from onClose.
    while (s && i < len && (this._n as number) > 0) this._n = s.write(b[off + i++]);
    return s ? i : len;
  }

  close(): void {
    const s = this._s;
    this._s = this._o = 0;
    if (s) s.close();
  }
}
