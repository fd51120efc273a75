// Integration-test harness: real brokers on loopback (mosquitto as a child process, Aedes in
// process), MQTT.js peers, our MqttClient over a tapping transport, and bounded waits.
// Every scenario runs once per broker through `both()`, which gives it a fresh broker and closes
// everything it opened (clients, peers, sockets, processes) whether it passed or not.
// Test-only code: allocates freely.
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { connectAsync, type MqttClient as MqttJsClient, type IClientOptions } from 'mqtt';
import { Aedes, type AedesOptions } from 'aedes';
import type { Test } from 'uvu';
import { MqttClient, utf8Decode } from '../../src/index.ts';
import type {
  ClientOptions, MqttError, PacketView, Transport, TransportEvents, RxSink,
} from '../../src/index.ts';
import { NodeTransport, nodeClock } from '../../host-sim/node-transport.ts';
import { Mosquitto, findMosquitto, freePort, killAllMosquitto } from '../../host-sim/mosquitto.ts';
import { tapRx } from '../../host-sim/rx-tap.ts';
import { FaultProxy } from '../../host-sim/fault-proxy.ts';

export const HOST = '127.0.0.1';

// ---------------------------------------------------------------- waiting

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `pred` every 5 ms until it is truthy; throws after `ms` with `what` (and its detail). */
export async function waitFor(pred: () => unknown, ms: number, what: string | (() => string)): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (pred()) return;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(5);
  }
}

