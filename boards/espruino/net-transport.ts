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

// The connect callback and 'drain' (Espruino sends 'drain' right after 'connect' too): the first
// is the connection coming up.
function onUp(this: Sock): void {
  const t = this._t;
  if (t._s == this) this._u ? t._e._writable() : ((this._u = 1), t._e._opened());
}

// Copies a chunk into the receive buffer, letting the client decode after each stretch (it frees
// room when the buffer is full); stops when this is no longer the transport's socket (the client
// closed it from inside onReadable), or when the buffer has no room (the client freed none).
function onData(this: Sock, d: string): void {
  const t = this._t;
  const rx = t._r;
  let i = 0, c = d.length, n, b, w; // outside the loop: ES5 output gives a loop's let an initialiser
  while (t._s == this && c && (n = rx.space())) {
    if (n > c) n = c;
    c -= n;
    for (b = rx.buf, w = rx.w; n--; ) b[w++] = d.charCodeAt(i++);
    rx.commit(w - rx.w);
    t._e._readable();
  }
}

// 'close' comes last for every socket, after 'error' if there was one (hadError true then), so it
// alone reports. An error before the connection came up on a TLS socket is a handshake failure.
function onClose(this: Sock, hadError?: boolean): void {
  const t = this._t;
  if (t._s == this) (t._s = 0), t._e._lost(t._c && !this._u && hadError ? ERR_TLS : ERR_CONNECTION);
}

export class NetTransport implements Transport {
  declare _s: Sock | 0 | undefined;
  declare _r: RxSink;
  declare _e: TransportEvents;
  _c: Record<string, unknown> | undefined;

  constructor(options?: NetTransportOptions) {
    this._c = options && options.tls;
  }

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    const t = this;
    const c = t._c;
    // connect() throws when the socket cannot even be made ("Unable to create socket": on Linux a
    // refused connect, out of sockets on a device; no tls module on ESP8266): the client takes an
    // exception from open() as a failed attempt.
    const s: Sock = require(c ? 'tls' : 'net').connect(Object.assign({ host: host, port: port }, c), onUp);
    t._r = rx;
    t._e = ev;
    (t._s = s)._t = t;
    s.on('data', onData);
    s.on('drain', onUp);
    s.on('close', onClose);
  }

  write(b: Uint8Array, off: number, len: number): number {
    // Espruino buffers what it is given (write always returns false; 'drain' follows).
    const s = this._s;
    let str;
    // Out of memory for the string: these bytes cannot go out, so the stream is broken. End it:
    // its 'close' reports the loss (with a session nothing is lost).
    if (s) (str = E.toString(b.subarray(off, off + len))) == null ? (s.end(), (len = 0)) : s.write(str);
    return len;
  }

  close(): void {
    const s = this._s;
    this._s = 0;
    if (s) s.end();
  }
}
