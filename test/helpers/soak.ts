// The soak: QoS 1 and QoS 2 messages in both directions between our client and MQTT.js through
// mosquitto (persistence on, its own dir), with our clients behind the fault proxy cutting their
// connections at random bytes, and mosquitto restarted once (SIGTERM, then started again on the
// same port with the same persistence file). Every message is counted by sequence number.
// Used by `npm run soak` (test/bench/soak.ts, full size) and test/soak.test.ts (short).
//
// Arrangement (every client uses a persistent session: clean=false, a fixed client id):
// - ours2mqttjs: our client "pub" (through the proxy) publishes "0".."count-1" at QoS 1 and at
//   QoS 2 (interleaved) to an MQTT.js subscriber connected to mosquitto directly.
// - mqttjs2ours: an MQTT.js publisher (directly) publishes the same at QoS 1 and 2 to our client
//   "sub" (through the proxy).
// MQTT.js is never behind the proxy, so a cut never hits it; it meets only the broker restart, and
// reconnects with its own store (a publish callback with an error is published again, counted as
// `mqttjsRepublished`). Cuts: after each cut the next one comes after a random number of bytes
// (both directions, both of our connections) in [1, cutMax]; the proxy's seed makes it replayable.
import { connectAsync, type MqttClient as MqttJs } from 'mqtt';
import { MqttClient } from '../../src/index.ts';
import type { ClientOptions, PacketView, RxSink, Transport, TransportEvents } from '../../src/index.ts';
import { Framer, type WirePacket } from './brokers.ts';
import { tapRx } from '../../host-sim/rx-tap.ts';
import { NodeTransport, nodeClock } from '../../host-sim/node-transport.ts';
import { FaultProxy, type FaultStats } from '../../host-sim/fault-proxy.ts';
import { Mosquitto } from '../../host-sim/mosquitto.ts';

const HOST = '127.0.0.1';

export interface SoakOptions {
  /** Messages per QoS per direction. */
  count: number;
  /** The run fails its requirement below this many cuts; the random cut spacing is set from it. */
  minCuts: number;
  /** Restart mosquitto once, half way. */
  restart: boolean;
  /** Gives up (and reports what arrived) after this long. */
  timeoutMs: number;
  seed: number;
  mosquitto: string;
  /** Our subscriber's inbound QoS 2 table (see the report: mosquitto runs ahead of its PUBRELs). */
  maxInboundQos2?: number;
  log?: (line: string) => void;
}

export interface Tally { sent: number; received: number; lost: number; duplicates: number }
export interface Direction { qos1: Tally; qos2: Tally }

export interface SoakResult {
  line: { bench: 'soak'; cuts: number; restarts: number; ours2mqttjs: Direction; mqttjs2ours: Direction; peakOutboxBytes: number };
  /** Everything else worth printing (not part of the JSON line). */
  detail: Record<string, unknown>;
  complete: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- a slim wire tap

/**
 * What our subscriber received at QoS 2, packet by packet (PUBLISH id/DUP/sequence, PUBREL id,
 * CONNACK), so a duplicate delivery can be traced to its cause afterwards.
 */
interface Q2Event { k: 'P' | 'R' | 'C'; id: number; dup?: boolean; seq?: number; sp?: boolean; restarts: number }

class Q2Tap implements Transport {
  readonly inner = new NodeTransport();
  events: Q2Event[] = [];
  restarts = 0;
  private fr = new Framer();
  constructor(readonly topic: string) {}
  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    this.fr.reset();
    this.inner.open(host, port, tapRx(rx, (b, off, end) => { for (const p of this.fr.push(b.subarray(off, end))) this.note(p); }), ev);
  }
  private note(p: WirePacket): void {
    const r = this.restarts;
    if (p.type === 2) this.events.push({ k: 'C', id: 0, sp: !!(p.bytes[2] & 1), restarts: r });
    else if (p.type === 6) this.events.push({ k: 'R', id: p.id!, restarts: r });
    else if (p.type === 3 && p.topic === this.topic) this.events.push({ k: 'P', id: p.id!, dup: !!(p.flags & 8), seq: Number(p.payload), restarts: r });
  }
  write(b: Uint8Array, off: number, len: number): number { return this.inner.write(b, off, len); }
  close(): void { this.inner.close(); }
}

/**
 * Explains each repeated QoS 2 sequence number from the packets: "afterPubrel" when the broker
 * sent the PUBLISH again under an id it had already released with PUBREL for that same message
 * (the broker broke exactly-once; a receiver cannot tell it from a new message), "newId" when it
 * came again with DUP=0 (the broker took it twice from the publisher), else "other" (ours).
 */
