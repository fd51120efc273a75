// Malicious-server fuzz: seeded hostile server streams (a valid session prefix, then corruption;
// see helpers/hostile.ts) against the real client.
//  a) FUZZ_STREAMS (default 100,000) streams in process: the fake broker's Session behind a
//     LoopTransport and a ManualClock, bytes in random chunks. After each hostile stream the
//     broker either hangs up or goes silent; the client must be closed within its connect
//     timeout / keepalive bound (no hang), and then reach CONNECTED on a clean stream with its
//     outbox drained. One client for the whole run: the heap after GC must not grow.
//  b) FUZZ_TCP (default 300) streams over loopback TCP: fake broker and NodeTransport.
// Throughout: no exception, every error named, onClose carries the error that closed, and the
// client never sends a byte the broker-side decoder rejects. The seed is printed; FUZZ_SEED=<n>
// replays a run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MqttClient, OFFLINE, CONNECTED, codecErrorName } from '../src/index.ts';
import type { MqttError, Transport } from '../src/index.ts';
import { LoopTransport, ManualClock } from '../host-sim/loop-transport.ts';
import { NodeTransport, nodeClock } from '../host-sim/node-transport.ts';
import { startFakeBroker, scripts, type Script, type FakeBroker } from '../host-sim/fake-broker.ts';
import { Rng, caseSeed, hostile } from './helpers/hostile.ts';
import { waitFor } from './helpers/brokers.ts';

const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) >>> 0 : (Math.random() * 0x100000000) >>> 0;
const N = Number(process.env.FUZZ_STREAMS ?? 100_000);
const N_TCP = Number(process.env.FUZZ_TCP ?? 300);
const RX = 128;
const KEEPALIVE = 10;
const CONNECT_TIMEOUT = 5000;
console.log(`server-fuzz: FUZZ_SEED=${SEED}`);

/** Names every error, checks onClose against it; `problem` holds the first violation. */
class Watch {
  names = new Map<string, number>();
  problem = '';
  last = 0;
  errors = 0;
  closes = 0;
  delivered = 0;
  attach(c: MqttClient): void {
    c.onError = (e: MqttError) => {
      this.errors++;
      this.last = e.code;
      this.names.set(e.name, (this.names.get(e.name) || 0) + 1);
      if (!(e.code < 0) || e.name !== codecErrorName(e.code) || /^ERR_-?\d/.test(e.name) || !e.message.startsWith(e.name)) {
        this.problem ||= `unnamed error ${JSON.stringify(e)}`;
      }
    };
    c.onClose = (reason) => {
      this.closes++;
      if (reason !== 0 && reason !== this.last) this.problem ||= `onClose(${reason}) after onError(${this.last})`;
    };
    c.onMessage = (v) => {
      this.delivered++;
      if (v.topicOff + v.topicLen > v.buf.length || v.payloadOff + v.payloadLen > v.buf.length || v.topicLen < 1) {
        this.problem ||= 'message view out of bounds';
      }
    };
  }
}

function options(o: object) {
  return {
    host: '127.0.0.1', clientId: 'fuzz', clean: false, keepalive: KEEPALIVE, rxSize: RX, txSize: 256,
    outboxSize: 1024, maxInboundQos2: 8, connectTimeout: CONNECT_TIMEOUT, ...o,
  };
}

