// A loopback TCP proxy between an MQTT client and its broker that injects network faults: a cut
// of both sockets after an exact or random number of bytes (so mid-packet too), a stalled
// direction (a half-open link: no data and no FIN get through), delay, 1-byte pieces, and
// coalescing into large chunks, and an outage (every connection cut, new ones refused). Used by
// the fault tests, the soak (test/bench/soak.ts) and `npm start --chaos` / `--engine xs`. Node
// only; byte-level: beyond counting packets by their fixed header (wire-counter.ts) it knows
// nothing about MQTT.
import * as net from 'node:net';
import { WireCounter, packetCounts, type PacketCounts } from './wire-counter.ts';
import { rng } from './rng.ts';

/** "up": client to broker; "down": broker to client. */
export type Dir = 'up' | 'down';
/** Which direction(s) a setting applies to, or a cut counts. */
export type Dirs = Dir | 'both';

export interface CutInfo {
  /** Connection number (1 for the first accepted). */
  conn: number;
  /** The direction whose byte count reached the cut. */
  dir: Dir;
  /** Bytes of `dir` forwarded on this connection, the last one included, before the cut. */
  at: number;
}

export interface FaultStats {
  /** Connections accepted, and still open. */
  connections: number;
  active: number;
  /** Bytes forwarded client to broker and broker to client. */
  bytesUp: number;
  bytesDown: number;
  /** Socket writes (chunks) forwarded each way: shows splitting and coalescing at work. */
  chunksUp: number;
  chunksDown: number;
  /** Connections cut by a fault (cutAfter, random cuts, cutNow, setOutage). */
  cuts: number;
  /** Connections refused during an outage. */
  refused: number;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
// Reading from a source pauses while this much waits in its lane (delay, coalesce, a slow peer).
const HIGH_WATER = 1 << 20;

interface Settings {
  delay: number;
  split: boolean;
  coalesce: number;
}

/** One direction of one connection: a queue from `src` to `dst` that applies the faults. */
class Lane {
  private q: { due: number; b: Buffer }[] = [];
  private qBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private waitDrain = false;
  private eof = false;
  stalled = false;
  /** Bytes forwarded so far. */
  fwd = 0;
  /** MQTT packets forwarded, into the proxy's totals for this direction. */
  private readonly packets: WireCounter;

  constructor(
    private readonly conn: Conn, readonly dir: Dir, readonly src: net.Socket, readonly dst: net.Socket,
    private readonly s: Settings, counts: PacketCounts,
  ) {
    this.packets = new WireCounter(counts);
  }

  push(b: Buffer): void {
    this.q.push({ due: this.s.delay ? Date.now() + this.s.delay : 0, b });
    this.qBytes += b.length;
    if (this.qBytes > HIGH_WATER) this.src.pause();
    this.pump();
  }

  end(): void {
    this.eof = true;
    this.pump();
  }

  setStalled(on: boolean): void {
    this.stalled = on;
    if (on) this.src.pause();
    else {
      this.resumeSrc();
      this.pump();
    }
  }

  private resumeSrc(): void {
    if (!this.stalled && !this.conn.dead && this.qBytes <= HIGH_WATER / 4) this.src.resume();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = this.immediate = null;
    this.q = [];
    this.qBytes = 0;
  }

  readonly pump = (): void => {
    if (this.conn.dead || this.stalled || this.waitDrain || this.timer || this.immediate) return;
    const now = Date.now();
    while (this.q.length) {
      const head = this.q[0];
      if (head.due > now) {
        this.timer = setTimeout(this.fire, head.due - now);
        return;
      }
      let piece: Buffer;
      if (this.s.split) {
        piece = head.b.subarray(0, 1);
        head.b = head.b.subarray(1);
        if (!head.b.length) this.q.shift();
      } else if (this.s.coalesce && !this.conn.coalesceDue(this)) {
        this.timer = setTimeout(this.fire, this.s.coalesce);
        return;
      } else {
        // Everything that is due goes out as one chunk (one write: many packets in one piece).
        const take: Buffer[] = [];
        while (this.q.length && this.q[0].due <= now) take.push(this.q.shift()!.b);
        piece = take.length === 1 ? take[0] : Buffer.concat(take);
      }
      this.qBytes -= piece.length;
      if (!this.write(piece)) return;
      if (this.s.split && this.q.length) {
        // One byte per event-loop turn, so the reader gets it as a chunk of its own.
        this.immediate = setImmediate(this.fire);
        return;
      }
    }
    this.resumeSrc();
    if (this.eof && !this.q.length) this.dst.end(); // FIN only after the data (never while stalled)
  };