function explainDups(events: Q2Event[]): Record<string, number> {
  const held = new Map<number, number>(); // id -> seq awaiting PUBREL
  const released = new Map<number, number>(); // id -> seq released by PUBREL
  const seen = new Set<number>();
  const why: Record<string, number> & { example?: unknown } = {};
  const add = (k: string) => { why[k] = (why[k] || 0) + 1; };
  for (const e of events) {
    if (e.k === 'C') { if (!e.sp) { held.clear(); released.clear(); } continue; }
    if (e.k === 'R') {
      const s = held.get(e.id);
      held.delete(e.id);
      if (s !== undefined) released.set(e.id, s);
      continue;
    }
    if (held.has(e.id)) continue; // a resend we hold: not delivered again
    held.set(e.id, e.seq!);
    if (!seen.has(e.seq!)) { seen.add(e.seq!); released.delete(e.id); continue; }
    const after = e.restarts ? 'AfterRestart' : 'BeforeRestart';
    if (released.get(e.id) === e.seq) {
      add('afterPubrel' + after);
      if (!why.example) {
        // The packets about this id, for the record.
        const trail = events.filter((x) => x.k === 'C' || x.id === e.id).map((x) => x.k === 'C' ? `CONNACK(sp=${x.sp ? 1 : 0},restarts=${x.restarts})` : x.k === 'R' ? `PUBREL(${x.id})` : `PUBLISH(id=${x.id},dup=${x.dup ? 1 : 0},seq=${x.seq})`);
        const at = trail.lastIndexOf(`PUBLISH(id=${e.id},dup=${e.dup ? 1 : 0},seq=${e.seq})`);
        const rel = trail.lastIndexOf(`PUBREL(${e.id})`, at);
        const seg = trail.slice(Math.max(0, rel - 3), at + 1).filter((x, i, a) => !x.startsWith('CONNACK') || !a[i + 1]?.startsWith('CONNACK'));
        (why as Record<string, unknown>).example = (seg.length > 14 ? [...seg.slice(0, 6), '...', ...seg.slice(-6)] : seg).join(' ');
      }
    }
    else if (!e.dup) add('newId' + after);
    else add('other' + after);
    released.delete(e.id);
  }
  return why;
}

// ---------------------------------------------------------------- counting

/** Arrivals of 0..count-1 on one stream. */
class Counter {
  readonly seen: Uint8Array;
  distinct = 0;
  total = 0;
  bad = 0;
  constructor(readonly count: number) { this.seen = new Uint8Array(count); }
  add(n: number): void {
    this.total++;
    if (!(n >= 0 && n < this.count) || n !== Math.floor(n)) { this.bad++; return; }
    if (this.seen[n] < 255) this.seen[n]++;
    if (this.seen[n] === 1) this.distinct++;
  }
  tally(sent: number): Tally {
    return { sent, received: this.distinct, lost: this.count - this.distinct, duplicates: this.total - this.distinct };
  }
}