test(`in process: ${N} hostile server streams, each followed by a clean one`, () => {
  let current: Script = scripts.plain();
  const t = new LoopTransport(() => current);
  const clock = new ManualClock();
  const c = new MqttClient(t, clock, options({ reconnectMin: 100, reconnectMax: 2000 }));
  const w = new Watch();
  w.attach(c);
  assert.is(c.subscribe(['a/+', 'b/#'], [1, 2], () => {}), 0);
  assert.is(c.connect(), 0);
  t.run();
  assert.is(c.state, CONNECTED);
  t.session!.close();
  t.run();
  const whole = (left: number) => left;
  const t0 = Date.now();
  let heapWarm = 0;
  let heapMax = 0;
  let silent = 0;
  let closedByClient = 0;
  let published = 0;
  const fail = (k: number, log: string[], what: string) => {
    throw new Error(`case ${k} (FUZZ_SEED=${SEED}, ${log.join(' ') || 'clean'}): ${what}`);
  };
  /** Lets the backoff timer run until the client opens a connection. */
  const openNext = (k: number, log: string[]) => {
    const o = t.opens;
    for (let i = 0; i < 4 && t.opens === o; i++) if (!clock.fireNext()) break;
    if (t.opens === o) fail(k, log, `no reconnect (state ${c.state}, timers ${clock.pending})`);
  };
  for (let k = 0; k < N; k++) {
    const r = new Rng(caseSeed(SEED, k));
    const h = hostile(r, RX);
    current = h.script;
    const mode = r.int(3);
    t.chunk = mode === 0 ? () => r.range(1, 3) : mode === 1 ? () => r.range(1, 64) : whole;
    try {
      openNext(k, h.log);
      t.run();
      if (c.state === CONNECTED && r.chance(0.5)) {
        for (let i = r.range(1, 2); i > 0; i--) if (!c.publish('out/' + (k & 7), 'p' + k, r.int(3))) published++;
        t.run();
      }
      const s = t.session!;
      if (t.connected) {
        if (r.chance(0.25)) {
          // The broker goes silent: the connect timeout or keepalive must close the connection.
          silent++;
          s.filter = () => [];
          const from = clock.t;
          for (let i = 0; i < 6 && c.state !== OFFLINE; i++) {
            clock.fireNext();
            t.run();
          }
          const took = clock.t - from;
          if (c.state !== OFFLINE || took > CONNECT_TIMEOUT + 1500 * KEEPALIVE) fail(k, h.log, `hang: state ${c.state} after ${took} ms of silence`);
        } else {
          s.close();
          t.run();
        }
      } else closedByClient++;
      if (c.state !== OFFLINE) fail(k, h.log, `state ${c.state} after the hostile stream ended`);
      if (s.clientError) fail(k, h.log, `the client sent a malformed packet (${codecErrorName(s.clientError)})`);
      // Recovery on a clean stream.
      current = scripts.plain();
      t.chunk = whole;
      openNext(k, h.log);
      t.run();
      if (c.state !== CONNECTED) fail(k, h.log, `no CONNECTED on a clean stream (state ${c.state})`);
      if (c.queued) fail(k, h.log, `${c.queued} messages still queued after a clean session`);
      if (t.session!.clientError) fail(k, h.log, 'malformed packet on the clean stream');
      t.session!.close();
      t.run();
    } catch (e) {
      if ((e as Error).message.startsWith('case ')) throw e;
      fail(k, h.log, `exception: ${(e as Error).stack}`);
    }
    if (w.problem) fail(k, h.log, w.problem);
    if (t.stalls) fail(k, h.log, 'the client stopped reading while connected');
    if (k === 2000 || k === N - 1 || (k > 2000 && k % 20000 === 0)) {
      (globalThis as { gc?: () => void }).gc?.();
      const heap = process.memoryUsage().heapUsed;
      if (k === 2000) heapWarm = heap;
      heapMax = Math.max(heapMax, heap);
    }
  }
  const ms = Date.now() - t0;
  const growth = heapMax - heapWarm;
  const top = [...w.names].sort((a, b) => b[1] - a[1]).map(([n, v]) => `${n} ${v}`).join(', ');
  console.log(`  ${N} streams in ${ms} ms (FUZZ_SEED=${SEED}): ${t.opens} connections, ${w.errors} errors, ${silent} silent, ${closedByClient} closed by the client first, ${w.delivered} messages delivered, ${published} published`);
  console.log(`  errors: ${top}`);
  console.log(`  heap after GC: ${(heapWarm / 1048576).toFixed(2)} MB at stream 2000, max ${(heapMax / 1048576).toFixed(2)} MB later (growth ${(growth / 1024).toFixed(0)} KB)`);
  assert.is(t.opens, 2 * N + 1);
  if (N >= 10000) {
    assert.ok(growth < 2 * 1048576, `heap grew by ${growth} bytes`);
    // The corpus reaches every class of failure the codec and the client can report.
    for (const n of ['ERR_TOO_LARGE', 'ERR_LENGTH', 'ERR_HEADER_FLAGS', 'ERR_REMAINING_LENGTH', 'ERR_PACKET_TYPE', 'ERR_UTF8', 'ERR_TOPIC',
      'ERR_PACKET_ID', 'ERR_QOS', 'ERR_CONNACK_FLAGS', 'ERR_CONNACK_CODE', 'ERR_SUBACK_CODE', 'ERR_EMPTY', 'ERR_UNEXPECTED_TYPE',
      'ERR_PROTOCOL_STATE', 'ERR_CONNECTION', 'ERR_CONNECT_TIMEOUT', 'ERR_PING_TIMEOUT', 'ERR_REFUSED_AUTH']) {
      assert.ok(w.names.get(n), `${n} never reached`);
    }
  }
  c.end();
});

test(`over loopback TCP: ${N_TCP} hostile server streams through the fake broker, each followed by a clean one`, async () => {
  const lanes = 6;
  const per = Math.ceil(N_TCP / lanes);
  const brokers: FakeBroker[] = [];
  const clients: MqttClient[] = [];
  const t0 = Date.now();
  try {
    const results = await Promise.all(Array.from({ length: lanes }, async (_, lane) => {
      const logs: string[][] = [];
      let recovered = 0;
      const b = await startFakeBroker((conn) => {
        if (conn % 2) return scripts.plain();
        const h = hostile(new Rng(caseSeed(SEED ^ 0x7c7c, lane * per + conn / 2)), RX);
        logs.push(h.log);
        // The whole hostile stream, then the broker hangs up.
        const inner = h.script.connect!;
        return { ...h.script, connect: (s, g) => { inner(s, g); s.close(); } };
      });
      brokers.push(b);
      const t: Transport = new NodeTransport();
      const c = new MqttClient(t, nodeClock, options({ port: b.port, reconnectMin: 1, reconnectMax: 4, connectTimeout: 1000 }));
      clients.push(c);
      const w = new Watch();
      w.attach(c);
      c.onConnect = () => {
        // A clean connection (odd index) reached CONNECTED: hang it up for the next hostile one.
        const s = b.sessions[b.sessions.length - 1];
        if (s.index % 2 === 1) {
          recovered++;
          setImmediate(() => s.close());
        }
      };
      c.subscribe(['a/+', 'b/#'], [1, 2], () => {});
      c.connect();
      await waitFor(() => recovered >= per || w.problem, 30000, () => `lane ${lane}: ${recovered}/${per} recoveries (FUZZ_SEED=${SEED})`);
      c.end();
      return { lane, w, b, logs, recovered };
    }));
    let errors = 0;
    for (const { lane, w, b } of results) {
      assert.is(w.problem, '', `lane ${lane} (FUZZ_SEED=${SEED}): ${w.problem}`);
      for (const s of b.sessions) assert.is(s.clientError, 0, `lane ${lane} connection ${s.index}: the client sent a malformed packet`);
      errors += w.errors;
    }
    console.log(`  ${lanes * per} TCP streams in ${Date.now() - t0} ms, ${errors} errors reported`);
  } finally {
    for (const c of clients) c.end();
    await Promise.all(brokers.map((b) => b.stop()));
  }
});

test.run();
