// Transport over Espruino's net module, or tls on ESP32 (not on ESP8266). Espruino delivers each
// chunk as a new String of bytes (one char per byte) and sends binary only as a String, so each
// direction allocates one string per chunk: unavoidable there, and the client itself still
// allocates nothing.
import type { Transport, TransportEvents, RxSink } from '../../src/transport.js';
import { ERR_CONNECTION, ERR_TLS } from '../../src/client-errors.js';

declare function require(name: string): any;
declare const E: { toString(v: Uint8Array): string | undefined };
declare function setTimeout(fn: () => void, ms: number): unknown;

export interface NetTransportOptions {
  /** tls.connect options (ca, key, cert as PEM strings); absent means plain TCP. */
  tls?: Record<string, unknown>;
}

export class NetTransport implements Transport {
  private s: any = null;
  // Bumped by close() and by each open(): a deferred connect failure only reports if still current.
  private gen = 0;
  private readonly tls: Record<string, unknown> | undefined;
  private ev: TransportEvents | null = null;

  constructor(options?: NetTransportOptions) {
    this.tls = options && options.tls;
  }

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    const self = this;
    const t = this.tls;
    const opts: Record<string, unknown> = { host: host, port: port };
    if (t) for (const k in t) opts[k] = t[k];
    let up = false;
    let s: any;
    const g = ++this.gen;
    this.ev = ev;
    try {
      s = require(t ? 'tls' : 'net').connect(opts, function () {
        up = true;
        ev.onOpen();
      });
    } catch (e) {
      // Espruino throws "Unable to create socket" when the socket cannot even be made (on Linux a
      // refused connect; out of sockets on a device). Report it like any failed connect, later:
      // the client is still inside open().
      setTimeout(function () {
        if (self.gen === g) ev.onClose(ERR_CONNECTION, 'connect failed');
      }, 0);
      return;
    }
    this.s = s;
    s.on('data', function (d: string) {
      if (self.s !== s) return;
      let i = 0;
      while (i < d.length) {
        let n = rx.space();
        if (!n) {
          ev.onReadable();
          if (self.s !== s) return; // the client closed the connection meanwhile
          n = rx.space();
          if (!n) return;
        }
        if (n > d.length - i) n = d.length - i;
        const b = rx.buf;
        const w = rx.w;
        for (let k = 0; k < n; k++) b[w + k] = d.charCodeAt(i + k);
        rx.commit(n);
        i += n;
      }
      ev.onReadable();
    });
    s.on('drain', function () {
      if (self.s === s) ev.onWritable();
    });
    s.on('error', function () {
      if (self.s !== s) return;
      self.s = null;
      ev.onClose(t && !up ? ERR_TLS : ERR_CONNECTION, 'socket error');
    });
    s.on('close', function () {
      if (self.s !== s) return;
      self.s = null;
      ev.onClose(ERR_CONNECTION, 'closed');
    });
  }

  write(b: Uint8Array, off: number, len: number): number {
    // Espruino buffers what it is given (write always returns false; 'drain' follows).
    const s = this.s;
    if (!s) return len;
    const str = E.toString(b.subarray(off, off + len));
    if (str === undefined) {
      // Out of memory for the string: these bytes cannot go out, so the stream is broken. Close
      // and report, later (the client is inside write()); with a session nothing is lost.
      const self = this;
      const g = ++this.gen;
      this.s = null;
      s.end();
      setTimeout(function () {
        if (self.gen === g && self.ev) self.ev.onClose(ERR_CONNECTION, 'out of memory');
      }, 0);
      return 0;
    }
    s.write(str);
    return len;
  }

  close(): void {
    const s = this.s;
    this.s = null;
    this.gen++;
    if (s) s.end();
  }
}
