// Zero allocation, measured: a CONNECTED MqttClient moves 100,000+ messages at QoS 0, 1 and 2
// in each direction under `node --jitless` (an interpreter, as on XS and Espruino) with no
// garbage-collector run during the steady phase.
//
// How: the uvu tests below spawn this same file as a child per case:
//   node --jitless --expose-gc --max-semi-space-size=1 --import tsx test/client-alloc.test.ts \
//        --alloc-child <out|in> <qos> <count> [leak]
// --max-semi-space-size=1 (MB) keeps the young generation small so that allocation shows up as
// GC runs: with the default (it grows to 16 MB) a deliberate 48 bytes per message over 100,000
// messages (4.8 MB) ran without a single GC. A control case ("leak": the harness allocates one
// small object per message) checks that the measurement does see allocation.
// The child connects a client to an in-memory broker (MemBroker, a Transport), warms up, calls
// gc(), then runs <count> messages synchronously while a PerformanceObserver counts 'gc' entries
// (delivered after the loop, when the event loop turns) and V8's used heap size is compared
// before and after (with no GC in between, the growth is what the steady phase allocated).
//
// The harness must not allocate per message either:
// - MemBroker.write() parses what the client writes in place (type, remaining length, packet id)
//   and answers by copying pre-encoded packets (CONNACK, SUBACK, PUBACK/PUBREC/PUBREL/PUBCOMP,
//   inbound PUBLISH; encoded once by mqtt-packet's generate()) into a preallocated queue and
//   patching the packet id and sequence bytes in place; flush() hands the queue to the client's
//   RxSink (write(buf, off, end): no subarray) and calls onReadable().
// - The app's handler is created once; it checks the topic with utf8Equals() and topicMatch(),
//   and reads the sequence number and a checksum byte from the payload in place.
// - No closures, no Date.now(), no strings, no subarray inside the loop; numbers stay small ints.
// A child prints one JSON line as its last line; the parent asserts on it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Buffer } from 'node:buffer';
import { generate as mqttGenerate } from 'mqtt-packet';
import type { Packet as MqttPacket } from 'mqtt-packet';
import { MqttClient, CONNECTED, ERR_OUTBOX_FULL, utf8Equals, topicMatch } from '../src/index.ts';
import type { Transport, TransportEvents, RxSink, Clock, PacketView } from '../src/index.ts';
import { rxWrite } from '../src/codec/decoder.ts';

const TOPIC_OUT = 'bench/alloc/out';
const TOPIC_IN = 'bench/alloc/in';
const FILTER = 'bench/+/in';
const PAYLOAD_LEN = 64;
const WARMUP = 20_000;
const STEADY = 100_000;

// ---------------------------------------------------------------------------------------------
// Child: the measurement

/** Pre-encoded broker packets, as plain byte arrays (mqtt-packet's generate(), once). */
function pre(p: Record<string, unknown>): Uint8Array {
  return new Uint8Array(mqttGenerate(p as unknown as MqttPacket));
}

class MemBroker implements Transport {
  rx: RxSink | null = null;
  ev: TransportEvents | null = null;
  /** Broker -> client bytes waiting for flush(). */
  readonly q = new Uint8Array(1 << 16);
  qr = 0;
  qw = 0;
  // Counters (small ints).
  connects = 0;
  pubsIn = 0; // PUBLISH written by the client
  pubacks = 0; // client's PUBACK for an inbound QoS 1
  pubcomps = 0; // client's PUBCOMP for an inbound QoS 2
  pubrels = 0; // client's PUBREL for an outbound QoS 2
  bad = 0;
  // Templates.
  readonly CONNACK = pre({ cmd: 'connack', returnCode: 0, sessionPresent: false });
  readonly SUBACK = pre({ cmd: 'suback', messageId: 1, granted: [2] });
  readonly PUBACK = pre({ cmd: 'puback', messageId: 1 });
  readonly PUBREC = pre({ cmd: 'pubrec', messageId: 1 });
  readonly PUBREL = pre({ cmd: 'pubrel', messageId: 1 });
  readonly PUBCOMP = pre({ cmd: 'pubcomp', messageId: 1 });
  readonly PINGRESP = pre({ cmd: 'pingresp' });
  /** Inbound PUBLISH template for the current QoS, and where its id and payload sit. */
  pub: Uint8Array = new Uint8Array(0);
  pubIdAt = -1;
  pubPayAt = 0;