  private readonly fire = (): void => {
    this.timer = this.immediate = null;
    this.pump();
  };

  /** Writes a piece unless a cut falls inside it. Returns false when the lane must wait or stop. */
  private write(piece: Buffer): boolean {
    const k = this.conn.proxy.allow(this.dir, piece.length);
    this.fwd += k;
    this.conn.proxy.count(this.dir, k);
    this.packets.feed(piece, 0, k);
    if (k < piece.length) {
      this.conn.cut(this, piece.subarray(0, k));
      return false;
    }
    if (!this.dst.write(piece)) {
      this.waitDrain = true;
      this.dst.once('drain', () => {
        this.waitDrain = false;
        this.pump();
      });
      return false;
    }
    return true;
  }
}

/** One proxied connection: the client socket, the broker socket, a lane each way. */
class Conn {
  readonly up: Lane;
  readonly down: Lane;
  dead = false;
  private isCut = false;
  private coalesceStart = new Map<Lane, number>();

  constructor(readonly proxy: FaultProxy, readonly n: number, readonly client: net.Socket, readonly broker: net.Socket) {
    this.up = new Lane(this, 'up', client, broker, proxy.settings.up, proxy.packets.up);
    this.down = new Lane(this, 'down', broker, client, proxy.settings.down, proxy.packets.down);
    for (const [sock, lane] of [[client, this.up], [broker, this.down]] as const) {
      sock.setNoDelay(true);
      sock.on('data', (b: Buffer) => { if (!this.dead) lane.push(b); });
      sock.on('end', () => lane.end());
      // After a cut the far socket closes on its own schedule (see cut()).
      sock.on('error', () => { if (!this.isCut) this.destroy(); });
      sock.on('close', () => { if (!this.isCut) this.destroy(); });
    }
  }

  /** Coalescing: a lane holds its bytes for `coalesce` ms from the first one, then sends all. */
  coalesceDue(lane: Lane): boolean {
    const t = this.coalesceStart.get(lane);
    const now = Date.now();
    if (t === undefined) {
      this.coalesceStart.set(lane, now);
      return false;
    }
    if (now - t < this.proxy.settings[lane.dir].coalesce) return false;
    this.coalesceStart.delete(lane);
    return true;
  }

  /** The cut: `last` (the bytes before the cut point) still reaches the far side, then FIN; the near side is destroyed. */
  cut(lane: Lane, last: Buffer): void {
    if (this.dead) return;
    this.dead = true;
    this.isCut = true;
    this.up.stop();
    this.down.stop();
    const far = lane.dst;
    const near = lane.src;
    near.destroy();
    // Keep reading (and discarding) on the far socket so closing it sends FIN, not RST (an RST
    // could make the far side drop the bytes just delivered); destroy it once it is done.
    far.removeAllListeners('data');
    far.on('data', () => {});
    far.resume();
    far.on('error', () => far.destroy());
    far.end(last);
    this.proxy.linger(far);
    this.proxy.cutDone(this, { conn: this.n, dir: lane.dir, at: lane.fwd });
  }

