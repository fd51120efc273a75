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
  callback: (this: Sock, message: number, value: number) => void;
  read(type?: NumberConstructor): number;
  write(byte?: number): number;
  close(): void;
}

export interface SocketTransportOptions {
  /** SecureSocket options, e.g. {protocolVersion: 0x303, certificate: <DER ArrayBuffer>}; absent means plain TCP. */
  secure?: Record<string, unknown>;
}

// Messages (socket.d.ts lacks the constants): 1 connected, 2 readable (value bytes), 3 writable
// (value bytes of room), -1 disconnected, -2 error.
// On readable, the `value` bytes go into the receive buffer (byte-io.ts).
function callback(this: Sock, message: number, value: number): void {
  const t = this._t;
  const ev = t._e;
  if (t._s != this) return;
  if (message < 0) {
    t._s = 0;
    // An error before the connection came up on a secure socket is a handshake failure.
    ev._lost(t._c && t._n < 0 ? ERR_TLS : ERR_CONNECTION);
  } else if (message == 1) t._n = this.write(), ev._opened();
  else if (message == 3) t._n = value, ev._writable();
  else if (message == 2) readInto(t, this, value, readByte);
}

function readByte(s: Sock): number {
  return s.read(Number);
}

export class SocketTransport implements Transport {
  declare _s: Sock | 0 | undefined;
  /** Bytes the socket takes now; -1 until connected. */
  declare _n: number;
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
    t._n = -1;
    s._t = t;
    s.callback = callback;
  }

  write(b: Uint8Array, off: number, len: number): number {
    let s = this._s, i = 0;
    // Closed: the bytes go nowhere, the client learns of it from onClose.
    for (; s && i < len && this._n > 0; this._n--) s.write(b[off + i++]);
    return s ? i : len;
  }

  close(): void {
    const s = this._s;
    this._s = 0;
    if (s) s.close();
  }
}
