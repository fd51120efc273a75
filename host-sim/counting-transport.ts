// A Transport that counts the MQTT packets crossing it in each direction (wire-counter.ts) on
// its way to NodeTransport: the simulator's "sent / acknowledged / received" figures come from
// the bytes on the wire, not from the client's own account.
import type { Transport, TransportEvents, RxSink } from '../src/transport.ts';
import { NodeTransport, type NodeTransportOptions } from './node-transport.ts';
import { WireCounter, type PacketCounts } from './wire-counter.ts';
import { tapRx } from './rx-tap.ts';

export class CountingTransport implements Transport {
  readonly inner: NodeTransport;
  readonly out: WireCounter;
  readonly in: WireCounter;
  /** Connections opened (attempts). */
  opens = 0;
  private sink: RxSink | null = null;
  private rx: RxSink | null = null;

  /** `outCounts`/`inCounts` may be shared by many transports (fleet totals). */
  constructor(opts: NodeTransportOptions = {}, outCounts?: PacketCounts, inCounts?: PacketCounts) {
    this.inner = new NodeTransport(opts);
    this.out = new WireCounter(outCounts);
    this.in = new WireCounter(inCounts);
  }

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    this.opens++;
    this.out.reset();
    this.in.reset();
    if (this.rx !== rx) {
      // Made once per client (it always hands over the same receive buffer).
      const counter = this.in;
      this.rx = rx;
      this.sink = tapRx(rx, (b, off, end) => counter.feed(b, off, end));
    }
    this.inner.open(host, port, this.sink!, ev);
  }

  write(b: Uint8Array, off: number, len: number): number {
    const n = this.inner.write(b, off, len);
    this.out.feed(b, off, off + n);
    return n;
  }

  close(): void {
    this.inner.close();
  }

  /** Drops the connection abruptly (no DISCONNECT): the broker publishes the will. */
  cut(): void {
    this.inner.cut();
  }
}