/** The decimal sequence number in a payload, read from the bytes. */
function seqOf(v: PacketView): number {
  let n = 0;
  for (let i = v.payloadOff, e = v.payloadOff + v.payloadLen; i < e; i++) {
    const d = v.buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return v.payloadLen ? n : -1;
}

function countNames(list: { name: string }[]): Record<string, number> {
  const o: Record<string, number> = {};
  for (const e of list) o[e.name] = (o[e.name] || 0) + 1;
  return o;
}

// ---------------------------------------------------------------- the run

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log || (() => {});
  const t0 = Date.now();
  const tag = `${process.pid.toString(36)}${t0.toString(36)}`;
  const T = {
    o1: `soak/${tag}/o2m/1`, o2: `soak/${tag}/o2m/2`,
    m1: `soak/${tag}/m2o/1`, m2: `soak/${tag}/m2o/2`,
  };
  // Restartable: stop() and start() keep the port and the persistence file.
  const broker = await Mosquitto.start({
    bin: o.mosquitto, persistence: true, tag: 'soak',
    // Queue without limit for an offline persistent session (the default 1000 would drop).
    config: ['max_queued_messages 0', 'max_inflight_messages 20'],
  });
  const closers: (() => Promise<unknown> | void)[] = [];
  const c = {
    o1: new Counter(o.count), o2: new Counter(o.count), m1: new Counter(o.count), m2: new Counter(o.count),
  };
  let restarts = 0;
  let proxy: FaultProxy | null = null;
  const oursSent = { 1: 0, 2: 0 };
  const mqSent = { 1: 0, 2: 0 };
  let mqAcked = 0;
  let mqRepublished = 0;
  const mqErrors: string[] = [];
  let mqReconnects = 0;
  const ourErr = { pub: [] as { name: string }[], sub: [] as { name: string }[] };
  const ourConnects = { pub: [] as boolean[], sub: [] as boolean[] };
  let complete = false;
  let pub: MqttClient | null = null;
  let stats: FaultStats | null = null;
  const tap = new Q2Tap(T.m2);

  try {
    closers.push(() => broker.destroy());
    proxy = await FaultProxy.create(0, HOST, broker.port, o.seed);
    const px = proxy;
    closers.push(() => px.close());

    const base: Partial<ClientOptions> = {
      host: HOST, port: px.port, clean: false, keepalive: 5,
      reconnectMin: 10, reconnectMax: 100, connectTimeout: 2000,
    };
    const ours = (role: 'pub' | 'sub', extra: Partial<ClientOptions>, t: Transport = new NodeTransport()) => {
      const cl = new MqttClient(t, nodeClock, { ...base, clientId: `soak-ours-${role}-${tag}`, ...extra } as ClientOptions);
      cl.onError = (e) => ourErr[role].push(e);
      cl.onConnect = (sp) => ourConnects[role].push(sp);
      closers.push(() => cl.end());
      return cl;
    };
    // maxInflight 16: mosquitto 2.0.11 drops a publisher's QoS 2 beyond its 20 in flight.
    pub = ours('pub', { outboxSize: 8192, maxInflight: 16 });
    const sub = ours('sub', { maxInboundQos2: o.maxInboundQos2 }, tap);
    const p = pub;
    const waitConnected = async (cl: MqttClient, n: unknown[]) => {
      const k = n.length;
      if (cl.connect()) throw new Error('connect() refused');
      const end = Date.now() + 5000;
      while (n.length === k) { if (Date.now() > end) throw new Error('our client did not connect'); await sleep(5); }
    };
    await waitConnected(pub, ourConnects.pub);
    await waitConnected(sub, ourConnects.sub);
    let subacks = 0;
    sub.subscribe(T.m1, 1, (v) => c.m1.add(seqOf(v)), () => subacks++);
    sub.subscribe(T.m2, 2, (v) => c.m2.add(seqOf(v)), () => subacks++);

    const mq = async (role: string) => {
      const cl = await connectAsync(`mqtt://${HOST}:${broker.port}`, {
        protocolVersion: 4, clientId: `soak-mqttjs-${role}-${tag}`, clean: false, reconnectPeriod: 50, keepalive: 5, connectTimeout: 3000,
      });
      cl.on('error', (e) => mqErrors.push(`${role}: ${e.message}`));
      cl.on('reconnect', () => mqReconnects++);
      closers.push(() => cl.endAsync(true).catch(() => {}));
      return cl;
    };
    const msub: MqttJs = await mq('sub');
    msub.on('message', (topic, payload) => {
      const n = /^\d+$/.test(payload.toString()) ? Number(payload.toString()) : -1;
      (topic === T.o1 ? c.o1 : c.o2).add(n);
    });
    await msub.subscribeAsync({ [T.o1]: { qos: 1 }, [T.o2]: { qos: 2 } });
    const mpub: MqttJs = await mq('pub');
    const end = Date.now() + 5000;
    while (subacks < 2) { if (Date.now() > end) throw new Error('no SUBACK'); await sleep(5); }

    // Cuts from now on, at random bytes (both directions, both of our connections) up to cutMax
    // apart, paced against progress so that about 1.5 x minCuts fall evenly over the run: a cut
    // during a resend burst causes a larger burst, and unpaced cuts would feed on themselves.
    const cutMax = Math.max(200, Math.floor((100 * o.count) / o.minCuts));
    const cutRange = { min: 1, max: cutMax };
    let cutting = false;
    const paceCuts = (progress: number) => {
      const want = px.stats.cuts < 1.5 * o.minCuts * progress + 2;
      if (want !== cutting) px.setRandomCuts((cutting = want) ? cutRange : null);
    };
    paceCuts(0);
    log(`soak: ${o.count} messages per QoS per direction, cuts every 1..${cutMax} bytes (seed ${o.seed}), restart ${o.restart ? 'once' : 'no'}, mosquitto on ${broker.port}, proxy on ${px.port}`);

    // ---- publishers
    const oursDone = (async () => {
      let drained = 0;
      p.onDrain = () => { drained++; };
      for (let i = 0; i < o.count; i++) {
        for (const [t, q] of [[T.o1, 1], [T.o2, 2]] as const) {
          for (;;) {
            const r = p.publish(t, String(i), q, false);
            if (r === 0) { oursSent[q]++; break; }
            if (r !== -21) throw new Error(`publish returned ${r}`); // only ERR_OUTBOX_FULL is expected
            const d = drained;
            while (drained === d) await sleep(2);
          }
        }
        if (i % 256 === 255) await new Promise((r) => setImmediate(r));
      }
    })();
    const mqDone = (async () => {
      // At most 16 unacknowledged (mosquitto 2.0.11 drops a publisher's QoS 2 beyond 20).
      let next = 0;
      const one = (t: string, q: 1 | 2, i: number) => new Promise<void>((resolve) => {
        const go = (again: boolean) => {
          if (again) mqRepublished++;
          mpub.publish(t, String(i), { qos: q }, (err) => {
            if (err) { mqErrors.push(`pub callback: ${err.message}`); setTimeout(() => go(true), 50); return; }
            mqAcked++;
            resolve();
          });
        };
        mqSent[q]++;
        go(false);
      });
      const lane = async () => {
        while (next < o.count) {
          const i = next++;
          await Promise.all([one(T.m1, 1, i), one(T.m2, 2, i)]);
        }
      };
      await Promise.all(Array.from({ length: 8 }, lane));
    })();

    // ---- progress, restart half way, completion
    const progress = () => (c.o1.distinct + c.o2.distinct + c.m1.distinct + c.m2.distinct) / (4 * o.count);
    let lastLog = Date.now();
    let publishersDone = false;
    Promise.all([oursDone, mqDone]).then(() => { publishersDone = true; });
    oursDone.catch((e) => mqErrors.push(`ours publisher: ${e.message}`));
    const deadline = t0 + o.timeoutMs;
    for (;;) {
      paceCuts(progress());
      if (o.restart && !restarts && progress() >= 0.5) {
        const tr = Date.now();
        await broker.stop();
        await broker.start();
        restarts++;
        tap.restarts = restarts;
        log(`soak: mosquitto restarted (SIGTERM, persistence, same port) in ${Date.now() - tr} ms at ${(progress() * 100).toFixed(0)}%`);
      }
      if (publishersDone && progress() >= 1 && p.queued === 0) { complete = true; break; }
      if (Date.now() > deadline) break;
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        log(`soak: ${((Date.now() - t0) / 1000).toFixed(0)} s, ${(progress() * 100).toFixed(1)}%, cuts ${px.stats.cuts}, restarts ${restarts}`);
      }
      await sleep(20);
    }
    px.setRandomCuts(null);
    // Late duplicates would arrive now.
    await sleep(500);
  } finally {
    stats = proxy ? proxy.stats : null;
    for (const f of closers.reverse()) await f();
  }
  return {
    line: {
      bench: 'soak', cuts: stats ? stats.cuts : 0, restarts,
      ours2mqttjs: { qos1: c.o1.tally(oursSent[1]), qos2: c.o2.tally(oursSent[2]) },
      mqttjs2ours: { qos1: c.m1.tally(mqSent[1]), qos2: c.m2.tally(mqSent[2]) },
      peakOutboxBytes: pub ? pub.outbox.peak : 0,
    },
    detail: {
      seconds: (Date.now() - t0) / 1000,
      seed: o.seed,
      proxy: stats,
      oursPub: { reconnects: ourConnects.pub.length - 1, sessionLost: ourConnects.pub.slice(1).filter((s) => !s).length, errors: countNames(ourErr.pub) },
      oursSub: { reconnects: ourConnects.sub.length - 1, sessionLost: ourConnects.sub.slice(1).filter((s) => !s).length, errors: countNames(ourErr.sub) },
      mqttjs: { acked: mqAcked, republished: mqRepublished, reconnects: mqReconnects, errors: mqErrors.slice(0, 5), errorCount: mqErrors.length },
      mqttjs2oursQos2Duplicates: explainDups(tap.events),
      badPayloads: c.o1.bad + c.o2.bad + c.m1.bad + c.m2.bad,
      brokerLog: broker.log.slice(-5),
    },
    complete,
  };
}
