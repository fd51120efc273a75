// Transport and Clock on Node: TCP (net) or TLS (tls), real timers. Only translates.
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Transport, TransportEvents, RxSink, Clock } from '../src/transport.ts';
import { ERR_CONNECTION, ERR_TLS, ERR_DNS } from '../src/client-errors.ts';
import { rxWrite } from '../src/codec/decoder.ts';

export interface NodeTransportOptions {
  /** TLS options (ca, cert, key, servername, rejectUnauthorized...); absent means plain TCP. */
  tls?: tls.ConnectionOptions;
  /**
   * Bytes staged per tick before one socket write (default 65536). A fleet of thousands of
   * small boards sets this near its outbox size: the buffer is per transport.
   */
  stage?: number;
}

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME|ERR_TLS|EPROTO/;

export class NodeTransport implements Transport {
  private sock: net.Socket | null = null;
  private readonly opts: NodeTransportOptions;

  constructor(opts: NodeTransportOptions = {}) {
    this.opts = opts;
    this.out = Buffer.allocUnsafe(opts.stage || 65536);
  }

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    let err: (Error & { code?: string }) | null = null;
    const t = this.opts.tls;
    const sock = t
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...t }, () => ev._opened())
      : net.connect({ host, port }, () => ev._opened());
    sock.setNoDelay(true);
    this.sock = sock;
    sock.on('data', (chunk: Buffer) => {
      if (this.sock !== sock) return; // a closed connection's late data must not reach the next one
      let i = 0;
      // Checked per piece: a handler may close this connection (and even open the next) inside
      // onReadable, and the rest of this chunk must not reach the new connection's decoder.
      while (i < chunk.length && this.sock === sock) {
        const n = rxWrite(rx, chunk, i, chunk.length);
        if (!n) break; // the client stopped reading: it is closing the connection
        i += n;
        ev._readable();
      }
    });
    sock.on('error', (e) => (err = err || e));
    sock.on('close', () => {
      // After close() the client knows: only an unrequested close is reported.
      if (this.sock !== sock) return;
      this.sock = null;
      const code = err?.code || '';
      const reason = t && (TLS_CODES.test(code) || TLS_CODES.test(err?.message || '')) ? ERR_TLS
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? ERR_DNS : ERR_CONNECTION;
      ev._lost(reason, err ? `${code || 'error'}: ${err.message}` : 'closed by peer');
    });
  }

  write(b: Uint8Array, off: number, len: number): number {
    // Copied at once (the client reuses its buffers when this returns) into a staging buffer that
    // goes out as one socket write at the end of the current tick: a burst of small packets costs
    // one syscall, as a device's TCP stack would coalesce them.
    const s = this.sock;
    if (!s || s.destroyed) return len;
    if (this.outLen + len > this.out.length) this.flushOut();
    if (len > this.out.length) {
      s.write(Buffer.from(b.subarray(off, off + len)));
      return len;
    }
    this.out.set(b.subarray(off, off + len), this.outLen);
    if (!this.outLen) process.nextTick(this.flushOut);
    this.outLen += len;
    return len;
  }

  private readonly out: Buffer;
  private outLen = 0;
  private readonly flushOut = () => {
    const n = this.outLen;
    if (!n) return;
    this.outLen = 0;
    const s = this.sock;
    if (s && !s.destroyed) s.write(Buffer.from(this.out.subarray(0, n)));
  };

  close(): void {
    const s = this.sock;
    this.flushOut(); // what the client wrote before close() (DISCONNECT) still goes out
    this.sock = null;
    this.outLen = 0;
    if (s) {
      s.end(); // FIN after the last bytes; destroyed soon after in case the peer never answers
      setTimeout(() => s.destroy(), 2000).unref();
    }
  }

  /** Test hook: drop the connection abruptly, as a network failure would (no DISCONNECT). */
  cut(): void {
    this.outLen = 0;
    this.sock?.destroy();
  }
}

export const nodeClock: Clock = {
  now: () => Date.now(),
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};