/** Rejects when `p` takes longer than `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

let uniq = 0;
/** A name unique in this process run (client ids, topic prefixes). */
export function uid(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36)}-${(uniq++).toString(36)}`;
}

export { freePort };

// ---------------------------------------------------------------- brokers

export type BrokerKind = 'mosquitto' | 'aedes';

export interface Broker {
  kind: BrokerKind;
  host: string;
  port: number;
  /** Times the broker has let go of connection `clientId` (DISCONNECT, socket loss, timeout). */
  gone(clientId: string): number;
  /** Stops the broker answering without closing anything (SIGSTOP, or a paused path). */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
  /** mosquitto: its log lines. */
  log: string[];
}

export interface MosquittoOptions {
  /** user → password, written with mosquitto_passwd; anonymous access is then off unless `anonymous`. */
  users?: Record<string, string>;
  anonymous?: boolean;
  /** acl_file contents. */
  acl?: string;
  persistence?: boolean;
  /** More config lines (e.g. a plugin and its plugin_opt_ lines). */
  extra?: string[];
  /** Make the listener TLS-only (PEM file paths). */
  tls?: MosquittoTls;
}

export interface MosquittoTls {
  /** CA that signs client certificates (mosquitto requires one on a TLS listener). */
  cafile: string;
  certfile: string;
  keyfile: string;
  /** Mutual TLS: refuse clients without a certificate signed by `cafile`. */
  requireCertificate?: boolean;
}

export const MOSQUITTO = findMosquitto();

// A test file that is interrupted must not leave a broker behind (host-sim/mosquitto.ts kills
// them on exit; a detached watchdog when the process dies without one).
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAllMosquitto();
    process.kill(process.pid, sig);
  });
}

/** The users' password file, written with mosquitto_passwd (next to the binary, or on the PATH). */
function passwordFile(bin: string, dir: string, users: Record<string, string>): string {
  const pw = path.join(dir, 'passwd');
  let first = true;
  for (const [u, p] of Object.entries(users)) {
    const r = spawnSync(path.join(path.dirname(bin), '..', 'bin', 'mosquitto_passwd'), ['-b', ...(first ? ['-c'] : []), pw, u, p], { encoding: 'utf8' });
    const r2 = r.error ? spawnSync('mosquitto_passwd', ['-b', ...(first ? ['-c'] : []), pw, u, p], { encoding: 'utf8' }) : r;
    if (r2.status !== 0) throw new Error(`mosquitto_passwd failed: ${r2.error?.message || r2.stderr}`);
    first = false;
  }
  return pw;
}

/** mosquitto on a free loopback port with its own config (host-sim/mosquitto.ts), logging connections. */
export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Broker> {
  const bin = MOSQUITTO.bin;
  if (!bin) throw new Error(MOSQUITTO.why);
  const goneCount = new Map<string, number>();
  const m = await Mosquitto.start({
    bin, verbose: true, persistence: opts.persistence, anonymous: !opts.users || !!opts.anonymous,
    config: (dir) => {
      const conf: string[] = [];
      if (opts.users) conf.push(`password_file ${passwordFile(bin, dir, opts.users)}`);
      if (opts.acl !== undefined) {
        const acl = path.join(dir, 'acl');
        fs.writeFileSync(acl, opts.acl);
        conf.push(`acl_file ${acl}`);
      }
      if (opts.extra) conf.push(...opts.extra);
      if (opts.tls) {
        // These follow the listener line, so they make that listener TLS-only.
        const t = opts.tls;
        conf.push(`cafile ${t.cafile}`, `certfile ${t.certfile}`, `keyfile ${t.keyfile}`,
          `require_certificate ${t.requireCertificate ? 'true' : 'false'}`);
      }
      return conf;
    },
    onLine: (line) => {
      // "Client X disconnected." / "Client X closed its connection." / "Client X has exceeded
      // timeout, disconnecting." / "Client X disconnected, not authorised." / socket errors.
      const g = line.match(/Client (\S+) (?:disconnected|closed its connection|has exceeded timeout)/)
        || line.match(/Socket error on client (\S+), disconnecting/);
      if (g) goneCount.set(g[1], (goneCount.get(g[1]) || 0) + 1);
    },
  });
  return {
    kind: 'mosquitto', host: m.host, port: m.port, log: m.log,
    gone: (id) => goneCount.get(id) || 0,
    freeze: () => m.freeze(),
    thaw: () => m.thaw(),
    stop: () => m.destroy(3000),
  };
}

export interface AedesStartOptions {
  authenticate?: AedesOptions['authenticate'];
  authorizeSubscribe?: AedesOptions['authorizeSubscribe'];
  /**
   * Put the fault proxy (host-sim/fault-proxy.ts) in front of the broker so freeze() can stall the
   * path (Aedes runs in this process: it cannot be SIGSTOPped without stopping the test).
   */
  freezable?: boolean;
}

export async function startAedes(opts: AedesStartOptions = {}): Promise<Broker> {
  const o: AedesOptions = {};
  if (opts.authenticate) o.authenticate = opts.authenticate;
  if (opts.authorizeSubscribe) o.authorizeSubscribe = opts.authorizeSubscribe;
  const broker = await Aedes.createBroker(o);
  const goneCount = new Map<string, number>();
  broker.on('clientDisconnect', (c) => goneCount.set(c.id, (goneCount.get(c.id) || 0) + 1));
  const socks = new Set<net.Socket>();
  const server = net.createServer((s) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
    broker.handle(s);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  const { port } = server.address() as net.AddressInfo;
  // The freezable path: client <-> fault proxy <-> Aedes; freeze() stalls it both ways.
  const proxy = opts.freezable ? await FaultProxy.create(0, HOST, port) : null;
  return {
    kind: 'aedes', host: HOST, port: proxy ? proxy.port : port, log: [],
    gone: (id) => goneCount.get(id) || 0,
    freeze() {
      if (!proxy) throw new Error('startAedes({ freezable: true }) is needed for freeze()');
      proxy.freeze(true);
    },
    thaw() {
      proxy?.freeze(false);
    },
    async stop() {
      if (proxy) await proxy.close();
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

// ---------------------------------------------------------------- MQTT.js peers

export interface PeerMsg {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
}

export interface Peer {
  c: MqttJsClient;
  id: string;
  msgs: PeerMsg[];
  /** Messages on one topic, in arrival order. */
  on(topic: string): PeerMsg[];
}

/**
 * Publishes payloads in order from an MQTT.js peer, at most `window` unacknowledged at once.
 * (mosquitto 2.0.11 silently drops a publisher's QoS 2 messages beyond its max_inflight_messages
 * of 20 while completing their handshake, so an unbounded burst loses messages at the broker.)
 */
export async function peerPublishAll(p: Peer, topic: string, payloads: string[], qos: 0 | 1 | 2, window = 10): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < payloads.length) await p.c.publishAsync(topic, payloads[next++], { qos });
  };
  await Promise.all(Array.from({ length: Math.min(window, payloads.length) }, lane));
}

export async function mqttPeer(b: Broker, o: IClientOptions = {}): Promise<Peer> {
  const id = (o.clientId as string | undefined) ?? uid('peer');
  const c = await within(connectAsync(`mqtt://${b.host}:${b.port}`, {
    protocolVersion: 4, clientId: id, reconnectPeriod: 0, connectTimeout: 5000, keepalive: 30, ...o,
  }), 8000, 'MQTT.js peer connect');
  const msgs: PeerMsg[] = [];
  c.on('message', (topic, payload, packet) => {
    msgs.push({ topic, payload: payload.toString(), qos: packet.qos, retain: !!packet.retain, dup: !!packet.dup });
  });
  c.on('error', () => {});
  return { c, id, msgs, on: (t) => msgs.filter((m) => m.topic === t) };
}