  destroy(): void {
    if (!this.dead) {
      this.dead = true;
      this.up.stop();
      this.down.stop();
    }
    this.client.destroy();
    this.broker.destroy();
    this.proxy.forget(this);
  }
}

/**
 * The proxy. Create with FaultProxy.create(); point the client at 127.0.0.1:`port`. Every
 * setting applies at once to open connections and to later ones, except stall(), which applies
 * to the connections open at the time (a half-open link; a new connection works).
 */
export class FaultProxy {
  /** The port it listens on (127.0.0.1). */
  port = 0;
  /** Called after each cut. */
  onCut: ((c: CutInfo) => void) | null = null;
  /** The last cut, if any. */
  lastCut: CutInfo | null = null;
  readonly settings: Record<Dir, Settings> = {
    up: { delay: 0, split: false, coalesce: 0 },
    down: { delay: 0, split: false, coalesce: 0 },
  };
  /** MQTT packets forwarded each way, indexed by packet type (3 PUBLISH, 4 PUBACK, ...). */
  readonly packets: Record<Dir, PacketCounts> = { up: packetCounts(), down: packetCounts() };
  private readonly st: FaultStats = { connections: 0, active: 0, bytesUp: 0, bytesDown: 0, chunksUp: 0, chunksDown: 0, cuts: 0, refused: 0 };
  private readonly conns = new Set<Conn>();
  private readonly lingering = new Set<net.Socket>();
  private server: net.Server | null = null;
  private random: () => number;
  // The armed cut: `left` more bytes of `dir` pass, then the connection carrying them is cut.
  private left = -1;
  private cutDir: Dirs = 'both';
  private every: { min: number; max: number } | null = null;
  private outage = false;
  private frozen = false;

  private constructor(readonly targetHost: string, readonly targetPort: number, readonly seed: number) {
    this.random = rng(seed);
  }

