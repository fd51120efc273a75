// The client through host-sim/fault-proxy.ts to a real mosquitto, MQTT.js peers on the other
// side (connected to the broker directly, so every fault hits our client only): 1-byte pieces,
// coalesced chunks and delay deliver exactly; cuts at chosen bytes (mid-packet) reconnect cleanly
// with no loss (QoS 1) and no loss or duplicate (QoS 2) on persistent sessions; a stalled
// direction (half-open link) is found by keepalive and the client reconnects.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MqttClient, utf8Decode } from '../src/index.ts';
import type { ClientOptions, MqttError, PacketView, RxSink, Transport, TransportEvents } from '../src/index.ts';
import { NodeTransport, nodeClock } from '../host-sim/node-transport.ts';
import { FaultProxy, type CutInfo } from '../host-sim/fault-proxy.ts';
import { tapRx } from '../host-sim/rx-tap.ts';
import {
  MOSQUITTO, startMosquitto, mqttPeer, waitFor, within, uid, seqProblems, Framer, type Broker, type Peer,
} from './helpers/brokers.ts';

/** NodeTransport recording each connection's bytes both ways and the size of each received chunk. */
class RecTransport implements Transport {
  readonly inner = new NodeTransport();
  conns: { out: Buffer[]; in: Buffer[]; rxChunks: number[] }[] = [];

  open(host: string, port: number, rx: RxSink, ev: TransportEvents): void {
    const rec = { out: [] as Buffer[], in: [] as Buffer[], rxChunks: [] as number[] };
    this.conns.push(rec);
    this.inner.open(host, port, tapRx(rx, (b, off, end) => {
      rec.in.push(Buffer.from(b.subarray(off, end)));
      rec.rxChunks.push(end - off);
    }), ev);
  }

  write(b: Uint8Array, off: number, len: number): number {
    const n = this.inner.write(b, off, len);
    this.conns[this.conns.length - 1].out.push(Buffer.from(b.subarray(off, off + n)));
    return n;
  }

  close(): void { this.inner.close(); }
}

/** Offsets where MQTT packets end in a byte stream (fixed header + remaining length). */
function boundaries(b: Buffer): Set<number> {
  const out = new Set<number>([0]);
  let at = 0;
  for (const p of new Framer().push(b)) out.add((at += p.bytes.length));
  return out;
}

/** Packets in a byte stream (complete ones). */
const packetCount = (b: Buffer) => boundaries(b).size - 1;

/** Our client through the proxy, with everything it reported. */
class Ours {
  readonly t = new RecTransport();
  readonly c: MqttClient;
  connects: boolean[] = [];
  errors: MqttError[] = [];
  got = new Map<string, number[]>();

  constructor(port: number, o: Partial<ClientOptions> = {}) {
    this.c = new MqttClient(this.t, nodeClock, {
      host: '127.0.0.1', port, clientId: uid('fault'), clean: false, keepalive: 30,
      reconnectMin: 20, reconnectMax: 200, connectTimeout: 3000,
      // mosquitto 2.0.11 counts a QoS 2 message against its in-flight limit (20) only until
      // PUBREC and sends queued PUBLISHes ahead of the PUBRELs: seen here, 33 ids awaiting PUBREL
      // at once with 1-byte pieces and 280 with PUBRECs held 40 ms. The default table (64) then
      // closes with ERR_INBOUND_FULL (that policy has its own test below); these scenarios are
      // about the other faults, so the table is large.
      maxInboundQos2: 1024, ...o,
    });
    this.c.onConnect = (sp) => this.connects.push(sp);
    this.c.onError = (e) => this.errors.push(e);
    this.c.onMessage = (v: PacketView) => {
      const topic = utf8Decode(v.buf, v.topicOff, v.topicLen);
      const list = this.got.get(topic) || [];
      list.push(Number(utf8Decode(v.buf, v.payloadOff, v.payloadLen)));
      this.got.set(topic, list);
    };
  }

  on(topic: string): number[] { return this.got.get(topic) || []; }

