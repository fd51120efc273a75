// Transport and Clock on Node: TCP (net) or TLS (tls), real timers. Only translates.
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Transport, TransportEvents, RxSink, Clock } from '../src/transport.ts';
import { ERR_CONNECTION, ERR_TLS, ERR_DNS } from '../src/client-errors.ts';

export interface NodeTransportOptions {
  /** TLS options (ca, cert, key, servername, rejectUnauthorized...); absent means plain TCP. */
  tls?: tls.ConnectionOptions;
}

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME|ERR_TLS|EPROTO/;

export class NodeTransport implements Transport {
  private sock: net.Socket | null = null;
  private readonly opts: NodeTransportOptions;

  constructor(opts: NodeTransportOptions = {}) {
    this.opts = opts;
  }

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    let err: (Error & { code?: string }) | null = null;
    const t = this.opts.tls;
    const sock = t
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ...t }, () => ev.onOpen())
      : net.connect({ host, port }, () => ev.onOpen());
    sock.setNoDelay(true);
    this.sock = sock;
    sock.on('data', (chunk: Buffer) => {
      if (this.sock !== sock) return; // a closed connection's late data must not reach the next one
      let i = 0;
      while (i < chunk.length) {
        const n = rx.write(chunk, i, chunk.length);
        if (!n) break; // the client stopped reading: it is closing the connection
        i += n;
        ev.onReadable();
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
      ev.onClose(reason, err ? `${code || 'error'}: ${err.message}` : 'closed by peer');
    });
  }

  write(b: Uint8Array, off: number, len: number): number {
    // Buffer.from(view) copies: the client reuses its buffers as soon as this returns.
    if (this.sock && !this.sock.destroyed) this.sock.write(Buffer.from(b.subarray(off, off + len)));
    return len;
  }

  close(): void {
    const s = this.sock;
    this.sock = null;
    s?.destroy();
  }

  /** Test hook: drop the connection abruptly, as a network failure would (no DISCONNECT). */
  cut(): void {
    this.sock?.destroy();
  }
}

export const nodeClock: Clock = {
  now: () => Date.now(),
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};