  setInbound(qos: number): void {
    const payload = Buffer.alloc(PAYLOAD_LEN);
    for (let k = 0; k < PAYLOAD_LEN; k++) payload[k] = (k * 7 + 3) & 255;
    this.pub = pre({ cmd: 'publish', topic: TOPIC_IN, payload, qos, retain: false, dup: false, messageId: qos ? 1 : undefined });
    // Fixed header 2 bytes (remaining length < 128), topic length 2 + topic.
    const t = 2 + 2 + TOPIC_IN.length;
    this.pubIdAt = qos ? t : -1;
    this.pubPayAt = qos ? t + 2 : t;
    if (this.pub.length !== this.pubPayAt + PAYLOAD_LEN) throw new Error('unexpected PUBLISH template layout');
  }

  open(_h: string, _p: number, rx: RxSink, ev: TransportEvents): void {
    this.rx = rx;
    this.ev = ev;
  }

  close(): void {
    this.rx = null;
  }

  /** Copies a template into the queue and patches its packet id (bytes 2, 3). */
  private ack(t: Uint8Array, hi: number, lo: number): void {
    const w = this.qw;
    this.q.set(t, w);
    this.q[w + 2] = hi;
    this.q[w + 3] = lo;
    this.qw = w + t.length;
  }

  /** Queues one inbound PUBLISH with packet id `id` and sequence number `seq` in its payload. */
  queuePublish(id: number, seq: number): void {
    const w = this.qw;
    const q = this.q;
    q.set(this.pub, w);
    if (this.pubIdAt >= 0) {
      q[w + this.pubIdAt] = id >> 8;
      q[w + this.pubIdAt + 1] = id & 255;
    }
    const o = w + this.pubPayAt;
    q[o] = (seq >> 24) & 255;
    q[o + 1] = (seq >> 16) & 255;
    q[o + 2] = (seq >> 8) & 255;
    q[o + 3] = seq & 255;
    this.qw = w + this.pub.length;
  }

  /** Everything the client writes: whole packets (this transport always accepts all of it). */
  write(b: Uint8Array, off: number, len: number): number {
    const end = off + len;
    let i = off;
    while (i < end) {
      const first = b[i];
      let rem = 0;
      let mul = 1;
      let j = i + 1;
      let d = 0;
      do {
        d = b[j++];
        rem += (d & 127) * mul;
        mul *= 128;
      } while (d & 128);
      const type = first >> 4;
      switch (type) {
        case 1: // CONNECT
          this.connects++;
          this.ack(this.CONNACK, this.CONNACK[2], this.CONNACK[3]);
          break;
        case 3: { // PUBLISH
          this.pubsIn++;
          const qos = (first >> 1) & 3;
          if (qos) {
            const at = j + 2 + ((b[j] << 8) | b[j + 1]);
            this.ack(qos === 1 ? this.PUBACK : this.PUBREC, b[at], b[at + 1]);
          }
          break;
        }
        case 4: // PUBACK (inbound QoS 1 done)
          this.pubacks++;
          break;
        case 5: // PUBREC (inbound QoS 2): answer PUBREL
          this.ack(this.PUBREL, b[j], b[j + 1]);
          break;
        case 6: // PUBREL (outbound QoS 2): answer PUBCOMP
          this.pubrels++;
          this.ack(this.PUBCOMP, b[j], b[j + 1]);
          break;
        case 7: // PUBCOMP (inbound QoS 2 done)
          this.pubcomps++;
          break;
        case 8: // SUBSCRIBE
          this.ack(this.SUBACK, b[j], b[j + 1]);
          break;
        case 12: // PINGREQ
          this.ack(this.PINGRESP, this.PINGRESP[2], this.PINGRESP[3]);
          break;
        case 14: // DISCONNECT
          break;
        default:
          this.bad++;
      }
      i = j + rem;
    }
    if (i !== end) this.bad++;
    return len;
  }

  /** Hands the queued bytes to the client; replies it writes meanwhile are queued and delivered too. */
  flush(): void {
    const rx = this.rx as RxSink;
    const ev = this.ev as TransportEvents;
    while (this.qr < this.qw) {
      const n = rxWrite(rx, this.q, this.qr, this.qw);
      if (!n) {
        this.bad++;
        break;
      }
      this.qr += n;
      ev._readable();
    }
    this.qr = this.qw = 0;
  }
}

const clock: Clock = { now: () => 0, set: () => 1, clear: () => undefined };

// App state for inbound messages: module-level so the handler is one function made once.
let expectSeq = 0;
let received = 0;
let badMsgs = 0;
let checksum = 0;
function onMessage(p: PacketView): void {
  const b = p.buf;
  if (!utf8Equals(b, p.topicOff, p.topicLen, TOPIC_IN)) badMsgs++;
  if (!topicMatch(FILTER, b, p.topicOff, p.topicLen)) badMsgs++;
  if (p.payloadLen !== PAYLOAD_LEN) badMsgs++;
  const o = p.payloadOff;
  const seq = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
  if (seq !== expectSeq) badMsgs++;
  expectSeq = seq + 1;
  checksum = (checksum + b[o + PAYLOAD_LEN - 1]) & 0xffff;
  received++;
}