  async connect(): Promise<void> {
    const n = this.connects.length;
    assert.is(this.c.connect(), 0);
    await waitFor(() => this.connects.length > n, 5000, 'onConnect');
  }

  async sub(filter: string, qos: number): Promise<void> {
    let codes: number[] | null = null;
    assert.is(this.c.subscribe(filter, qos, null, (c) => (codes = c)), 0);
    await waitFor(() => codes, 5000, `SUBACK ${filter}`);
    assert.equal(codes, [qos]);
  }

  /** Publishes "0".."count-1" on each topic (interleaved), waiting whenever the outbox is full. */
  async publishSeq(topics: [string, number][], count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      for (const [t, q] of topics) {
        const end = Date.now() + 10000;
        for (;;) {
          const r = this.c.publish(t, String(i), q, false);
          if (r === 0) break;
          assert.is(r, -21, 'only ERR_OUTBOX_FULL may refuse a publish');
          if (Date.now() > end) throw new Error('outbox stayed full');
          await new Promise((res) => setTimeout(res, 2));
        }
      }
    }
  }
}

/** MQTT.js messages per topic, as sequence numbers. */
function peerSeq(p: Peer, topic: string): number[] {
  return p.on(topic).map((m) => Number(m.payload));
}

async function peerPublishSeq(p: Peer, topics: [string, 0 | 1 | 2][], count: number): Promise<void> {
  // At most 10 unacknowledged at once (mosquitto 2.0.11 drops a publisher's QoS 2 beyond 20).
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      for (const [t, q] of topics) await p.c.publishAsync(t, String(i), { qos: q });
    }
  };
  await Promise.all(Array.from({ length: 5 }, lane));
}

interface World { broker: Broker; proxy: FaultProxy; peers: Peer[]; ours: Ours[] }

/** A fresh mosquitto and proxy per scenario; everything is closed whether it passed or not. */
function scenario(name: string, ms: number, fn: (w: World) => Promise<void>): void {
  if (!MOSQUITTO.bin) {
    console.log(`skipped: ${name}: ${MOSQUITTO.why}`);
    test.skip(name, () => {});
    return;
  }
  test(name, async () => {
    const broker = await startMosquitto();
    const proxy = await FaultProxy.create(0, broker.host, broker.port, 12345);
    const w: World = { broker, proxy, peers: [], ours: [] };
    try {
      await within(fn(w), ms, name);
    } catch (e) {
      console.log(`\n  mosquitto log (last 15 lines):\n    ${broker.log.slice(-15).join('\n    ')}`);
      throw e;
    } finally {
      for (const o of w.ours) o.c.end();
      await Promise.all(w.peers.map((p) => within(p.c.endAsync(true), 3000, 'peer end').catch(() => {})));
      await proxy.close();
      await within(broker.stop(), 5000, 'mosquitto stop');
    }
  });
}

async function peer(w: World, o: Parameters<typeof mqttPeer>[1] = {}): Promise<Peer> {
  const p = await mqttPeer(w.broker, o);
  w.peers.push(p);
  return p;
}

function ours(w: World, o: Partial<ClientOptions> = {}): Ours {
  const c = new Ours(w.proxy.port, o);
  w.ours.push(c);
  return c;
}

/**
 * Our client publishing QoS 0/1/2 to an MQTT.js subscriber and subscribed to an MQTT.js
 * publisher, all through the proxy as configured; checks exact delivery (and our publish order).
 */