// ---------------------------------------------------------------- our client

/** One packet as seen on the wire by the tap. */
export interface WirePacket {
  type: number;
  flags: number;
  bytes: Buffer;
  /** PUBLISH only (payload as text). */
  topic?: string;
  payload?: string;
  /** PUBLISH at QoS 1/2, PUBACK, PUBREC, PUBREL, PUBCOMP. */
  id?: number;
}

/** Splits a byte stream into MQTT packets (fixed header + remaining length). */
export class Framer {
  private pend = Buffer.alloc(0);
  reset(): void { this.pend = Buffer.alloc(0); }
  push(b: Uint8Array): WirePacket[] {
    this.pend = this.pend.length ? Buffer.concat([this.pend, b]) : Buffer.from(b);
    const out: WirePacket[] = [];
    for (;;) {
      const p = this.pend;
      if (p.length < 2) break;
      let rem = 0, mul = 1, i = 1, d: number;
      do {
        if (i >= p.length) return out;
        d = p[i++];
        rem += (d & 127) * mul;
        mul *= 128;
      } while (d & 128);
      if (p.length < i + rem) break;
      const bytes = p.subarray(0, i + rem);
      const pk: WirePacket = { type: p[0] >> 4, flags: p[0] & 15, bytes };
      if (pk.type === 3) {
        const tl = (p[i] << 8) | p[i + 1];
        pk.topic = bytes.subarray(i + 2, i + 2 + tl).toString();
        let at = i + 2 + tl;
        if (pk.flags & 6) {
          pk.id = (p[at] << 8) | p[at + 1];
          at += 2;
        }
        pk.payload = bytes.subarray(at).toString();
      } else if (rem >= 2 && pk.type >= 4 && pk.type <= 7) pk.id = (p[i] << 8) | p[i + 1];
      out.push(pk);
      this.pend = p.subarray(i + rem);
    }
    return out;
  }
}

/**
 * NodeTransport with a tap: records every packet in both directions, can drop chosen outgoing
 * packets (as if lost on a dying link) and cut the connection.
 */
export class TapTransport implements Transport {
  readonly inner = new NodeTransport();
  /** Times open() was called (connection attempts), and when. */
  opens = 0;
  openTimes: number[] = [];
  inPk: WirePacket[] = [];
  outPk: WirePacket[] = [];
  dropped: WirePacket[] = [];
  /** Return true to drop an outgoing packet instead of writing it. */
  dropOut: ((p: WirePacket) => boolean) | null = null;
  private fin = new Framer();
  private fout = new Framer();

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    this.opens++;
    this.openTimes.push(Date.now());
    this.flushQueue();
    this.fin.reset();
    this.fout.reset();
    this.inner.open(host, port, tapRx(rx, (b, off, end) => this.inPk.push(...this.fin.push(b.subarray(off, end)))), ev);
  }

  write(b: Uint8Array, off: number, len: number): number {
    const pks = this.fout.push(b.subarray(off, off + len));
    for (const p of pks) {
      if (this.dropOut && this.dropOut(p)) {
        this.dropped.push(p);
        continue;
      }
      if (this.queue.length || (this.paceOut && this.paceOut(p))) {
        this.queue.push(p);
        this.kick();
      } else this.emit(p);
    }
    return len;
  }

  /**
   * Return true to hold an outgoing packet back so that such packets leave at most one per
   * `paceMs` (everything after one waits its turn, order is kept): network latency, not loss.
   */
  paceOut: ((p: WirePacket) => boolean) | null = null;
  paceMs = 15;
  private queue: WirePacket[] = [];
  private timer: NodeJS.Timeout | null = null;

  private emit(p: WirePacket): void {
    this.outPk.push(p);
    this.inner.write(p.bytes, 0, p.bytes.length);
  }

  private kick(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // One paced packet per tick, plus whatever unpaced packets follow it.
      let paced = 0;
      while (this.queue.length) {
        const p = this.queue[0];
        if (this.paceOut && this.paceOut(p) && paced++) break;
        this.emit(this.queue.shift()!);
      }
      if (this.queue.length) this.kick();
    }, this.paceMs);
  }

  private flushQueue(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
  }

  close(): void {
    this.flushQueue();
    this.inner.close();
  }

  /** Drops the connection abruptly: no DISCONNECT, the broker sees a lost socket. */
  cut(): void {
    this.flushQueue();
    this.inner.cut();
  }

  countIn(type: number, topic?: string): number {
    return this.inPk.filter((p) => p.type === type && (topic === undefined || p.topic === topic)).length;
  }

  countOut(type: number, topic?: string): number {
    return this.outPk.filter((p) => p.type === type && (topic === undefined || p.topic === topic)).length;
  }
}

