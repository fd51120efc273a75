// Transport over Espruino's net module, or tls on ESP32 (not on ESP8266). Espruino delivers each
// chunk as a new String of bytes (one char per byte) and sends binary only as a String, so each
// direction allocates one string per chunk: unavoidable there, and the client itself still
// allocates nothing.
// Espruino runs a socket's event handlers with `this` = the socket, so they are plain functions
// shared by every socket (no closure per connection, which costs JS variables there): the socket
// carries `_t`, its transport.
import type { Transport, TransportEvents, RxSink } from '../../src/transport.js';
import { ERR_CONNECTION, ERR_TLS } from '../../src/client-errors.js';

declare function require(name: string): any;
declare const E: { toString(v: Uint8Array): string | undefined };
declare function setTimeout(fn: (t: NetTransport, g: unknown) => void, ms: number, t: NetTransport, g: unknown): unknown;

/** An Espruino socket as this shim uses it. */
interface Sock {
  /** Its transport. */
  _t: NetTransport;
  /** Set by the connect event. */
  _u?: 1;
  on(event: string, fn: (this: Sock, arg?: any) => void): void;
  write(s: string): void;
  end(): void;
}

export interface NetTransportOptions {
  /** tls.connect options (ca, key, cert as PEM strings); absent means plain TCP. */
  tls?: Record<string, unknown>;
}

/** A failure found inside open() or write(), reported later, unless close() or open() came since. */
function lateClose(t: NetTransport, g: unknown): void {
  if (t._g == g) t._e._lost(ERR_CONNECTION);
}

function onConnect(this: Sock): void {
  this._u = 1;
  this._t._e._opened();
}

// Copies a chunk into the receive buffer, letting the client decode after each stretch (it frees
// room when the buffer is full); stops when this is no longer the transport's socket (the client
// closed it from inside onReadable), or when the client freed no room.
function onData(this: Sock, d: string): void {
  const t = this._t;
  const rx = t._r;
  let i = 0, c = d.length, n, b, w; // outside the loop: ES5 output gives a loop's let an initialiser
  while (t._s == this) {
    n = rx.space();
    if (n > c) n = c;
    c -= n;
    for (b = rx.buf, w = rx.w; n--; ) b[w++] = d.charCodeAt(i++);
    rx.commit(w - rx.w);
    t._e._readable();
    if (!c || !rx.space()) return;
  }
}

function onDrain(this: Sock): void {
  const t = this._t;
  if (t._s == this) t._e._writable();
}

function gone(s: Sock, reason: number): void {
  const t = s._t;
  if (t._s == s) t._s = 0, t._e._lost(reason);
}

// An error before the connection came up on a TLS socket is a handshake failure.
function onError(this: Sock): void {
  gone(this, this._t._c && !this._u ? ERR_TLS : ERR_CONNECTION);
}

function onClose(this: Sock): void {
  gone(this, ERR_CONNECTION);
}

export class NetTransport implements Transport {
  declare _s: Sock | 0 | undefined;
  declare _r: RxSink;
  declare _e: TransportEvents;
  /** This attempt's connect options, until close(): a late failure report checks it is still current. */
  declare _g: object | 0 | undefined;
  _c: Record<string, unknown> | undefined;

  constructor(options?: NetTransportOptions) {
    this._c = options && options.tls;
  }

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    const t = this;
    const c = t._c;
    const o: Record<string, unknown> = (t._g = { host: host, port: port });
    let s: Sock;
    if (c) for (const k in c) o[k] = c[k];
    t._r = rx;
    t._e = ev;
    try {
      s = require(c ? 'tls' : 'net').connect(o, onConnect);
    } catch (e) {
      // Espruino throws "Unable to create socket" when the socket cannot even be made (on Linux a
      // refused connect; out of sockets on a device). Report it like any failed connect, later:
      // the client is still inside open().
      setTimeout(lateClose, 0, t, o);
      return;
    }
    (t._s = s)._t = t;
    s.on('data', onData);
    s.on('drain', onDrain);
    s.on('error', onError);
    s.on('close', onClose);
  }

  write(b: Uint8Array, off: number, len: number): number {
    // Espruino buffers what it is given (write always returns false; 'drain' follows).
    const s = this._s;
    let str;
    if (s) {
      if ((str = E.toString(b.subarray(off, off + len))) == null) {
        // Out of memory for the string: these bytes cannot go out, so the stream is broken. Close
        // and report, later (the client is inside write()); with a session nothing is lost.
        this._s = 0;
        s.end();
        setTimeout(lateClose, 0, this, this._g);
        return 0;
      }
      s.write(str);
    }
    return len;
  }

  close(): void {
    const s = this._s;
    this._s = this._g = 0;
    if (s) s.end();
  }
}