async function exchange(w: World, n: number, o: Partial<ClientOptions> = {}): Promise<Ours> {
  const pre = uid('x');
  const sub = await peer(w);
  await sub.c.subscribeAsync([`${pre}/o/#`], { qos: 2 });
  const pub = await peer(w);
  const me = ours(w, o);
  await me.connect();
  for (const q of [0, 1, 2]) await me.sub(`${pre}/p/${q}`, q);
  const mine: [string, number][] = [0, 1, 2].map((q) => [`${pre}/o/${q}`, q]);
  await Promise.all([
    me.publishSeq(mine, n),
    peerPublishSeq(pub, [0, 1, 2].map((q) => [`${pre}/p/${q}`, q as 0 | 1 | 2]), n),
  ]);
  const done = () => [0, 1, 2].every((q) => peerSeq(sub, `${pre}/o/${q}`).length >= n && me.on(`${pre}/p/${q}`).length >= n);
  await waitFor(done, 15000, () => `all messages (ours got ${[0, 1, 2].map((q) => me.on(`${pre}/p/${q}`).length)}, MQTT.js got ${[0, 1, 2].map((q) => peerSeq(sub, `${pre}/o/${q}`).length)} of ${n}; errors: ${me.errors.map((e) => e.message).join('; ') || 'none'})`);
  await waitFor(() => me.c.queued === 0, 5000, 'our outbox to empty');
  for (const q of [0, 1, 2]) {
    assert.is(seqProblems(peerSeq(sub, `${pre}/o/${q}`), n), '', `ours -> MQTT.js QoS ${q}`);
    // The order of what MQTT.js publishes reaches us through MQTT.js's own queue and the broker
    // (a QoS 1 reorder was seen once under load): loss and duplicates are asserted, order reported.
    const got = me.on(`${pre}/p/${q}`);
    const order = seqProblems(got, n);
    if (order) console.log(`  MQTT.js -> ours QoS ${q} (arrival order): ${order}`);
    assert.is(seqProblems([...got].sort((a, b) => a - b), n), '', `MQTT.js -> ours QoS ${q}`);
  }
  assert.equal(me.errors, [], 'no errors');
  assert.is(me.connects.length, 1, 'one connection throughout');
  return me;
}

scenario('1-byte pieces both ways: QoS 0/1/2 in both directions arrive exactly once, in order', 20000, async (w) => {
  w.proxy.setSplit(true);
  const n = 40;
  const me = await exchange(w, n);
  const st = w.proxy.stats;
  // Every forwarded write was one byte, and our client read them as such.
  assert.is(st.chunksUp, st.bytesUp, 'client -> broker: one byte per write');
  assert.is(st.chunksDown, st.bytesDown, 'broker -> client: one byte per write');
  const chunks = me.t.conns[0].rxChunks;
  const ones = chunks.filter((k) => k === 1).length;
  console.log(`  1-byte split: ${st.bytesUp} bytes up, ${st.bytesDown} down; our client read ${chunks.length} chunks, ${ones} of 1 byte`);
  assert.ok(ones >= chunks.length * 0.9, `most received chunks are 1 byte (${ones} of ${chunks.length})`);
  assert.ok(st.bytesDown > n * 6 * 5, 'the traffic went through the proxy');
});

scenario('coalesced chunks both ways: many packets per chunk arrive exactly once, in order', 20000, async (w) => {
  w.proxy.setCoalesce(40);
  const n = 300;
  const me = await exchange(w, n, { rxSize: 8192, outboxSize: 8192, maxInflight: 16 });
  const st = w.proxy.stats;
  const c = me.t.conns[0];
  const pk = packetCount(Buffer.concat(c.in));
  const perChunk = pk / c.rxChunks.length;
  console.log(`  coalesced: ${st.chunksUp} writes for ${st.bytesUp} bytes up, ${st.chunksDown} for ${st.bytesDown} down; our client read ${pk} packets in ${c.rxChunks.length} chunks (largest ${Math.max(...c.rxChunks)} bytes)`);
  assert.ok(perChunk >= 5, `several packets per received chunk (${perChunk.toFixed(1)})`);
  assert.ok(st.bytesUp / st.chunksUp > 100, 'large writes towards the broker too');
});