interface ChildResult {
  alloc: 'client' | 'control';
  dir: string;
  qos: number;
  count: number;
  gcs: number;
  gcsAfter: number;
  gcKinds: Record<string, number>;
  heapDelta: number;
  ms: number;
  jitless: boolean;
  ok: boolean;
  detail: string;
}

/** Control mode only: where the deliberate per-message allocation goes. */
let leakSink: unknown = null;

async function child(dir: 'out' | 'in', qos: number, count: number, leak: boolean): Promise<void> {
  const broker = new MemBroker();
  const c = new MqttClient(broker, clock, {
    host: 'mem', clientId: 'alloc', keepalive: 0, reconnect: false,
  });
  c.connect();
  broker.ev!._opened();
  broker.flush();
  if (c.state !== CONNECTED) throw new Error('not connected');
  const payload = new Uint8Array(PAYLOAD_LEN);
  for (let k = 0; k < PAYLOAD_LEN; k++) payload[k] = (k * 7 + 3) & 255;
  let seq = 0;
  let inId = 0;
  let full = 0;

  if (dir === 'in') {
    broker.setInbound(qos);
    let subOk = false;
    c.subscribe('bench/#', 2, onMessage, (codes) => (subOk = codes[0] === 2));
    broker.flush();
    if (!subOk) throw new Error('no SUBACK');
  }

  // The steady loop: no allocation in here, nor in what it calls.
  const run = (n: number): void => {
    if (dir === 'out') {
      for (let i = 0; i < n; i++) {
        payload[0] = (seq >> 24) & 255;
        payload[1] = (seq >> 16) & 255;
        payload[2] = (seq >> 8) & 255;
        payload[3] = seq & 255;
        let r = c.publish(TOPIC_OUT, payload, qos);
        if (r === ERR_OUTBOX_FULL) {
          full++;
          broker.flush();
          r = c.publish(TOPIC_OUT, payload, qos);
        }
        if (r) broker.bad++;
        if (leak) leakSink = { seq };
        seq++;
        if ((seq & 3) === 0) broker.flush();
      }
      broker.flush();
    } else {
      for (let i = 0; i < n; i++) {
        inId = inId >= 65535 ? 1 : inId + 1;
        broker.queuePublish(inId, seq++);
        if ((seq & 7) === 0) broker.flush();
      }
      broker.flush();
    }
  };

  run(WARMUP);
  const gcFn = (globalThis as { gc?: () => void }).gc;
  if (!gcFn) throw new Error('run with --expose-gc');
  gcFn();
  gcFn();
  await new Promise((r) => setImmediate(r));

  // GC entries are timestamped on the performance.now() timeline: only the ones that started
  // inside the steady loop count; any later one (the event loop idling afterwards) is reported apart.
  const entries: { start: number; kind: number }[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      entries.push({ start: e.startTime, kind: (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? -1 });
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const before = { pubsIn: broker.pubsIn, pubacks: broker.pubacks, pubcomps: broker.pubcomps, pubrels: broker.pubrels, received };
  const h0 = getHeapStatistics().used_heap_size;
  const t0 = performance.now();
  run(count);
  const t1 = performance.now();
  const h1 = getHeapStatistics().used_heap_size;
  // GC entries arrive asynchronously: let the event loop turn.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  let gcs = 0;
  let gcsAfter = 0;
  const gcKinds: Record<string, number> = {};
  for (const e of entries) {
    if (e.start >= t0 && e.start <= t1) {
      gcs++;
      // perf_hooks constants: 1 minor (scavenge), 2 major, 4 incremental, 8 weak callbacks.
      gcKinds[e.kind] = (gcKinds[e.kind] || 0) + 1;
    } else gcsAfter++;
  }

  // Correctness of what went through.
  const d = {
    pubsIn: broker.pubsIn - before.pubsIn, pubacks: broker.pubacks - before.pubacks,
    pubcomps: broker.pubcomps - before.pubcomps, pubrels: broker.pubrels - before.pubrels, received: received - before.received,
  };
  const problems: string[] = [];
  if (broker.bad) problems.push(`broker saw ${broker.bad} bad packets/returns`);
  if (badMsgs) problems.push(`${badMsgs} bad inbound messages`);
  if (c.state !== CONNECTED) problems.push('client not connected at the end');
  if (dir === 'out') {
    if (d.pubsIn !== count) problems.push(`broker got ${d.pubsIn} PUBLISH, want ${count}`);
    if (qos === 2 && d.pubrels !== count) problems.push(`${d.pubrels} PUBREL, want ${count}`);
    if (c.queued !== 0) problems.push(`${c.queued} still queued`);
  } else {
    if (d.received !== count) problems.push(`app got ${d.received}, want ${count}`);
    if (qos === 1 && d.pubacks !== count) problems.push(`${d.pubacks} PUBACK, want ${count}`);
    if (qos === 2 && d.pubcomps !== count) problems.push(`${d.pubcomps} PUBCOMP, want ${count}`);
  }
  const res: ChildResult = {
    alloc: leak ? 'control' : 'client', dir, qos, count, gcs, gcsAfter, gcKinds, heapDelta: h1 - h0, ms: Math.round(t1 - t0),
    jitless: process.execArgv.includes('--jitless'), ok: problems.length === 0,
    detail: problems.join('; ') + (full ? ` (outbox full ${full}x)` : '') + ` checksum ${checksum}` + (leakSink ? ' (leaked)' : ''),
  };
  console.log(JSON.stringify(res));
}

const argv = process.argv;
const ci = argv.indexOf('--alloc-child');
if (ci >= 0) {
  const dir = argv[ci + 1] as 'out' | 'in';
  await child(dir, Number(argv[ci + 2]), Number(argv[ci + 3]), argv[ci + 4] === 'leak');
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Parent: the tests

const root = fileURLToPath(new URL('..', import.meta.url));
const self = fileURLToPath(import.meta.url);

function runChild(dir: string, qos: number, count: number, leak = false): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const args = ['--jitless', '--expose-gc', '--max-semi-space-size=1', '--import', 'tsx', self, '--alloc-child', dir, String(qos), String(count)];
    if (leak) args.push('leak');
    const p = spawn(process.execPath, args, {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 240_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      const last = out.trimEnd().split('\n').pop() || '';
      try {
        const r = JSON.parse(last) as ChildResult;
        if (r.alloc !== (leak ? 'control' : 'client')) throw new Error('no result');
        resolve(r);
      } catch {
        reject(new Error(`child ${dir} qos ${qos} failed (exit ${code}):\n${out}\n${err}`));
      }
    });
  });
}

