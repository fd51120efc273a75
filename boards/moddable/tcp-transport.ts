// Transport over the ECMA-419 TCP socket (embedded:io/socket/tcp), in "number" format so reading
// and writing allocate nothing: each read() returns one byte, each write(byte) sends one.
// ECMA-419 takes an IP address only, so a host name is resolved first with Net.resolve.
import TCP from 'embedded:io/socket/tcp';
import Net from 'net';
import type { Transport, TransportEvents, RxSink } from '../../src/transport.js';
import { ERR_CONNECTION, ERR_DNS } from '../../src/client-errors.js';
import { readInto, writeBytes } from './byte-io.js';

const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

export class TcpTransport implements Transport {
  private s: TCP | null = null;
  /** Bytes the socket will take now (from onWritable). */
  private room = 0;
  /** Bumped by each open() and close(): a name resolved for an older attempt is dropped. */
  private gen = 0;

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    const self = this;
    const gen = ++this.gen;
    let up = false;
    const start = (address: string | undefined) => {
      if (!address) return ev.onClose(ERR_DNS, host);
      const read = () => s.read() as number;
      const alive = () => self.s === s;
      let s: TCP;
      try {
        s = new TCP({
          address, port, nodelay: true, format: 'number',
          onReadable(count: number) {
            if (self.s === s) readInto(rx, ev, count, read, alive);
          },
          onWritable(count: number) {
            if (self.s !== s) return;
            self.room = count;
            if (up) return ev.onWritable();
            up = true; // the first onWritable means connected
            ev.onOpen();
          },
          onError() {
            // A remote close arrives here too: ECMA-419 has no close event.
            if (self.s !== s) return;
            self.s = null;
            ev.onClose(ERR_CONNECTION, 'socket error');
          },
        });
      } catch (e) {
        // No socket could be made (out of sockets or memory): a failed connect, not an exception
        // escaping a resolve callback.
        return ev.onClose(ERR_CONNECTION, 'socket failed');
      }
      self.s = s;
    };
    if (IPV4.test(host)) start(host);
    else Net.resolve(host, (_name: string, address?: string) => gen === self.gen && start(address));
  }

  write(b: Uint8Array, off: number, len: number): number {
    const s = this.s;
    if (!s) return len; // closed: the bytes go nowhere, the client learns of it from onClose
    const n = writeBytes(s, this.room, b, off, len);
    this.room -= n;
    return n;
  }

  close(): void {
    const s = this.s;
    this.s = null;
    this.gen++;
    if (s) s.close();
  }
}