scenario('delay of 60 ms each way: everything arrives, and a round trip takes at least 120 ms', 20000, async (w) => {
  w.proxy.setDelay(60);
  const t0 = Date.now();
  const me = ours(w);
  await me.connect();
  const rtt = Date.now() - t0;
  assert.ok(rtt >= 120, `CONNECT to CONNACK took ${rtt} ms`);
  const pre = uid('d');
  await me.sub(`${pre}/#`, 2);
  const t1 = Date.now();
  for (let i = 0; i < 20; i++) for (const q of [1, 2]) assert.is(me.c.publish(`${pre}/${q}`, String(i), q, false), 0);
  await waitFor(() => me.on(`${pre}/1`).length >= 20 && me.on(`${pre}/2`).length >= 20 && me.c.queued === 0, 10000, 'loopback messages');
  assert.is(seqProblems(me.on(`${pre}/1`), 20), '');
  assert.is(seqProblems(me.on(`${pre}/2`), 20), '');
  assert.ok(Date.now() - t1 >= 240, 'QoS 2 handshakes paid the delay');
  assert.equal(me.errors, []);
});

/**
 * Cuts at chosen byte counts, one after another while traffic flows both ways; each is checked
 * to fall where it was meant to (exact byte count at our side), most of them inside a packet.
 */
scenario('cuts at chosen bytes (mid-packet) both ways: QoS 1 no loss, QoS 2 no loss and no duplicate, session kept', 25000, async (w) => {
  const pre = uid('cut');
  const n = 400;
  const sub = await peer(w, { clientId: uid('psub'), clean: false, reconnectPeriod: 0 });
  await sub.c.subscribeAsync([`${pre}/o/#`], { qos: 2 });
  const pub = await peer(w);
  const me = ours(w, { maxInflight: 8, outboxSize: 4096 });
  await me.connect();
  await me.sub(`${pre}/p/1`, 1);
  await me.sub(`${pre}/p/2`, 2);

  // Offsets (bytes from the moment the cut is armed) chosen to be awkward: 1, primes, a header.
  const plan: { bytes: number; dir: 'up' | 'down' }[] = [];
  const offsets = [1, 3, 7, 13, 29, 57, 101, 211, 389, 2, 5, 17];
  offsets.forEach((b, i) => plan.push({ bytes: b, dir: i % 2 ? 'down' : 'up' }));
  const cuts: CutInfo[] = [];
  let armed = 0;
  const arm = () => { const p = plan[armed++]; w.proxy.cutAfter(p.bytes, p.dir); };
  w.proxy.onCut = (c) => {
    cuts.push(c);
    // The next cut only once the client is back (and has sent its CONNECT), so every cut hits live traffic.
    if (armed < plan.length) {
      const k = me.connects.length;
      waitFor(() => me.connects.length > k, 5000, 'reconnect').then(arm, () => {});
    }
  };
  arm();
  await Promise.all([
    me.publishSeq([[`${pre}/o/1`, 1], [`${pre}/o/2`, 2]], n),
    peerPublishSeq(pub, [[`${pre}/p/1`, 1], [`${pre}/p/2`, 2]], n),
  ]);
  const have = () => peerSeq(sub, `${pre}/o/1`).length >= n && new Set(peerSeq(sub, `${pre}/o/2`)).size >= n
    && new Set(me.on(`${pre}/p/1`)).size >= n && new Set(me.on(`${pre}/p/2`)).size >= n && me.c.queued === 0;
  await waitFor(have, 15000, () => `all messages (cuts ${cuts.length})`);
  await new Promise((r) => setTimeout(r, 200)); // late duplicates would show now
  w.proxy.onCut = null;

  // Each cut happened where it was armed: on the connection's own byte stream, `at` bytes in,
  // and (down) our client received exactly those bytes before the connection closed.
  let mid = { up: 0, down: 0 };
  for (const c of cuts) {
    const rec = me.t.conns[c.conn - 1];
    assert.ok(rec, `connection ${c.conn} is ours`);
    const stream = Buffer.concat(c.dir === 'up' ? rec.out : rec.in);
    if (c.dir === 'down') assert.is(stream.length, c.at, `down cut on connection ${c.conn}: our client got exactly ${c.at} bytes`);
    else assert.ok(stream.length >= c.at, 'up: the client wrote at least as much as was forwarded');
    if (!boundaries(stream.subarray(0, c.at)).has(c.at)) mid[c.dir]++;
  }
  console.log(`  cuts: ${cuts.length} (${cuts.map((c) => `${c.dir}@${c.at}`).join(' ')}); inside a packet: up ${mid.up}, down ${mid.down}`);
  assert.is(cuts.length, plan.length, 'every planned cut happened');
  assert.ok(mid.up >= 3 && mid.down >= 3, 'cuts inside packets in both directions');

  // Delivery, counted by sequence number.
  const dup = (xs: number[]) => xs.length - new Set(xs).size;
  const o2 = peerSeq(sub, `${pre}/o/2`);
  const p2 = me.on(`${pre}/p/2`);
  assert.is(seqProblems([...new Set(peerSeq(sub, `${pre}/o/1`))], n), '', 'ours -> MQTT.js QoS 1: none lost');
  // Inbound order across reconnects is the broker's doing (mosquitto 2.0.11 has been seen to
  // deliver one QoS 1 message after a later one here): loss is checked, order only reported.
  const p1 = [...new Set(me.on(`${pre}/p/1`))];
  const p1Order = seqProblems(p1, n);
  if (p1Order) console.log(`  MQTT.js -> ours QoS 1 (first arrivals): ${p1Order}`);
  assert.is(seqProblems(p1.sort((a, b) => a - b), n), '', 'MQTT.js -> ours QoS 1: none lost');
  assert.is(dup(p2), 0, 'MQTT.js -> ours QoS 2: no duplicate');
  assert.is(seqProblems([...new Set(p2)].sort((a, b) => a - b), n), '', 'MQTT.js -> ours QoS 2: none lost');
  assert.is(dup(o2), 0, 'ours -> MQTT.js QoS 2: no duplicate');
  assert.is(seqProblems([...new Set(o2)].sort((a, b) => a - b), n), '', 'ours -> MQTT.js QoS 2: none lost');

  // Clean reconnects: each cut reported once as a named connection error, the session kept.
  assert.is(me.connects.length, cuts.length + 1, 'one reconnect per cut');
  assert.ok(me.connects.slice(1).every((sp) => sp), 'sessionPresent on every reconnect');
  const names = new Set(me.errors.map((e) => e.name));
  assert.equal([...names], ['ERR_CONNECTION'], `only connection losses reported (${me.errors.map((e) => e.message).join('; ')})`);
});

