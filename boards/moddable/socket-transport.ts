// Transport over Moddable's classic socket module, or SecureSocket for TLS (a DER CA certificate
// in `secure.certificate`). Reads must happen inside the callback, so each readable message is
// drained byte by byte with read(Number), which allocates nothing.
// Both sockets call `callback` as a method (`this` = the socket), so one plain function serves
// every socket (no closure per connection): the socket carries `_t`, its transport.
import { Socket } from 'socket';
import SecureSocket from 'securesocket';
import type { Transport, TransportEvents, RxSink } from '../../src/transport.js';
import { ERR_CONNECTION, ERR_TLS } from '../../src/client-errors.js';
import { readInto } from './byte-io.js';

/** The classic socket as this shim uses it (the published typings miss read(Number)). */
interface Sock {
  _t: SocketTransport;
  /** Set by the connected message. */
  _u?: 1;
  callback: (this: Sock, message: number, value: number) => void;
  read(type?: NumberConstructor): number;
  write(data?: number | Uint8Array): number;
  close(): void;
}

export interface SocketTransportOptions {
  /** SecureSocket options, e.g. {protocolVersion: 0x303, certificate: <DER ArrayBuffer>}; absent means plain TCP. */
  secure?: Record<string, unknown>;
}

// Messages (socket.d.ts lacks the constants): 1 connected, 2 readable (value bytes), 3 writable,
// -1 disconnected, -2 error. On readable, the `value` bytes go into the receive buffer (byte-io.ts).
function callback(this: Sock, message: number, value: number): void {
  const t = this._t;
  const ev = t._e;
  if (t._s == this)
    message < 0
      ? // An error before the connection came up on a secure socket is a handshake failure.
        ((t._s = 0), ev._lost(t._c && !this._u ? ERR_TLS : ERR_CONNECTION))
      : message == 2
        ? readInto.call(this, value, Number)
        : message == 1
          ? ((this._u = 1), ev._opened())
          : ev._writable();
}

export class SocketTransport implements Transport {
  declare _s: Sock | 0 | undefined;
  declare _r: RxSink;
  declare _e: TransportEvents;
  _c: Record<string, unknown> | undefined;

  constructor(options?: SocketTransportOptions) {
    this._c = options && options.secure;
  }

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    const t = this;
    const secure = t._c;
    const s = (t._s = new ((secure ? SecureSocket : Socket) as any)({ host, port, secure }) as Sock);
    t._r = rx;
    t._e = ev;
    s._t = t;
    s.callback = callback;
  }

  write(b: Uint8Array, off: number, len: number): number {
    const s = this._s;
    let n, i = 0;
    // Closed: the bytes go nowhere, the client learns of it from onClose.
    if (!s) return len;
    // write() with no argument is the room the socket has now (SecureSocket: less 128 bytes for
    // the record). SecureSocket makes one TLS record per write call, so it gets the bytes in one
    // call (a view: one allocation per write); the plain socket takes them byte by byte, no
    // allocation.
    if ((n = s.write()) > len) n = len;
    if (this._c) n > 0 && s.write(b.subarray(off, off + n));
    else while (i < n) s.write(b[off + i++]);
    return n > 0 ? n : 0;
  }

  close(): void {
    const s = this._s;
    this._s = 0;
    if (s) s.close();
  }
}