// All six children start at once, two at a time (CI has 2 cores); each test awaits its own.
const cases: [string, number][] = [['out', 0], ['out', 1], ['out', 2], ['in', 0], ['in', 1], ['in', 2]];
const results = new Map<string, Promise<ChildResult>>();
const chain: Promise<unknown>[] = [Promise.resolve(), Promise.resolve()];
[...cases, ['control', 0] as [string, number]].forEach(([dir, qos], i) => {
  const lane = i % 2;
  const pr = chain[lane].then(() => (dir === 'control' ? runChild('out', 0, STEADY, true) : runChild(dir, qos, STEADY)));
  chain[lane] = pr.catch(() => undefined);
  results.set(`${dir}${qos}`, pr);
});

test('control: the measurement sees a harness that allocates one small object per message', async () => {
  const r = await results.get('control0')!;
  console.log(`    control (leak): GC runs ${r.gcs} ${JSON.stringify(r.gcKinds)}, heap growth ${r.heapDelta} B`);
  assert.ok(r.ok, r.detail);
  assert.ok(r.gcs > 0, 'a per-message allocation went unnoticed by the GC count');
});

for (const [dir, qos] of cases) {
  const what = dir === 'out' ? 'publish (client -> broker)' : 'receive (broker -> client)';
  test(`zero allocation under --jitless: ${STEADY.toLocaleString('en-US')} x QoS ${qos} ${what}: 0 GC runs`, async () => {
    const r = await results.get(`${dir}${qos}`)!;
    console.log(`    ${dir} qos ${qos}: ${r.count} msgs in ${r.ms} ms (${Math.round((r.count * 1000) / r.ms)} msg/s jitless), ` +
      `GC runs ${r.gcs} ${JSON.stringify(r.gcKinds)} (after the loop: ${r.gcsAfter}), heap growth ${r.heapDelta} B (${(r.heapDelta / r.count).toFixed(3)} B/msg)`);
    assert.ok(r.jitless, 'child did not run with --jitless');
    assert.ok(r.ok, r.detail);
    assert.is(r.count, STEADY);
    assert.is(r.gcs, 0, `GC runs during the steady phase: ${r.gcs} (heap growth ${r.heapDelta} B)`);
    // With no GC in between, heap growth is what the loop allocated. It is a fixed 10-30 KB
    // whatever the count (0, 1k, 100k or 1M messages: the heap-statistics and clock calls around
    // the loop); the smallest object per message would add >= 1.2 MB. Bound: 0.64 B/message.
    assert.ok(r.heapDelta < 64 * 1024, `heap grew ${r.heapDelta} B over ${r.count} messages`);
  });
}

test.run();