scenario('inbound QoS 2 ids beyond the table (broker sends PUBLISHes ahead of PUBRELs): ERR_INBOUND_FULL, reconnect, none lost or duplicated', 20000, async (w) => {
  // PUBRECs held 40 ms in the proxy make mosquitto run ahead with new PUBLISHes; a table of 8 ids
  // overflows on every connection. Documented policy: close unacknowledged, let the persistent
  // session redeliver; the ids already acknowledged stay remembered, so nothing is delivered twice,
  // and each connection completes some messages, so it never loops forever.
  w.proxy.setCoalesce(40, 'up');
  const pre = uid('in2');
  const n = 150;
  const me = ours(w, { maxInboundQos2: 8, reconnectMax: 100 });
  await me.connect();
  await me.sub(`${pre}/2`, 2);
  const pub = await peer(w);
  await peerPublishSeq(pub, [[`${pre}/2`, 2]], n);
  await waitFor(() => new Set(me.on(`${pre}/2`)).size >= n, 15000, () => `all messages (got ${new Set(me.on(`${pre}/2`)).size}, reconnects ${me.connects.length - 1})`);
  await new Promise((r) => setTimeout(r, 200));
  const full = me.errors.filter((e) => e.name === 'ERR_INBOUND_FULL').length;
  console.log(`  table of 8: ${full} x ERR_INBOUND_FULL, ${me.connects.length - 1} reconnects, ${n} delivered`);
  assert.ok(full >= 1, 'the table did overflow');
  assert.ok(me.connects.slice(1).every((sp) => sp), 'session present on each reconnect');
  assert.is(seqProblems(me.on(`${pre}/2`), n), '', 'exactly once, in order');
});