export interface OurMsg {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
  id: number;
}

/** Copies what a test needs out of a reused PacketView. */
export function copyMsg(v: PacketView): OurMsg {
  return {
    topic: utf8Decode(v.buf, v.topicOff, v.topicLen),
    payload: utf8Decode(v.buf, v.payloadOff, v.payloadLen),
    qos: v.qos, retain: v.retain, dup: v.dup, id: v.id,
  };
}

/** Our client plus everything it reported. */
export class Ours {
  readonly c: MqttClient;
  readonly t = new TapTransport();
  readonly id: string;
  /** sessionPresent of each onConnect. */
  connects: boolean[] = [];
  errors: MqttError[] = [];
  closes: number[] = [];
  /** Every message through onMessage. */
  msgs: OurMsg[] = [];
  drains = 0;

  constructor(b: Broker, o: Partial<ClientOptions> = {}) {
    this.id = o.clientId ?? uid('ours');
    this.c = new MqttClient(this.t, nodeClock, {
      host: b.host, port: b.port, clientId: this.id, keepalive: 30,
      reconnectMin: 50, reconnectMax: 1000, connectTimeout: 3000, ...o,
    });
    this.c.onConnect = (sp) => this.connects.push(sp);
    this.c.onError = (e) => this.errors.push(e);
    this.c.onClose = (r) => this.closes.push(r);
    this.c.onMessage = (v) => { this.msgs.push(copyMsg(v)); };
    this.c.onDrain = () => { this.drains++; };
  }

  on(topic: string): OurMsg[] {
    return this.msgs.filter((m) => m.topic === topic);
  }

  private disposed = false;
  /** end() for good: a later connect() throws (a timed-out scenario cannot reopen it). */
  dispose(): void {
    this.disposed = true;
    this.c.end();
  }

  /** connect() and wait for the next onConnect; returns sessionPresent. */
  async connect(ms = 5000): Promise<boolean> {
    if (this.disposed) throw new Error(`${this.id}: connect() after cleanup`);
    const n = this.connects.length;
    const r = this.c.connect();
    if (r) throw new Error(`connect() returned ${r}`);
    await waitFor(() => this.connects.length > n, ms, () => `onConnect of ${this.id} (errors: ${this.errors.map((e) => e.message).join('; ') || 'none'})`);
    return this.connects[n];
  }

  /** subscribe() and wait for the SUBACK codes. */
  async sub(filters: string | string[], qos: number | number[], handler?: ((v: PacketView) => void) | null, ms = 5000): Promise<number[]> {
    let codes: number[] | null = null;
    const r = this.c.subscribe(filters, qos, handler, (c) => (codes = c));
    if (r) throw new Error(`subscribe() returned ${r}`);
    await waitFor(() => codes, ms, `SUBACK for ${filters}`);
    return codes!;
  }

  async unsub(filters: string | string[], ms = 5000): Promise<void> {
    let done = false;
    const r = this.c.unsubscribe(filters, () => (done = true));
    if (r) throw new Error(`unsubscribe() returned ${r}`);
    await waitFor(() => done, ms, `UNSUBACK for ${filters}`);
  }

  /**
   * Publishes payloads in order, waiting for onDrain whenever the outbox is full. Returns once
   * all are in the outbox (not necessarily delivered).
   */
  async publishAll(topic: string, payloads: string[], qos: number, ms = 10000): Promise<void> {
    const end = Date.now() + ms;
    for (let i = 0; i < payloads.length;) {
      const r = this.c.publish(topic, payloads[i], qos, false);
      if (r === 0) { i++; continue; }
      if (r !== -21 /* ERR_OUTBOX_FULL */) throw new Error(`publish returned ${r}`);
      const d = this.drains;
      await waitFor(() => this.drains > d || Date.now() > end, ms, 'onDrain');
      if (Date.now() > end) throw new Error(`publishAll: outbox still full after ${ms} ms (${i}/${payloads.length} queued)`);
    }
  }

  /** Waits until every queued message is acknowledged. */
  async settled(ms = 10000): Promise<void> {
    await waitFor(() => this.c.queued === 0, ms, () => `outbox of ${this.id} to empty (queued ${this.c.queued})`);
  }
}

