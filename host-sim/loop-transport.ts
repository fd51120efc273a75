// The fake broker in process: a Transport whose far end is a fake-broker Session, and a Clock
// whose time only moves when told. Bytes move only inside run(), never from within the client's
// own calls (as a real socket never delivers data inside write()), in chunks the caller chooses,
// so a fuzzer can push many thousands of server streams per second through the real client
// deterministically. Test-only: allocates freely.
import type { Transport, TransportEvents, RxSink, Clock } from '../src/transport.ts';
import { ERR_CONNECTION } from '../src/client-errors.ts';
import { Session, type Script } from './fake-broker.ts';
import { rxWrite } from '../src/codec/decoder.ts';

export class LoopTransport implements Transport {
  /** Connection attempts so far. */
  opens = 0;
  /** The current (or last) connection's broker side. */
  session: Session | null = null;
  /** The client could not take bytes although it was still connected (must never happen). */
  stalls = 0;
  /** Sizes of the pieces the server's bytes are delivered in (default: whole). */
  chunk: (left: number) => number = (left) => left;
  private rx: RxSink | null = null;
  private ev: TransportEvents | null = null;
  private live = false;
  private opening = false;
  private hangup = false;
  private toClient: Uint8Array[] = [];
  private toBroker: Uint8Array[] = [];

  /** Connection k (from 0) runs script(k). */
  constructor(private readonly script: (k: number) => Script) {}

  open(_host: string, _port: number, rx: RxSink, ev: TransportEvents): void {
    const k = this.opens++;
    this.rx = rx;
    this.ev = ev;
    this.live = this.opening = true;
    this.hangup = false;
    this.toClient = [];
    this.toBroker = [];
    const toClient = this.toClient;
    this.session = new Session(this.script(k), (b) => toClient.push(b), () => (this.hangup = true), k);
  }

  write(b: Uint8Array, off: number, len: number): number {
    if (this.live) this.toBroker.push(b.slice(off, off + len));
    return len;
  }

  close(): void {
    this.live = false;
    if (this.session) this.session.closed = true;
  }

  get connected(): boolean {
    return this.live;
  }

  /** Moves bytes both ways until nothing is left to move. */
  run(): void {
    let guard = 0;
    while (this.live) {
      if (++guard > 100000) throw new Error('LoopTransport.run: no quiescence after 100000 steps');
      const ev = this.ev!;
      if (this.opening) {
        this.opening = false;
        ev._opened();
      } else if (this.toBroker.length) {
        this.session!.input(this.toBroker.shift()!);
      } else if (this.toClient.length) {
        this.deliver();
      } else if (this.hangup) {
        this.live = false;
        ev._lost(ERR_CONNECTION, 'closed by the fake broker');
      } else return;
    }
  }

  /** Everything the broker sent so far, as one stream cut into chunk() pieces. */
  private deliver(): void {
    const parts = this.toClient.splice(0);
    let n = 0;
    for (const p of parts) n += p.length;
    const all = new Uint8Array(n);
    n = 0;
    for (const p of parts) {
      all.set(p, n);
      n += p.length;
    }
    const rx = this.rx!;
    const ev = this.ev!;
    let i = 0;
    while (i < all.length && this.live) {
      const end = i + Math.max(1, Math.min(all.length - i, this.chunk(all.length - i)));
      while (i < end && this.live) {
        const k = rxWrite(rx, all, i, end);
        if (!k) {
          // A client that is still connected always makes room (or skips an oversized packet).
          this.stalls++;
          return;
        }
        i += k;
        ev._readable();
      }
    }
  }
}

/** A Clock for tests: time moves only by advance() or fireNext(). */
export class ManualClock implements Clock {
  t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.t;
  }

  set(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }

  clear(h: unknown): void {
    this.timers.delete(h as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /** Jumps to the earliest timer and runs it; false when none is set. */
  fireNext(): boolean {
    let best = -1;
    let at = Infinity;
    for (const [id, x] of this.timers) if (x.at < at) { at = x.at; best = id; }
    if (best < 0) return false;
    const x = this.timers.get(best)!;
    this.timers.delete(best);
    if (x.at > this.t) this.t = x.at;
    x.fn();
    return true;
  }
}