scenario('outage: open connections cut, new ones refused until it ends; packets counted by type both ways', 15000, async (w) => {
  const me = ours(w);
  await me.connect();
  const pre = uid('out');
  await me.sub(`${pre}/#`, 1);
  for (let i = 0; i < 5; i++) assert.is(me.c.publish(`${pre}/t`, String(i), 1, false), 0);
  await waitFor(() => me.on(`${pre}/t`).length >= 5 && me.c.queued === 0, 5000, 'loopback messages');
  const { up, down } = w.proxy.packets;
  // CONNECT, SUBSCRIBE, 5 PUBLISH and 5 PUBACK (for the broker's copies) up; CONNACK, SUBACK, 5 PUBACK, 5 PUBLISH down.
  assert.equal([up[1], up[8], up[3], up[4]], [1, 1, 5, 5], 'client -> broker by type');
  assert.equal([down[2], down[9], down[4], down[3]], [1, 1, 5, 5], 'broker -> client by type');
  assert.is(w.proxy.setOutage(true), 1, 'the one open connection cut');
  await waitFor(() => w.proxy.stats.refused >= 2, 5000, 'reconnect attempts refused');
  assert.is(me.connects.length, 1, 'no connection during the outage');
  w.proxy.setOutage(false);
  await waitFor(() => me.connects.length >= 2, 5000, 'reconnect after the outage');
  assert.is(me.connects[1], true, 'session present');
  assert.is(up[1], 2, 'a second CONNECT');
});

const STALLS = [
  { dir: 'down', what: 'broker -> client stalled' },
  { dir: 'up', what: 'client -> broker stalled' },
  { dir: 'both', what: 'both directions stalled' },
] as const;
for (const { dir, what } of STALLS) {
  scenario(`half-open link (${what}, no FIN): keepalive finds it, the client reconnects, nothing lost`, 25000, async (w) => {
    const pre = uid('ho');
    const me = ours(w, { keepalive: 2 });
    await me.connect();
    await me.sub(`${pre}/#`, 1);
    const p = await peer(w);
    w.proxy.stall(dir);
    const t0 = Date.now();
    // Traffic during the stall: the broker's messages to us, and ours (queued in the outbox).
    await p.c.publishAsync(`${pre}/a`, '0', { qos: 1 });
    assert.is(me.c.publish(`${pre}/b`, '0', 1, false), 0);
    // Our keepalive ticks every keepalive/2: a PINGREQ at one tick, the failure at the next (1..3 s
    // on an idle machine). When only client -> broker is stalled, the broker's own keepalive
    // (1.5 x 2 s without a packet from us) may close first, and its FIN does reach us: either way
    // the link is found dead. The wait allows well over 3x that: a loaded machine delays timers.
    await waitFor(() => me.errors.length > 0, 10000, 'the stall to be noticed');
    const took = Date.now() - t0;
    const ok = dir === 'up' ? ['ERR_PING_TIMEOUT', 'ERR_CONNECTION'] : ['ERR_PING_TIMEOUT'];
    assert.ok(ok.includes(me.errors[0].name), me.errors[0].message);
    // Lower bound only: no timer fires early, so nothing can find the stall before one full tick.
    assert.ok(took >= 900, `found after ${took} ms with keepalive 2 s`);
    await waitFor(() => me.connects.length >= 2, 5000, 'reconnect');
    assert.is(me.connects[1], true, 'session present');
    await waitFor(() => me.on(`${pre}/a`).length >= 1 && me.on(`${pre}/b`).length >= 1 && me.c.queued === 0, 5000, 'messages from during the stall');
    assert.is(w.proxy.stats.connections, 2);
    console.log(`  ${what}: ${me.errors[0].name} after ${took} ms, reconnected with the session`);
  });
}

test.run();