// ---------------------------------------------------------------- the per-test context

export interface Ctx {
  broker: Broker;
  peer(o?: IClientOptions): Promise<Peer>;
  ours(o?: Partial<ClientOptions>): Ours;
}

export interface BrokerSetup {
  mosquitto?: MosquittoOptions;
  aedes?: AedesStartOptions;
}

async function runIn(kind: BrokerKind, setup: BrokerSetup, fn: (ctx: Ctx) => Promise<void>, ms: number, name: string): Promise<void> {
  const broker = kind === 'mosquitto' ? await startMosquitto(setup.mosquitto) : await startAedes(setup.aedes);
  const ours: Ours[] = [];
  const peers: Peer[] = [];
  // An abandoned (timed-out) scenario must not open anything after the cleanup.
  let closed = false;
  const live = () => {
    if (closed) throw new Error(`${name}: used after cleanup`);
  };
  const ctx: Ctx = {
    broker,
    async peer(o) {
      live();
      const p = await mqttPeer(broker, o);
      if (closed) p.c.end(true);
      live();
      peers.push(p);
      return p;
    },
    ours(o) {
      live();
      const c = new Ours(broker, o);
      ours.push(c);
      return c;
    },
  };
  try {
    // On a timeout the scenario is abandoned and cleaned up now (its own waits are bounded too).
    await within(fn(ctx), ms, name);
  } catch (e) {
    // The broker's own account helps explain a failure.
    if (broker.log.length) console.log(`\n  mosquitto log (last 15 lines):\n    ${broker.log.slice(-15).join('\n    ')}`);
    throw e;
  } finally {
    closed = true;
    broker.thaw();
    for (const c of ours) c.dispose();
    await Promise.all(peers.map((p) => within(p.c.endAsync(true), 3000, 'peer end').catch(() => {})));
    await within(broker.stop(), 5000, `${kind} stop`);
  }
}


/**
 * Registers `name` once per broker: "name [mosquitto]" and "name [aedes]". Each run gets a fresh
 * broker made from `setup` and must finish within `ms`. Without a mosquitto binary its variant is
 * skipped with a printed reason.
 */
export function both(test: Test, name: string, fn: (ctx: Ctx) => Promise<void>, opts: BrokerSetup & { ms?: number; only?: BrokerKind } = {}): void {
  const ms = opts.ms ?? 20000;
  for (const kind of ['mosquitto', 'aedes'] as const) {
    if (opts.only && opts.only !== kind) continue;
    const full = `${name} [${kind}]`;
    // CLIENT_TEST=substring runs only matching scenarios (debugging aid).
    if (process.env.CLIENT_TEST && !full.includes(process.env.CLIENT_TEST)) continue;
    if (kind === 'mosquitto' && !MOSQUITTO.bin) {
      console.log(`skipped: ${full}: ${MOSQUITTO.why}`);
      test.skip(full, () => {});
      continue;
    }
    test(full, () => runIn(kind, opts, fn, ms, full));
  }
}

/** `count` payloads "0".."count-1" (sequence numbers). */
export function seq(count: number, prefix = ''): string[] {
  return Array.from({ length: count }, (_, i) => prefix + i);
}

/** Sequence numbers of payloads (with `prefix` removed), for exactly-once / in-order checks. */
export function nums(msgs: { payload: string }[], prefix = ''): number[] {
  return msgs.map((m) => Number(m.payload.slice(prefix.length)));
}

/** Describes how a received sequence differs from 0..count-1 exactly once in order. */
export function seqProblems(got: number[], count: number): string {
  const seen = new Map<number, number>();
  for (const n of got) seen.set(n, (seen.get(n) || 0) + 1);
  const missing: number[] = [];
  const dups: number[] = [];
  for (let i = 0; i < count; i++) {
    const k = seen.get(i) || 0;
    if (!k) missing.push(i);
    if (k > 1) dups.push(i);
  }
  const extra = got.filter((n) => !(n >= 0 && n < count));
  let outOfOrder = 0;
  for (let i = 1; i < got.length; i++) if (got[i] < got[i - 1]) outOfOrder++;
  const parts: string[] = [];
  if (missing.length) parts.push(`missing ${missing.length} (${missing.slice(0, 10).join(',')})`);
  if (dups.length) parts.push(`duplicated ${dups.length} (${dups.slice(0, 10).join(',')})`);
  if (extra.length) parts.push(`unexpected ${extra.slice(0, 10).join(',')}`);
  if (outOfOrder) parts.push(`${outOfOrder} out of order`);
  return parts.join('; ');
}
