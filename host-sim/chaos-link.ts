// A loopback TCP link between one board and the broker that counts the MQTT packets crossing it
// and, on request, misbehaves like a bad network: cut (both sockets reset: the broker sees the
// board vanish and publishes its will), outage (cut, then new connections refused for a while),
// stall (bytes held in both directions, then released in order). `--chaos` drives it on a
// schedule; `--engine xs` uses it plainly to count packets. Minimal on purpose: see
// host-sim/fault-proxy.ts for the full fault injector.
import * as net from 'node:net';
import { WireCounter, packetCounts } from './wire-counter.ts';

interface Pair {
  down: net.Socket; // the board's side
  up: net.Socket; // the broker's side
  upIn: WireCounter; // board -> broker
  downIn: WireCounter; // broker -> board
  held: Buffer[][]; // [to broker, to board] while stalled
}

export class ChaosLink {
  /** Packets by type, board -> broker and broker -> board. */
  readonly toBroker = packetCounts();
  readonly toBoard = packetCounts();
  /** Connections the board made through the link, and those refused during outages. */
  accepted = 0;
  refused = 0;
  port = 0;
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private down = false;
  private stalled = false;
  private closed = false;

  private constructor(private readonly host: string, private readonly target: number) {
    this.server = net.createServer((s) => this.accept(s));
  }

  static async start(host: string, port: number): Promise<ChaosLink> {
    const l = new ChaosLink(host, port);
    await new Promise<void>((r, j) => l.server.once('error', j).listen(0, '127.0.0.1', r));
    l.port = (l.server.address() as net.AddressInfo).port;
    return l;
  }

  get connections(): number {
    return this.pairs.size;
  }

  private accept(down: net.Socket): void {
    if (this.down || this.closed) {
      this.refused++;
      down.resetAndDestroy();
      return;
    }
    this.accepted++;
    const up = net.connect({ host: this.host, port: this.target });
    const p: Pair = { down, up, upIn: new WireCounter(this.toBroker), downIn: new WireCounter(this.toBoard), held: [[], []] };
    this.pairs.add(p);
    down.setNoDelay(true);
    up.setNoDelay(true);
    down.on('data', (d: Buffer) => {
      if (this.stalled) return void p.held[0].push(d);
      p.upIn.feed(d, 0, d.length);
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      if (this.stalled) return void p.held[1].push(d);
      p.downIn.feed(d, 0, d.length);
      down.write(d);
    });
    const end = () => {
      if (!this.pairs.delete(p)) return;
      down.destroy();
      up.destroy();
    };
    for (const s of [down, up]) {
      s.on('error', () => {});
      s.on('close', end);
      s.on('end', end);
    }
  }

  /** Resets every connection (no FIN, no DISCONNECT). Returns how many. */
  cut(): number {
    const n = this.pairs.size;
    for (const p of [...this.pairs]) {
      this.pairs.delete(p);
      p.up.resetAndDestroy();
      p.down.resetAndDestroy();
    }
    return n;
  }

  /** Cuts, then refuses connections until `outage(false)`. */
  outage(on: boolean): number {
    this.down = on;
    return on ? this.cut() : 0;
  }

  /** Holds bytes both ways; on release they go on in order. Returns the bytes released. */
  stall(on: boolean): number {
    this.stalled = on;
    if (on) return 0;
    let n = 0;
    for (const p of this.pairs) {
      for (const d of p.held[0]) { n += d.length; p.upIn.feed(d, 0, d.length); p.up.write(d); }
      for (const d of p.held[1]) { n += d.length; p.downIn.feed(d, 0, d.length); p.down.write(d); }
      p.held = [[], []];
    }
    return n;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pairs) { p.up.destroy(); p.down.destroy(); }
    this.pairs.clear();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