  /**
   * Listens on 127.0.0.1:listenPort (0 or undefined: a free port) and forwards each connection
   * to targetHost:targetPort, which must be a loopback address. `seed` drives the random cuts.
   */
  static async create(listenPort: number | undefined, targetHost: string, targetPort: number, seed = Date.now() >>> 0): Promise<FaultProxy> {
    if (!LOOPBACK.test(targetHost)) throw new Error(`fault proxy: target ${targetHost} is not a loopback address`);
    const p = new FaultProxy(targetHost, targetPort, seed);
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) => p.accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort || 0, '127.0.0.1', () => resolve());
    });
    p.server = server;
    p.port = (server.address() as net.AddressInfo).port;
    return p;
  }

  private accept(client: net.Socket): void {
    if (this.outage) {
      this.st.refused++;
      client.resetAndDestroy();
      return;
    }
    const broker = net.connect({ host: this.targetHost, port: this.targetPort, allowHalfOpen: true });
    const c = new Conn(this, ++this.st.connections, client, broker);
    this.conns.add(c);
    this.st.active = this.conns.size;
    client.resume();
    if (this.frozen) for (const l of [c.up, c.down]) l.setStalled(true);
  }

  /** Counters so far (a copy). */
  get stats(): FaultStats {
    return { ...this.st, active: this.conns.size };
  }

  // ---- faults ----

  /** Each chunk waits `ms` before it is forwarded (order kept). */
  setDelay(ms: number, dirs: Dirs = 'both'): void {
    for (const d of this.dirsOf(dirs)) this.settings[d].delay = ms;
    this.kick();
  }

  /** Forward one byte per event-loop turn. */
  setSplit(on: boolean, dirs: Dirs = 'both'): void {
    for (const d of this.dirsOf(dirs)) this.settings[d].split = on;
    this.kick();
  }

  /** Hold bytes for `ms` from the first one, then forward all of them as one chunk; 0 turns it off. */
  setCoalesce(ms: number, dirs: Dirs = 'both'): void {
    for (const d of this.dirsOf(dirs)) this.settings[d].coalesce = ms;
    this.kick();
  }

  /**
   * Stops `dirs` on the connections open now: nothing more is forwarded and no FIN, so the link
   * is half-open (or fully dead with "both"). unstall() lets it flow again.
   */
  stall(dirs: Dirs): void {
    for (const c of this.conns) for (const d of this.dirsOf(dirs)) (d === 'up' ? c.up : c.down).setStalled(true);
  }

  /**
   * A broker that stops answering without closing anything (as if SIGSTOPped): every connection,
   * open or new, is stalled both ways until freeze(false) (or unstall()).
   */
  freeze(on: boolean): void {
    this.frozen = on;
    if (on) this.stall('both');
    else this.unstall();
  }

  unstall(): void {
    this.frozen = false;
    for (const c of this.conns) for (const l of [c.up, c.down]) if (l.stalled) l.setStalled(false);
  }

  /**
   * One cut: after `bytes` more bytes of `dirs` have been forwarded (counted over all
   * connections from now), the connection carrying the last of them is cut there: those bytes
   * reach the far side, then both sockets close. 0 cuts at the next byte.
   */
  cutAfter(bytes: number, dirs: Dirs = 'both'): void {
    this.every = null;
    this.left = bytes;
    this.cutDir = dirs;
  }

  /** cutAfter() at a random count in [1, maxBytes]. */
  cutRandom(maxBytes: number, dirs: Dirs = 'both'): void {
    this.cutAfter(1 + Math.floor(this.random() * maxBytes), dirs);
  }

  /** Keeps cutting: each cut is followed by the next after a random count in [min, max]; null stops. */
  setRandomCuts(range: { min: number; max: number } | null, dirs: Dirs = 'both'): void {
    if (!range) {
      this.every = null;
      this.left = -1;
      return;
    }
    this.cutDir = dirs;
    this.every = range;
    this.rearm();
  }

  /** Cuts every open connection now. Returns how many. */
  cutNow(): number {
    let n = 0;
    for (const c of [...this.conns]) {
      if (c.dead) continue;
      n++;
      this.st.cuts++;
      const info = { conn: c.n, dir: 'up' as Dir, at: c.up.fwd };
      c.destroy();
      this.lastCut = info;
      this.onCut && this.onCut(info);
    }
    return n;
  }

  /**
   * The network down: on, every open connection is cut (returns how many) and new ones are
   * refused (reset at once) until setOutage(false).
   */
  setOutage(on: boolean): number {
    this.outage = on;
    return on ? this.cutNow() : 0;
  }

  /** Clears every fault (settings, stalls, armed cuts, an outage). */
  reset(): void {
    this.setRandomCuts(null);
    this.outage = false;
    for (const d of ['up', 'down'] as const) this.settings[d] = Object.assign(this.settings[d], { delay: 0, split: false, coalesce: 0 });
    this.unstall();
    this.kick();
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    this.every = null;
    this.left = -1;
    for (const c of [...this.conns]) c.destroy();
    for (const s of this.lingering) s.destroy();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  // ---- for the lanes ----

  /** How many of the next n bytes of `dir` may pass before the armed cut. */
  allow(dir: Dir, n: number): number {
    if (this.left < 0 || (this.cutDir !== 'both' && this.cutDir !== dir)) return n;
    if (n <= this.left) {
      this.left -= n;
      // Exactly at the boundary with more to come: the cut falls before the next byte.
      return n;
    }
    const k = this.left;
    this.left = -1;
    return k;
  }

  count(dir: Dir, n: number): void {
    if (dir === 'up') {
      this.st.bytesUp += n;
      this.st.chunksUp++;
    } else {
      this.st.bytesDown += n;
      this.st.chunksDown++;
    }
  }

  cutDone(c: Conn, info: CutInfo): void {
    this.st.cuts++;
    this.lastCut = info;
    this.forget(c);
    if (this.every) this.rearm();
    this.onCut && this.onCut(info);
  }

  forget(c: Conn): void {
    this.conns.delete(c);
  }

  /** A cut connection's far socket, closing gracefully: destroyed after 2 s or by close(). */
  linger(s: net.Socket): void {
    this.lingering.add(s);
    const t = setTimeout(() => s.destroy(), 2000);
    s.once('close', () => {
      clearTimeout(t);
      this.lingering.delete(s);
    });
  }

  private rearm(): void {
    const r = this.every!;
    this.left = r.min + Math.floor(this.random() * (r.max - r.min + 1));
  }

  private dirsOf(d: Dirs): Dir[] {
    return d === 'both' ? ['up', 'down'] : [d];
  }

  private kick(): void {
    for (const c of this.conns) {
      c.up.pump();
      c.down.pump();
    }
  }
}
