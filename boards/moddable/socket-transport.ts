// Transport over Moddable's classic socket module, or SecureSocket for TLS (a DER CA certificate
// in `secure.certificate`). Reads must happen inside the callback, so each readable message is
// drained byte by byte with read(Number), which allocates nothing.
import { Socket } from 'socket';
import SecureSocket from 'securesocket';
import type { Transport, TransportEvents, RxSink } from '../../src/transport.js';
import { ERR_CONNECTION, ERR_TLS } from '../../src/client-errors.js';
import { readInto, writeBytes } from './byte-io.js';

// socket.d.ts lacks the message constants and read(Number); these are the documented values.
const CONNECTED = 1;
const READABLE = 2;
const WRITABLE = 3;

/** The classic socket as this shim uses it (the published typings miss read(Number)). */
interface ClassicSocket {
  callback: (message: number, value?: number) => void;
  read(type: typeof Number): number;
  write(): number;
  write(byte: number): void;
  close(): void;
}

export interface SocketTransportOptions {
  /** SecureSocket options, e.g. {protocolVersion: 0x303, certificate: <DER ArrayBuffer>}; absent means plain TCP. */
  secure?: Record<string, unknown>;
}

export class SocketTransport implements Transport {
  private s: ClassicSocket | null = null;
  private room = 0;
  private readonly secure: Record<string, unknown> | undefined;

  constructor(options?: SocketTransportOptions) {
    this.secure = options && options.secure;
  }

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    const self = this;
    const opts = { host, port, secure: this.secure };
    const s = (this.secure ? new (SecureSocket as any)(opts) : new (Socket as any)(opts)) as ClassicSocket;
    let up = false;
    const read = () => s.read(Number);
    const alive = () => self.s === s;
    s.callback = function (message: number, value?: number) {
      if (self.s !== s) return;
      if (message === CONNECTED) {
        up = true;
        self.room = s.write();
        ev.onOpen();
      } else if (message === READABLE) {
        readInto(rx, ev, value || 0, read, alive);
      } else if (message === WRITABLE) {
        self.room = value || 0;
        ev.onWritable();
      } else if (message < 0) {
        self.s = null;
        // An error before the connection came up on a secure socket is a handshake failure.
        ev.onClose(self.secure && !up ? ERR_TLS : ERR_CONNECTION, message === -1 ? 'disconnected' : 'socket error');
      }
    };
    this.s = s;
  }

  write(b: Uint8Array, off: number, len: number): number {
    const s = this.s;
    if (!s) return len;
    const n = writeBytes(s, this.room, b, off, len);
    this.room -= n;
    return n;
  }

  close(): void {
    const s = this.s;
    this.s = null;
    if (s) s.close();
  }
}
