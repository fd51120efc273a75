// The outbox ring (src/outbox.ts) alone, and through MqttClient over an in-memory Transport.
// Oracle: mqtt-packet. Everything the client writes is decoded with mqtt-packet's parser, and
// every broker packet fed back is encoded with mqtt-packet's generate(), so no packet here is
// judged by our own codec. Test-only code: allocates freely.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buffer } from 'node:buffer';
import { parser as mqttParser, generate as mqttGenerate } from 'mqtt-packet';
import type { Packet as MqttPacket } from 'mqtt-packet';
import {
  MqttClient, CONNECTED, OFFLINE, ERR_OUTBOX_FULL, ERR_TOO_LONG, ERR_CONNECTION,
} from '../src/index.ts';
import type { ClientOptions, MqttError, Transport, TransportEvents, RxSink, Clock } from '../src/index.ts';
import {
  Outbox, S_DONE, S_NEW, S_SENT, S_REL, S_WRAP, HDR, entryEnd, entryId, release, push,
} from '../src/outbox.ts';
import { rng } from '../host-sim/rng.ts';
import { rxWrite } from '../src/codec/decoder.ts';

// ---------------------------------------------------------------------------------------------
// Helpers

/** A decoded packet as mqtt-packet's parser emits it. */
type Pkt = Record<string, any>;

/** Parses a byte stream with mqtt-packet; throws on a parse error. Keeps partial packets. */
class Oracle {
  private readonly p = mqttParser({ protocolVersion: 4 });
  private out: Pkt[] = [];
  constructor() {
    this.p.on('packet', (pk: Pkt) => this.out.push(pk));
    this.p.on('error', (e: Error) => {
      throw new Error('mqtt-packet could not parse what the client wrote: ' + e.message);
    });
  }
  parse(bytes: number[] | Uint8Array): Pkt[] {
    if (bytes.length) this.p.parse(Buffer.from(bytes as Uint8Array));
    const r = this.out;
    this.out = [];
    return r;
  }
}

/** Whole stream at once: every packet, and nothing left over. */
function parseAll(bytes: number[] | Uint8Array): Pkt[] {
  const p = mqttParser({ protocolVersion: 4 });
  const out: Pkt[] = [];
  p.on('packet', (pk: Pkt) => out.push(pk));
  p.on('error', (e: Error) => {
    throw new Error('mqtt-packet could not parse: ' + e.message);
  });
  const left = p.parse(Buffer.from(bytes as Uint8Array));
  assert.is(left, 0, 'bytes left over after the last whole packet');
  return out;
}

/**
 * The in-memory transport: records the bytes write() accepts (one array per connection), and lets
 * the test decide how many bytes each write() takes (`accept`). Broker packets go in through the
 * RxSink and TransportEvents exactly as a platform shim delivers them.
 */
class Wire implements Transport {
  rx: RxSink | null = null;
  ev: TransportEvents | null = null;
  isOpen = false;
  opens = 0;
  closes = 0;
  /** Bytes accepted, per connection. */
  conns: number[][] = [];
  writeCalls = 0;
  /** write() calls after close(): the contract says the connection is gone. */
  writesAfterClose = 0;
  /** What write() returns after close(): 'all' like NodeTransport (sock gone: returns len), or 0. */
  afterClose: 'all' | 'none' = 'all';
  /** A runaway pump turns into a failure rather than a hang. */
  maxWriteCalls = 5_000_000;
  /** How many bytes (0..len) write() accepts. */
  accept: (len: number) => number = (len) => len;
  private oracle = new Oracle();

  open(_host: string, _port: number, rx: RxSink, ev: TransportEvents): void {
    this.rx = rx;
    this.ev = ev;
    this.isOpen = true;
    this.opens++;
    this.conns.push([]);
    this.oracle = new Oracle();
  }

  write(b: Uint8Array, off: number, len: number): number {
    if (++this.writeCalls > this.maxWriteCalls) throw new Error(`runaway: over ${this.maxWriteCalls} write() calls`);
    if (!(Number.isInteger(off) && Number.isInteger(len) && off >= 0 && len >= 0 && off + len <= b.length)) {
      throw new Error(`write() outside the buffer: off=${off} len=${len} buffer=${b.length}`);
    }
    if (!this.isOpen) {
      this.writesAfterClose++;
      return this.afterClose === 'all' ? len : 0;
    }
    let k = this.accept(len);
    k = k < 0 ? 0 : k > len ? len : k;
    const dst = this.conns[this.conns.length - 1];
    for (let i = 0; i < k; i++) dst.push(b[off + i]);
    return k;
  }

  close(): void {
    this.isOpen = false;
    this.closes++;
  }

  /** Packets written on the current connection since the last take(). */
  private seen = 0;
  private seenConn = -1;
  take(): Pkt[] {
    const c = this.conns.length - 1;
    if (c !== this.seenConn) {
      this.seenConn = c;
      this.seen = 0;
    }
    const bytes = this.conns[c].slice(this.seen);
    this.seen = this.conns[c].length;
    return this.oracle.parse(bytes);
  }

  /** Broker -> client: encoded by mqtt-packet, written into the RxSink `chunk` bytes at a time. */
  send(pk: Record<string, unknown>, chunk = Infinity): void {
    const buf = mqttGenerate(pk as unknown as MqttPacket);
    let i = 0;
    while (i < buf.length) {
      const end = Math.min(buf.length, i + chunk);
      const n = rxWrite(this.rx!, buf, i, end);
      if (!n) throw new Error('RxSink accepted nothing');
      i += n;
      this.ev!._readable();
    }
  }

  /** The network drops the connection (no DISCONNECT). */
  drop(): void {
    this.isOpen = false;
    this.ev!._lost(ERR_CONNECTION, 'test drop');
  }

  /** onWritable until write() stops being called (everything pending went out). */
  drainWrites(max = 1_000_000): void {
    for (let i = 0; i < max; i++) {
      const before = this.writeCalls;
      this.ev!._writable();
      if (this.writeCalls === before) return;
    }
    throw new Error('drainWrites: still writing after ' + max + ' onWritable calls');
  }
}

/** Manual clock: timers fire only on advance(). */
class FakeClock implements Clock {
  t = 0;
  private id = 0;
  private timers = new Map<number, { fn: () => void; at: number }>();
  now(): number {
    return this.t;
  }
  set(fn: () => void, ms: number): unknown {
    this.timers.set(++this.id, { fn, at: this.t + ms });
    return this.id;
  }
  clear(h: unknown): void {
    this.timers.delete(h as number);
  }
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      let best = -1;
      let at = Infinity;
      for (const [h, x] of this.timers) if (x.at <= until && x.at < at) { at = x.at; best = h; }
      if (best < 0) break;
      const x = this.timers.get(best)!;
      this.timers.delete(best);
      this.t = x.at;
      x.fn();
    }
    this.t = until;
  }
}

interface Harness {
  c: MqttClient;
  w: Wire;
  clock: FakeClock;
  errors: MqttError[];
}

const BASE: ClientOptions = { host: 'test', clientId: 'outbox-test', keepalive: 0, reconnectMin: 10, reconnectMax: 10 };

/** A client connected over a Wire (CONNACK with `sessionPresent`). */
function setup(o: Partial<ClientOptions> = {}, connect = true): Harness {
  const w = new Wire();
  const clock = new FakeClock();
  const c = new MqttClient(w, clock, { ...BASE, ...o });
  const errors: MqttError[] = [];
  c.onError = (e) => errors.push(e);
  const h = { c, w, clock, errors };
  if (connect) {
    assert.is(c.connect(), 0);
    finishConnect(h, false);
  }
  return h;
}

/** After t.open(): onOpen, CONNECT out, CONNACK in. */
function finishConnect(h: Harness, sessionPresent: boolean): void {
  h.w.ev!._opened();
  h.w.drainWrites();
  const first = h.w.take();
  assert.is(first.length, 1);
  assert.is(first[0].cmd, 'connect');
  h.w.send({ cmd: 'connack', returnCode: 0, sessionPresent });
  assert.is(h.c.state, CONNECTED);
}

/** Drop the connection and come back (the reconnect timer fires), CONNACK with `sessionPresent`. */
function reconnect(h: Harness, sessionPresent: boolean): void {
  if (h.w.isOpen) h.w.drop();
  assert.is(h.c.state, OFFLINE);
  const opens = h.w.opens;
  h.clock.advance(10);
  assert.is(h.w.opens, opens + 1, 'reconnect timer did not open the transport');
  finishConnect(h, sessionPresent);
}

/** Message `seq`: its topic and a payload carrying the sequence number and seq-derived filler. */
function topicOf(seq: number): string {
  return `w/${seq % 7}/m`;
}
function payloadOf(seq: number, size: number): Uint8Array {
  const p = new Uint8Array(Math.max(4, size));
  p[0] = seq >>> 24;
  p[1] = (seq >>> 16) & 255;
  p[2] = (seq >>> 8) & 255;
  p[3] = seq & 255;
  for (let k = 4; k < p.length; k++) p[k] = (seq * 31 + k * 7) & 255;
  return p;
}
function seqOf(pk: Pkt): number {
  return (pk.payload as Buffer).readUInt32BE(0);
}

interface Sent {
  seq: number;
  qos: number;
  size: number;
}

/** Asserts that the decoded PUBLISH is message m, whole. */
function checkPublish(pk: Pkt, m: Sent, what = ''): void {
  assert.is(pk.cmd, 'publish', what);
  assert.is(seqOf(pk), m.seq, `${what}: sequence`);
  assert.is(pk.topic, topicOf(m.seq), `${what}: topic of #${m.seq}`);
  assert.is(pk.qos, m.qos, `${what}: qos of #${m.seq}`);
  assert.ok(Buffer.from(payloadOf(m.seq, m.size)).equals(pk.payload), `${what}: payload of #${m.seq}`);
}

/** Bytes one outbox entry of message (topicOf(seq), size) takes: HDR + PUBLISH packet. */
function entrySize(seq: number, size: number, qos: number): number {
  const rem = 2 + topicOf(seq).length + (qos ? 2 : 0) + Math.max(4, size);
  return HDR + 1 + (rem < 128 ? 1 : 2) + rem;
}

/**
 * Walks the ring from head to tail (holes included), checking the structure, with a step bound
 * (an entry takes at least HDR + 2 bytes). Returns the entry offsets from head. Throws if the walk
 * leaves the ring or does not reach the tail, or if `count` is not the number of non-DONE entries.
 */
function walk(ob: Outbox): number[] {
  const out: number[] = [];
  let p = ob.head;
  let live = 0;
  for (let k = 0; p !== ob.tail; k++) {
    if (k > ob.buf.length / (HDR + 2)) throw new Error(`walk did not reach the tail ${ob.tail} in ${k} steps`);
    if (!(p >= 0 && p < ob.buf.length)) throw new Error(`walk left the ring at step ${k}: p=${p}`);
    const st = ob.buf[p];
    if (!(st === S_DONE || st === S_NEW || st === S_SENT || st === S_REL)) throw new Error(`entry at ${p} has state ${st}`);
    if (st !== S_DONE) live++;
    out.push(p);
    p = ob.next(p);
  }
  if (live !== ob.count) throw new Error(`count ${ob.count}, but ${live} entries are not DONE`);
  return out;
}

/** Entries as "offset:state", for failure messages (no throwing). */
function walk2(ob: Outbox): string {
  const out: string[] = [];
  let p = ob.head;
  for (let k = 0; p !== ob.tail && k < ob.buf.length && p >= 0 && p < ob.buf.length; k++) {
    out.push(`${p}:${ob.buf[p]}${ob.buf[p] === S_SENT || ob.buf[p] === S_REL ? '#' + entryId(ob.buf, p) : ''}`);
    p = ob.next(p);
  }
  return out.join(' ');
}

/** Structural invariants of the outbox inside a client (send cursor, inflight count). */
function checkRing(ob: Outbox, what = ''): void {
  const es = walk(ob);
  if (ob.count) assert.is.not(ob.buf[ob.head], S_DONE, `${what}: head entry is a hole`);
  let inflight = 0;
  for (const p of es) if (ob.buf[p] === S_SENT || ob.buf[p] === S_REL) inflight++;
  assert.is(ob.inflight, inflight, `${what}: inflight count`);
  assert.ok(ob.send === ob.tail || es.includes(ob.send),
    `${what}: send cursor ${ob.send} is neither an entry nor the tail (head ${ob.head}, tail ${ob.tail}, entries ${es.join(',')})`);
  assert.ok(ob.used() >= 0 && ob.used() <= ob.buf.length, `${what}: used() ${ob.used()}`);
  assert.ok(ob.peak >= ob.used(), `${what}: peak ${ob.peak} < used ${ob.used()}`);
}

/** The PUBLISH packet bytes of the outbox entry at p, decoded by mqtt-packet. */
function entryPacket(ob: Outbox, p: number): Pkt {
  const pk = parseAll(ob.buf.subarray(p + HDR, entryEnd(ob.buf, p)));
  assert.is(pk.length, 1);
  return pk[0];
}

/** Acks (PUBACK / PUBREC, then PUBCOMP for PUBRELs) everything until the client has nothing left. */
function ackAll(h: Harness, rounds = 1000): Pkt[] {
  const all: Pkt[] = [];
  for (let r = 0; r < rounds; r++) {
    h.w.drainWrites();
    const pk = h.w.take();
    all.push(...pk);
    if (!pk.length) return all;
    for (const p of pk) {
      if (p.cmd === 'publish' && p.qos === 1) h.w.send({ cmd: 'puback', messageId: p.messageId });
      else if (p.cmd === 'publish' && p.qos === 2) h.w.send({ cmd: 'pubrec', messageId: p.messageId });
      else if (p.cmd === 'pubrel') h.w.send({ cmd: 'pubcomp', messageId: p.messageId });
      h.w.drainWrites();
    }
  }
  throw new Error('ackAll: client kept writing');
}

// ---------------------------------------------------------------------------------------------
// The outbox alone

test('outbox: push fills the ring until ERR_OUTBOX_FULL; nothing thrown, nothing dropped', () => {
  const ob = new Outbox(512);
  const msgs: Sent[] = [];
  let r = 0;
  let seq = 0;
  for (; seq < 1000; seq++) {
    const m = { seq, qos: seq % 3, size: 4 + ((seq * 13) % 40) };
    r = push(ob, topicOf(seq), payloadOf(seq, m.size), m.qos, false, seq + 1);
    if (r) break;
    msgs.push(m);
  }
  assert.is(r, ERR_OUTBOX_FULL);
  assert.ok(msgs.length > 5);
  const count = ob.count;
  const used = ob.used();
  // Repeated attempts change nothing.
  for (let k = 0; k < 10; k++) assert.is(push(ob, topicOf(seq), payloadOf(seq, 40), 1, false, seq + 1), ERR_OUTBOX_FULL);
  assert.is(ob.count, count);
  assert.is(ob.used(), used);
  // A smaller message that fits in what is left still goes in.
  if (ob.buf.length - ob.tail >= entrySize(seq, 4, 0)) {
    assert.is(push(ob, topicOf(seq), payloadOf(seq, 4), 0, false, seq + 1), 0);
    msgs.push({ seq, qos: 0, size: 4 });
  }
  const es = walk(ob);
  assert.is(es.length, msgs.length);
  es.forEach((p, i) => {
    assert.is(ob.buf[p], S_NEW);
    checkPublish(entryPacket(ob, p), msgs[i], `entry ${i}`);
  });
  assert.ok(ob.used() <= ob.buf.length);
  assert.is(ob.peak, ob.used());
});

test('outbox: a message that can never fit is ERR_TOO_LONG, in an empty ring', () => {
  const ob = new Outbox(64);
  assert.is(push(ob, 't', new Uint8Array(64), 0, false, 1), ERR_TOO_LONG);
  assert.is(ob.count, 0);
  // The largest that fits: HDR + 2-byte fixed header + 2 + 1 (topic) + payload = 64.
  assert.is(push(ob, 't', new Uint8Array(64 - HDR - 2 - 3), 0, false, 1), 0);
});

test('outbox: a message larger than the whole ring is ERR_TOO_LONG even while others wait (documented: "ERR_TOO_LONG when it can never fit")', () => {
  const ob = new Outbox(64);
  assert.is(push(ob, 't', new Uint8Array(4), 0, false, 1), 0);
  // Can never fit (needs more than 64 bytes): waiting for onDrain cannot help.
  assert.is(push(ob, 't', new Uint8Array(100), 0, false, 2), ERR_TOO_LONG);
});

test('outbox: 5000 push/release cycles of varying sizes wrap the ring many times, contents intact', () => {
  const rnd = rng(7);
  const ob = new Outbox(300);
  // Model: live entries in ring order: seq, size, qos, released?
  const live: { seq: number; size: number; qos: number; done: boolean }[] = [];
  let seq = 0;
  let wraps = 0;
  let full = 0;
  let peak = 0;
  for (let step = 0; step < 5000; step++) {
    if (rnd() < 0.55) {
      const size = 4 + Math.floor(rnd() * 70);
      const qos = Math.floor(rnd() * 3);
      const tailBefore = ob.tail;
      const r = push(ob, topicOf(seq), payloadOf(seq, size), qos, false, (seq % 65535) + 1);
      if (r === 0) {
        if (ob.count > 1 && ob.tail < tailBefore) wraps++;
        live.push({ seq: seq++, size, qos, done: false });
        peak = Math.max(peak, ob.used());
      } else {
        assert.is(r, ERR_OUTBOX_FULL);
        full++;
      }
    } else if (live.some((e) => !e.done)) {
      // Release: mostly the oldest, sometimes one further on (a hole).
      const open = live.map((e, i) => (e.done ? -1 : i)).filter((i) => i >= 0);
      const pick = rnd() < 0.7 ? open[0] : open[Math.floor(rnd() * open.length)];
      const es = walk(ob);
      release(ob, es[pick]);
      live[pick].done = true;
      while (live.length && live[0].done) live.shift();
    }
    // Compare ring and model.
    const es = walk(ob);
    assert.is(es.length, live.length, `step ${step}: entry count`);
    es.forEach((p, i) => {
      const m = live[i];
      assert.is(ob.buf[p], m.done ? S_DONE : S_NEW, `step ${step}: state of #${m.seq}`);
      if (!m.done) checkPublish(entryPacket(ob, p), { seq: m.seq, qos: m.qos, size: m.size }, `step ${step}`);
    });
    if (ob.count) assert.is.not(ob.buf[ob.head], S_DONE, `step ${step}: head is a hole`);
    else assert.is(ob.used(), 0);
    assert.is(ob.peak, peak, `step ${step}: peak`);
  }
  assert.ok(wraps > 50, `only ${wraps} wraps`);
  assert.ok(full > 50, `only ${full} full rings`);
});

test('outbox: after a wrap the send cursor points at the new entry, not at the WRAP marker (pump order)', () => {
  // The client moves `send` with next() as it writes; this does the same without a client.
  const ob = new Outbox(100);
  assert.is(push(ob, 't/x', new Uint8Array(30), 1, false, 1), 0); // [0, 42)
  assert.is(push(ob, 't/b', new Uint8Array(20), 1, false, 2), 0); // [42, 74)
  ob.buf[0] = ob.buf[42] = S_SENT;
  ob.inflight = 2;
  ob.send = ob.next(ob.next(0)); // both written: send === tail === 74
  assert.is(ob.send, ob.tail);
  release(ob, 0); // acked: head = 42
  assert.is(push(ob, 't/c', new Uint8Array(20), 1, false, 3), 0); // 74 + 32 > 100: wraps to [0, 32)
  assert.is(ob.tail, 32);
  // The next entry to write is the one at 0. Actual: send stays at 74, the WRAP marker.
  assert.is(ob.send, 0, `send cursor ${ob.send} (buf[${ob.send}] = ${ob.buf[ob.send]}, S_WRAP = 4)`);
});

test('outbox: at the wrap, a message fits at 0 up to one byte short of the head; one byte more is ERR_OUTBOX_FULL, ring unchanged', () => {
  const mk = () => {
    const ob = new Outbox(100);
    assert.is(push(ob, 't/x', new Uint8Array(30), 1, false, 1), 0); // [0, 42)
    assert.is(push(ob, 't/b', new Uint8Array(20), 1, false, 2), 0); // [42, 74)
    release(ob, 0); // head 42; 26 bytes left before the end, 41 before the head
    return ob;
  };
  // 3 + 2 + (2 + 3 + 2 + 29) = 41 bytes: [0, 41), tail one byte short of the head.
  let ob = mk();
  assert.is(push(ob, 't/c', new Uint8Array(29), 1, false, 3), 0);
  assert.is(ob.tail, 41);
  assert.is(ob.buf[74], S_WRAP);
  assert.equal(walk(ob), [42, 0]);
  assert.is(entryPacket(ob, 0).messageId, 3);
  assert.is(ob.used(), 58 + 41);
  // One byte more: no room now, but it would fit an empty ring.
  ob = mk();
  const before = Uint8Array.from(ob.buf);
  assert.is(push(ob, 't/c', new Uint8Array(30), 1, false, 3), ERR_OUTBOX_FULL);
  assert.equal(ob.buf, before, 'no WRAP marker, nothing written');
  assert.is(ob.tail, 74);
  assert.is(ob.send, 42);
  assert.is(ob.count, 1);
  // Larger than the whole ring: ERR_TOO_LONG from the same failed attempt's measure.
  assert.is(push(ob, 't/c', new Uint8Array(88), 1, false, 3), ERR_OUTBOX_FULL); // 3 + 2 + 95: exactly 100
  assert.is(push(ob, 't/c', new Uint8Array(89), 1, false, 3), ERR_TOO_LONG); // 101
  assert.equal(ob.buf, before);
});

test('outbox: ids are given at push; an id the oldest entry still holds is ERR_OUTBOX_FULL, state unchanged', () => {
  const ob = new Outbox(256);
  assert.is(push(ob, 't/a', new Uint8Array(4), 1, false, 7), 0);
  assert.is(push(ob, 't/b', new Uint8Array(4), 2, false, 8), 0);
  assert.equal(walk(ob).map((p) => entryId(ob.buf, p)), [7, 8]);
  assert.equal(walk(ob).map((p) => entryPacket(ob, p).messageId), [7, 8]);
  const tail = ob.tail;
  // The id counter came round to the oldest entry's id: refused until that entry is gone.
  assert.is(push(ob, 't/c', new Uint8Array(4), 1, false, 7), ERR_OUTBOX_FULL);
  assert.is(ob.count, 2);
  assert.is(ob.tail, tail);
  release(ob, walk(ob)[0]);
  assert.is(push(ob, 't/c', new Uint8Array(4), 1, false, 7), 0);
  assert.equal(walk(ob).map((p) => entryId(ob.buf, p)), [8, 7]);
});

// ---------------------------------------------------------------------------------------------
// Through the client

test('client: fill until ERR_OUTBOX_FULL with acks withheld; nothing thrown or dropped, all delivered after acks', () => {
  const h = setup({ outboxSize: 1024, maxInflight: 1000 });
  const sent: Sent[] = [];
  let r = 0;
  for (let seq = 0; seq < 500; seq++) {
    const m = { seq, qos: 1 + (seq % 2), size: 10 + (seq % 17) };
    r = h.c.publish(topicOf(seq), payloadOf(seq, m.size), m.qos);
    if (r) break;
    sent.push(m);
  }
  assert.is(r, ERR_OUTBOX_FULL);
  assert.is(h.c.queued, sent.length);
  for (let k = 0; k < 5; k++) assert.is(h.c.publish('w/x', new Uint8Array(40), 1), ERR_OUTBOX_FULL);
  assert.is(h.c.queued, sent.length);
  const pk = ackAll(h).filter((p) => p.cmd === 'publish');
  assert.is(pk.length, sent.length);
  pk.forEach((p, i) => checkPublish(p, sent[i], `#${i}`));
  assert.is(h.c.queued, 0);
  assert.is(h.c.outbox.used(), 0);
  assert.equal(h.errors, []);
});

test('client: messages published offline wait in the outbox and go out in order on connect', () => {
  const h = setup({ outboxSize: 2048 }, false);
  const sent: Sent[] = [];
  for (let seq = 0; seq < 30; seq++) {
    const m = { seq, qos: seq % 3, size: 5 + seq };
    assert.is(h.c.publish(topicOf(seq), payloadOf(seq, m.size), m.qos), 0);
    sent.push(m);
  }
  assert.is(h.w.opens, 0);
  assert.is(h.c.connect(), 0);
  finishConnect(h, false);
  const pk = ackAll(h).filter((p) => p.cmd === 'publish');
  assert.is(pk.length, 30);
  pk.forEach((p, i) => checkPublish(p, sent[i], `#${i}`));
});

test('client: wrap-around: thousands of publish/ack cycles through a small ring, every packet decodes intact and in order', () => {
  for (const qosMix of [[0], [1], [2], [0, 1, 2]]) {
    const rnd = rng(100 + qosMix.length * 10 + qosMix[0]);
    const h = setup({ outboxSize: 256, maxInflight: 6 });
    // The socket takes 1..40 bytes per write, so QoS 0 entries pile up in the ring as well.
    h.w.accept = (len) => Math.min(len, 1 + Math.floor(rnd() * 40));
    const sent: Sent[] = [];
    const got: Pkt[] = [];
    let seq = 0;
    let full = 0;
    let wraps = 0;
    for (let step = 0; step < 3000 && seq < 1500; step++) {
      const size = 4 + Math.floor(rnd() * 60);
      const qos = qosMix[Math.floor(rnd() * qosMix.length)];
      const tail = h.c.outbox.tail;
      const r = h.c.publish(topicOf(seq), payloadOf(seq, size), qos);
      if (r === 0) {
        if (h.c.outbox.count > 1 && h.c.outbox.tail < tail) wraps++;
        sent.push({ seq: seq++, qos, size });
      } else {
        assert.is(r, ERR_OUTBOX_FULL, `step ${step}`);
        full++;
      }
      checkRing(h.c.outbox, `qos ${qosMix} step ${step}`);
      if (rnd() < 0.5) h.w.ev!._writable();
      // Ack what the broker has, sometimes, in order.
      if (rnd() < 0.4) {
        const pk = h.w.take();
        got.push(...pk);
        for (const p of pk) {
          if (p.cmd === 'publish' && p.qos === 1) h.w.send({ cmd: 'puback', messageId: p.messageId });
          else if (p.cmd === 'publish' && p.qos === 2) h.w.send({ cmd: 'pubrec', messageId: p.messageId });
          else if (p.cmd === 'pubrel') h.w.send({ cmd: 'pubcomp', messageId: p.messageId });
        }
        checkRing(h.c.outbox, `qos ${qosMix} step ${step} after acks`);
      }
    }
    h.w.accept = (len) => len;
    got.push(...ackAll(h));
    const pubs = got.filter((p) => p.cmd === 'publish');
    assert.is(pubs.length, sent.length, `qos ${qosMix}: PUBLISH count`);
    pubs.forEach((p, i) => checkPublish(p, sent[i], `qos ${qosMix} #${i}`));
    assert.ok(wraps > 20 && full > 20, `qos ${qosMix}: wraps ${wraps}, full ${full}`);
    assert.is(h.c.queued, 0);
    assert.equal(h.errors, []);
  }
});

test('client: acks out of order: holes are reclaimed only when the head reaches them; used/peak consistent', () => {
  const h = setup({ outboxSize: 4096, maxInflight: 20 });
  const ob = h.c.outbox;
  const E = entrySize(0, 20, 1); // every message here has the same entry size
  for (let seq = 0; seq < 6; seq++) assert.is(h.c.publish(topicOf(seq), payloadOf(seq, 20), 1), 0);
  const pk = h.w.take();
  assert.is(pk.length, 6);
  const ids = pk.map((p) => p.messageId as number);
  assert.is(new Set(ids).size, 6);
  assert.is(ob.used(), 6 * E);
  assert.is(ob.peak, 6 * E);
  // Ack #2, #4, #1 (0-based): holes, the head stays on #0.
  for (const i of [2, 4, 1]) {
    h.w.send({ cmd: 'puback', messageId: ids[i] });
    assert.is(ob.head, 0, `after ack of #${i}`);
    assert.is(ob.used(), 6 * E);
    assert.is(ob.count, 6 - [2, 4, 1].indexOf(i) - 1); // holes are not counted
    assert.is(ob.inflight, 6 - [2, 4, 1].indexOf(i) - 1);
    checkRing(ob);
  }
  assert.is(h.c.queued, 3);
  // A repeated ack for a hole changes nothing.
  h.w.send({ cmd: 'puback', messageId: ids[2] });
  assert.is(ob.inflight, 3);
  // Ack #0: the head jumps over #1 and #2 to #3.
  h.w.send({ cmd: 'puback', messageId: ids[0] });
  assert.is(ob.head, 3 * E);
  assert.is(ob.used(), 3 * E);
  assert.is(ob.count, 2); // #3 and #5; #4 is a hole
  assert.is(h.c.queued, 2);
  // Ack #3: over the #4 hole to #5.
  h.w.send({ cmd: 'puback', messageId: ids[3] });
  assert.is(ob.head, 5 * E);
  assert.is(ob.used(), E);
  // Ack #5: empty, back to 0.
  h.w.send({ cmd: 'puback', messageId: ids[5] });
  assert.is(ob.count, 0);
  assert.is(ob.used(), 0);
  assert.is(ob.head, 0);
  assert.is(ob.tail, 0);
  assert.is(ob.peak, 6 * E);
  assert.is(ob.inflight, 0);
  checkRing(ob);
});

test('client: a full ring reports ERR_OUTBOX_FULL, then onDrain once acks free half of it', () => {
  const h = setup({ outboxSize: 1000, maxInflight: 100 });
  const ob = h.c.outbox;
  let drains = 0;
  h.c.onDrain = () => drains++;
  let n = 0;
  while (h.c.publish(topicOf(n), payloadOf(n, 30), 1) === 0) n++;
  assert.ok(n > 10);
  assert.is(drains, 0);
  const ids = h.w.take().map((p) => p.messageId as number);
  assert.is(ids.length, n);
  // Out-of-order acks free nothing: no drain.
  for (let i = n - 1; i > n / 2; i--) h.w.send({ cmd: 'puback', messageId: ids[i] });
  assert.is(drains, 0);
  assert.is(ob.head, 0);
  // In order: drain exactly when used() first drops to half.
  let i = 0;
  while (drains === 0 && i < n) {
    h.w.send({ cmd: 'puback', messageId: ids[i++] });
    if (!drains) assert.ok(ob.used() * 2 > ob.buf.length, 'no onDrain though half is free');
  }
  assert.is(drains, 1);
  assert.ok(ob.used() * 2 <= ob.buf.length);
  // No second drain without another ERR_OUTBOX_FULL.
  while (i < n) h.w.send({ cmd: 'puback', messageId: ids[i++] });
  assert.is(drains, 1);
  assert.is(h.c.publish(topicOf(n), payloadOf(n, 30), 1), 0);
});

test('client: in-flight window: exactly maxInflight PUBLISH on the wire until an ack (QoS 1 and 2)', () => {
  for (const N of [1, 3, 8]) {
    for (const qos of [1, 2]) {
      const h = setup({ outboxSize: 8192, maxInflight: N });
      for (let seq = 0; seq < 20; seq++) assert.is(h.c.publish(topicOf(seq), payloadOf(seq, 8), qos), 0);
      let pk = h.w.take();
      assert.is(pk.length, N, `N=${N} qos=${qos}`);
      pk.forEach((p, i) => checkPublish(p, { seq: i, qos, size: 8 }));
      let next = N;
      if (qos === 2) {
        // PUBREC does not open the window: the message is in flight until PUBCOMP.
        h.w.send({ cmd: 'pubrec', messageId: pk[0].messageId });
        const rel = h.w.take();
        assert.equal(rel.map((p) => p.cmd), ['pubrel']);
        assert.is(rel[0].messageId, pk[0].messageId);
        h.w.send({ cmd: 'pubcomp', messageId: pk[0].messageId });
      } else h.w.send({ cmd: 'puback', messageId: pk[0].messageId });
      pk = h.w.take();
      assert.is(pk.length, 1, `N=${N} qos=${qos}: one more after the ack`);
      checkPublish(pk[0], { seq: next++, qos, size: 8 });
      assert.is(h.c.outbox.inflight, N);
      // A QoS 0 message queued behind waits its turn (order kept) and does not count.
      assert.is(h.c.publish(topicOf(99), payloadOf(99, 8), 0), 0);
      assert.equal(h.w.take(), []);
    }
  }
});

test('client: reconnect with session present resends PUBLISH (DUP=1) and PUBREL in original order with the same ids', () => {
  const h = setup({ outboxSize: 8192, maxInflight: 5 });
  const plan: Sent[] = [
    { seq: 0, qos: 1, size: 9 }, { seq: 1, qos: 2, size: 10 }, { seq: 2, qos: 1, size: 11 },
    { seq: 3, qos: 2, size: 12 }, { seq: 4, qos: 2, size: 13 }, { seq: 5, qos: 1, size: 14 }, { seq: 6, qos: 0, size: 15 },
  ];
  for (const m of plan) assert.is(h.c.publish(topicOf(m.seq), payloadOf(m.seq, m.size), m.qos), 0);
  const first = h.w.take();
  assert.is(first.length, 5); // window of 5: #5 and #6 wait
  first.forEach((p, i) => {
    checkPublish(p, plan[i]);
    assert.is(p.dup, false);
  });
  const id = first.map((p) => p.messageId as number);
  // #1 and #4 get PUBREC (PUBREL goes out), #2 PUBACK (done). #0 and #3 stay unacknowledged.
  h.w.send({ cmd: 'pubrec', messageId: id[1] });
  h.w.send({ cmd: 'puback', messageId: id[2] });
  h.w.send({ cmd: 'pubrec', messageId: id[4] });
  const mid = h.w.take();
  // #2's ack opened one slot: #5 goes out right then, and #6 (QoS 0, outside the window) after it.
  assert.equal(mid.map((p) => `${p.cmd}${p.cmd === 'publish' ? ':' + seqOf(p) : ''}`),
    ['pubrel', 'publish:5', 'publish:6', 'pubrel']);
  checkPublish(mid[1], plan[5]);
  checkPublish(mid[2], plan[6]);
  const id5 = mid[1].messageId as number;
  reconnect(h, true);
  const re = h.w.take();
  // Original order: #0 PUBLISH dup, #1 PUBREL, #3 PUBLISH dup, #4 PUBREL, #5 PUBLISH dup. #6 was QoS 0: done.
  assert.equal(re.map((p) => `${p.cmd}${p.cmd === 'publish' ? ':' + seqOf(p) : ''}`),
    ['publish:0', 'pubrel', 'publish:3', 'pubrel', 'publish:5']);
  checkPublish(re[0], plan[0]);
  assert.is(re[0].dup, true);
  assert.is(re[0].messageId, id[0]);
  assert.is(re[1].messageId, id[1]);
  checkPublish(re[2], plan[3]);
  assert.is(re[2].dup, true);
  assert.is(re[2].messageId, id[3]);
  assert.is(re[3].messageId, id[4]);
  checkPublish(re[4], plan[5]);
  assert.is(re[4].dup, true);
  assert.is(re[4].messageId, id5);
  // New messages get ids that are not in flight.
  assert.is(h.c.publish(topicOf(7), payloadOf(7, 7), 1), 0);
  h.w.send({ cmd: 'pubcomp', messageId: id[1] });
  const more = h.w.take();
  assert.is(more.length, 1);
  checkPublish(more[0], { seq: 7, qos: 1, size: 7 });
  assert.ok(![id[0], id[1], id[3], id[4], id5].includes(more[0].messageId), 'new id collides with one in flight');
  // Finish everything.
  h.w.send({ cmd: 'puback', messageId: id[0] });
  h.w.send({ cmd: 'pubrec', messageId: id[3] });
  h.w.send({ cmd: 'pubcomp', messageId: id[3] });
  h.w.send({ cmd: 'pubcomp', messageId: id[4] });
  h.w.send({ cmd: 'puback', messageId: id5 });
  h.w.send({ cmd: 'puback', messageId: more[0].messageId });
  assert.is(h.c.queued, 0);
  assert.is(h.c.outbox.count, 0);
});

test('client: reconnect without session resends unacknowledged PUBLISH as new (DUP=0); QoS 2 past PUBREC is done', () => {
  const h = setup({ outboxSize: 8192, maxInflight: 10 });
  const plan: Sent[] = [{ seq: 0, qos: 1, size: 9 }, { seq: 1, qos: 2, size: 10 }, { seq: 2, qos: 2, size: 11 }, { seq: 3, qos: 1, size: 12 }];
  for (const m of plan) assert.is(h.c.publish(topicOf(m.seq), payloadOf(m.seq, m.size), m.qos), 0);
  const first = h.w.take();
  assert.is(first.length, 4);
  h.w.send({ cmd: 'pubrec', messageId: first[1].messageId });
  assert.equal(h.w.take().map((p) => p.cmd), ['pubrel']);
  // Drop; meanwhile, a DUP resend on a session-present connection sets DUP in the ring: make sure
  // a clean session clears it again.
  reconnect(h, true);
  const dupd = h.w.take();
  assert.equal(dupd.map((p) => `${p.cmd}${p.cmd === 'publish' ? ':' + seqOf(p) + (p.dup ? ':dup' : '') : ''}`),
    ['publish:0:dup', 'pubrel', 'publish:2:dup', 'publish:3:dup']);
  reconnect(h, false);
  const re = h.w.take();
  assert.equal(re.map((p) => p.cmd), ['publish', 'publish', 'publish'], 'no PUBREL without a session');
  checkPublish(re[0], plan[0]);
  checkPublish(re[1], plan[2]);
  checkPublish(re[2], plan[3]);
  for (const p of re) assert.is(p.dup, false);
  assert.is(new Set(re.map((p) => p.messageId)).size, 3);
  h.w.send({ cmd: 'puback', messageId: re[0].messageId });
  h.w.send({ cmd: 'pubrec', messageId: re[1].messageId });
  h.w.send({ cmd: 'puback', messageId: re[2].messageId });
  const rel = h.w.take();
  assert.equal(rel.map((p) => [p.cmd, p.messageId]), [['pubrel', re[1].messageId]]);
  h.w.send({ cmd: 'pubcomp', messageId: re[1].messageId });
  assert.is(h.c.queued, 0);
  assert.is(h.c.outbox.count, 0);
});

test('client: reconnect without session after an interrupted resend: every unacknowledged message goes as new (DUP=0, new id)', () => {
  const h = setup({ outboxSize: 4096, maxInflight: 8 });
  for (let seq = 0; seq < 3; seq++) assert.is(h.c.publish(topicOf(seq), payloadOf(seq, 10), 1), 0);
  const first = h.w.take();
  assert.is(first.length, 3);
  // Reconnect with the session kept, but the socket takes nothing: the resend of #0 has begun
  // (send cursor past it), #1 and #2 are not resent yet. Then the link drops again.
  h.w.drop();
  h.clock.advance(10);
  h.w.ev!._opened();
  assert.equal(h.w.take().map((p) => p.cmd), ['connect']);
  h.w.accept = () => 0;
  h.w.send({ cmd: 'connack', returnCode: 0, sessionPresent: true });
  h.w.drop();
  h.w.accept = (len) => len;
  // Now the broker has no session: all three are new messages.
  h.clock.advance(10);
  finishConnect(h, false);
  const re = h.w.take();
  assert.equal(re.map((p) => `${p.cmd}:${seqOf(p)}:dup=${p.dup}`), ['publish:0:dup=false', 'publish:1:dup=false', 'publish:2:dup=false']);
  assert.is(h.c.outbox.inflight, 3, 'inflight count');
  for (const p of re) assert.not.ok(first.some((f) => f.messageId === p.messageId && p.dup), 'old id kept with DUP');
});

test('client: partial writes (1..k bytes per write, resumed by onWritable) put the same bytes on the wire', () => {
  // One scenario, run with full writes and with several chunkings; the byte streams must match.
  function scenario(accept: ((len: number) => number) | null): number[] {
    // Ring large enough never to wrap here: this test is about partial writes alone.
    const h = setup({ outboxSize: 32 * 1024, maxInflight: 4, txSize: 512 }, false);
    if (accept) h.w.accept = accept;
    assert.is(h.c.connect(), 0);
    finishConnect(h, false);
    let seq = 0;
    for (let round = 0; round < 40; round++) {
      for (let k = 0; k < 5; k++, seq++) {
        const r = h.c.publish(topicOf(seq), payloadOf(seq, 4 + ((seq * 37) % 150)), seq % 3);
        assert.ok(r === 0 || r === ERR_OUTBOX_FULL);
      }
      h.w.drainWrites();
      // Each ack arrives when nothing is waiting to be written, so the byte order cannot depend on
      // the chunking (a PUBREL due during a half-written PUBLISH has its own test below).
      for (const p of h.w.take()) {
        if (p.cmd === 'publish' && p.qos === 1) h.w.send({ cmd: 'puback', messageId: p.messageId }, 3);
        else if (p.cmd === 'publish' && p.qos === 2) h.w.send({ cmd: 'pubrec', messageId: p.messageId }, 1);
        else if (p.cmd === 'pubrel') h.w.send({ cmd: 'pubcomp', messageId: p.messageId }, 2);
        h.w.drainWrites();
      }
    }
    ackAll(h);
    assert.is(h.c.queued, 0);
    assert.equal(h.errors, []);
    return h.w.conns[0];
  }
  const ref = scenario(null);
  const pk = parseAll(ref);
  assert.ok(pk.filter((p) => p.cmd === 'publish').length > 150);
  for (const k of [1, 2, 3, 7, 64]) {
    const got = scenario((len) => Math.min(len, k));
    assert.is(got.length, ref.length, `accept ${k}: byte count`);
    assert.ok(Buffer.from(got).equals(Buffer.from(ref)), `accept ${k}: bytes differ`);
  }
  let i = 0;
  const cycle = [1, 5, 2, 9, 3, 1, 4];
  const got = scenario((len) => Math.min(len, cycle[i++ % cycle.length]));
  assert.ok(Buffer.from(got).equals(Buffer.from(ref)), 'cycling chunk sizes: bytes differ');
});

test('client: a control packet due while a PUBLISH is half-written goes out after it, whole', () => {
  const h = setup({ outboxSize: 1024 });
  assert.is(h.c.publish(topicOf(0), payloadOf(0, 10), 2), 0);
  const p0 = h.w.take()[0];
  h.w.accept = () => 5;
  assert.is(h.c.publish(topicOf(1), payloadOf(1, 50), 1), 0); // 5 bytes of it written
  h.w.accept = () => 0;
  h.w.send({ cmd: 'pubrec', messageId: p0.messageId }); // PUBREL due now
  h.w.accept = (len) => Math.min(len, 3);
  h.w.drainWrites();
  const pk = h.w.take();
  assert.equal(pk.map((p) => p.cmd), ['publish', 'pubrel']);
  checkPublish(pk[0], { seq: 1, qos: 1, size: 50 });
  assert.is(pk[1].messageId, p0.messageId);
});

test('client: nothing is written to a closed transport; a half-written QoS 0 message is kept for the next connection', () => {
  const h = setup({ outboxSize: 1024 });
  h.w.accept = () => 3;
  assert.is(h.c.publish(topicOf(0), payloadOf(0, 20), 0), 0); // 3 bytes out, then the link dies
  h.w.drop();
  assert.is(h.c.queued, 1);
  // Publishing while offline must not touch the dead connection.
  assert.is(h.c.publish(topicOf(1), payloadOf(1, 20), 0), 0);
  assert.ok(h.w.writesAfterClose === 0 && h.c.queued === 2,
    `${h.w.writesAfterClose} write() call(s) after the transport was closed; queued ${h.c.queued}, want 2 ` +
    '(the half-written QoS 0 message must wait for the next connection, not be released)');
  h.w.accept = (len) => len;
  h.clock.advance(10);
  finishConnect(h, false);
  const pk = h.w.take();
  assert.is(pk.length, 2);
  checkPublish(pk[0], { seq: 0, qos: 0, size: 20 });
  checkPublish(pk[1], { seq: 1, qos: 0, size: 20 });
});

test('client: a ring exactly full after a wrap (tail === head) still matches acks and counts its messages', () => {
  // Entry sizes (topic 't/x', QoS 1): 12 + payload bytes. Ring of 100.
  const h = setup({ outboxSize: 100, maxInflight: 8 });
  const ob = h.c.outbox;
  assert.is(h.c.publish('t/x', new Uint8Array(30), 1), 0); // X [0, 42), written
  const x = h.w.take()[0];
  h.w.accept = () => 0; // the socket is blocked
  assert.is(h.c.publish('t/b', new Uint8Array(20), 1), 0); // B [42, 74), id assigned, 0 bytes out
  assert.is(h.c.publish('t/c', new Uint8Array(14), 1), 0); // C [74, 100)
  h.w.send({ cmd: 'puback', messageId: x.messageId }); // head -> 42
  // D would wrap to [0, 42) and end exactly at the head. Either outcome is fine: refused (the ring
  // keeps a gap), or accepted with tail === head and everything still working.
  const r = h.c.publish('t/d', new Uint8Array(30), 1);
  assert.ok(r === 0 || r === ERR_OUTBOX_FULL, `publish returned ${r}`);
  const want = r === 0 ? ['t/b', 't/c', 't/d'] : ['t/b', 't/c'];
  assert.is(h.c.queued, want.length, `queued with head ${ob.head}, tail ${ob.tail}`);
  h.w.accept = (len) => len;
  h.w.drainWrites();
  const pk = h.w.take();
  assert.equal(pk.map((p) => p.topic), want);
  for (const p of pk) h.w.send({ cmd: 'puback', messageId: p.messageId });
  assert.is(h.c.queued, 0, 'PUBACKs ignored: messages stuck in the outbox');
  assert.is(ob.count, 0);
  if (r !== 0) assert.is(h.c.publish('t/d', new Uint8Array(30), 1), 0);
});

test('client: packet ids are never reused while in flight (ids wrap twice, one message left unacknowledged)', () => {
  // Publish ids start above the SUBSCRIBE/UNSUBSCRIBE op ids (1..maxPending+1): with maxPending
  // 60000 they cycle through 60002..65535, so the wrap past a stuck id comes after ~5,500
  // publishes instead of ~65,500 (Outbox.find() walks the holes behind a stuck head linearly, so
  // the full id space would take ~13 s here). The stuck message holds the head, so the ring holds
  // everything since (14 bytes each) and never wraps (the wrap bug has its own tests).
  const ID_MIN = 60002;
  const h = setup({ outboxSize: 1 << 18, maxInflight: 16, maxPending: 60000 });
  const rnd = rng(42);
  const inflight = new Map<number, number>(); // id -> seq
  let stuckId = 0;
  let seq = 0;
  let wrappedPastStuck = false;
  let stalls = 0;
  const N = 13_000;
  for (let round = 0; (seq < N || h.c.outbox.count) && round < 200_000; round++) {
    while (seq < N && h.c.publish('i', payloadOf(seq, 4), 1) === 0) seq++;
    const pk = h.w.take();
    if (!pk.length) {
      // Stalled: the next id would be the stuck one's. Release it once ids wrapped around to it.
      stalls++;
      assert.ok(stuckId && inflight.size <= 16, 'stalled with no reason');
      h.w.send({ cmd: 'puback', messageId: stuckId });
      inflight.delete(stuckId);
      wrappedPastStuck = true;
      stuckId = -1;
      continue;
    }
    for (const p of pk) {
      assert.is(p.cmd, 'publish');
      assert.is(p.dup, false);
      const id = p.messageId as number;
      assert.ok(id >= ID_MIN && id <= 65535, `id ${id} outside ${ID_MIN}..65535`);
      assert.not.ok(inflight.has(id), `id ${id} reused while #${inflight.get(id)} is in flight`);
      inflight.set(id, seqOf(p));
      if (!stuckId) stuckId = id; // the first message is never acked (until the ids come round)
    }
    // Ack the rest in random order, leaving a few in flight.
    const open = [...inflight.keys()].filter((id) => id !== stuckId);
    for (let i = open.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [open[i], open[j]] = [open[j], open[i]];
    }
    const keep = seq < N ? 3 : 0;
    for (const id of open.slice(0, Math.max(0, open.length - keep))) {
      h.w.send({ cmd: 'puback', messageId: id });
      inflight.delete(id);
    }
  }
  assert.is(seq, N);
  assert.is(h.c.queued, 0);
  assert.ok(wrappedPastStuck, 'ids never came round to the stuck one');
  assert.is(stalls, 1);
  assert.equal(h.errors, []);
});

// ---------------------------------------------------------------------------------------------
// Property: random publish / out-of-order ack / disconnect / reconnect against a model.

interface Model {
  qos: number;
  size: number;
}

/** What the random runs exercised, summed over seeds (asserted so the property cannot go vacuous). */
interface Stats {
  published: number;
  full: number;
  wraps: number;
  drops: number;
  withSession: number;
  clean: number;
  partial: number;
}
const newStats = (): Stats => ({ published: 0, full: 0, wraps: 0, drops: 0, withSession: 0, clean: 0, partial: 0 });

function property(seed: number, ops: number, opts: Partial<ClientOptions>, stats: Stats): void {
  const rnd = rng(seed);
  const h = setup({ txSize: 2048, ...opts });
  h.w.afterClose = 'none'; // like a dead socket (the write-after-close bug has its own test)
  const ob = h.c.outbox;
  const log: string[] = [];
  const fail = (msg: string): never => {
    const st = ob.count <= 64 ? walk2(ob) : walk2(ob).split(' ').filter((e) => e.includes('#')).join(' ') + ' (in flight only)';
    throw new Error(`seed ${seed}: ${msg}\nring: head ${ob.head} tail ${ob.tail} send ${ob.send} count ${ob.count} ` +
      `inflight ${ob.inflight} used ${ob.used()}/${ob.buf.length}; entries ${st}\nlast ops: ${log.slice(-25).join(' | ')}`);
  };
  const accepted: Model[] = [];
  // Broker side.
  const deliveries = new Map<number, number>(); // seq -> times delivered to subscribers
  const firstOrder: number[] = [];
  const outstanding = new Map<number, number>(); // id -> seq: PUBLISH seen, final ack not yet sent
  const qos2Store = new Set<number>(); // ids of QoS 2 messages received, PUBREL not yet
  let pending: { cmd: string; id: number }[] = []; // acks the broker owes on this connection
  const mayDup = new Set<number>(); // QoS 2 messages in flight at a clean reconnect

  const deliver = (seq: number): void => {
    const n = deliveries.get(seq) || 0;
    if (!n) firstOrder.push(seq);
    deliveries.set(seq, n + 1);
  };
  const linkUp = (): boolean => h.w.isOpen && h.c.state === CONNECTED;

  /** The broker reads what the client wrote. */
  const brokerRead = (): void => {
    for (const p of h.w.take()) {
      if (p.cmd === 'publish') {
        const seq = seqOf(p);
        const m = accepted[seq];
        if (!m) fail(`PUBLISH of unknown #${seq}`);
        try {
          checkPublish(p, { seq, qos: m.qos, size: m.size });
        } catch (e) {
          fail(`PUBLISH #${seq} corrupted: ${(e as Error).message}`);
        }
        if (p.qos === 0) {
          deliver(seq);
          continue;
        }
        const id = p.messageId as number;
        // A DUP resend may carry an id the broker never saw (the first copy was cut off by a drop),
        // but never one the broker holds for another message.
        if (p.dup) {
          if (outstanding.has(id) && outstanding.get(id) !== seq) fail(`DUP PUBLISH #${seq} with id ${id}, which the broker has for #${outstanding.get(id)}`);
        } else if (outstanding.has(id)) {
          fail(`new PUBLISH #${seq} reuses id ${id}, in flight for #${outstanding.get(id)}`);
        }
        outstanding.set(id, seq);
        if (p.qos === 1) {
          deliver(seq);
          pending.push({ cmd: 'puback', id });
        } else {
          if (!qos2Store.has(id)) {
            qos2Store.add(id);
            deliver(seq);
          }
          pending.push({ cmd: 'pubrec', id });
        }
      } else if (p.cmd === 'pubrel') {
        const id = p.messageId as number;
        if (!outstanding.has(id)) fail(`PUBREL for id ${id}, not in flight`);
        qos2Store.delete(id);
        pending.push({ cmd: 'pubcomp', id });
      } else if (p.cmd !== 'disconnect' && p.cmd !== 'pingreq') fail(`unexpected ${p.cmd}`);
    }
  };

  const ackOne = (k: number): void => {
    const [a] = pending.splice(k, 1);
    if (a.cmd !== 'pubrec') outstanding.delete(a.id);
    log.push(`${a.cmd} ${a.id}`);
    h.w.send({ cmd: a.cmd, messageId: a.id }, rnd() < 0.2 ? 1 : Infinity);
  };

  const down = (): void => {
    pending = [];
  };
  const up = (sp: boolean): void => {
    if (!sp) {
      for (const seq of outstanding.values()) if (accepted[seq].qos === 2) mayDup.add(seq);
      outstanding.clear();
      qos2Store.clear();
    }
    h.clock.advance(10);
    if (h.w.opens === 0 || h.w.isOpen === false) fail('reconnect did not open the transport');
    h.w.ev!._opened();
    h.w.drainWrites();
    const pk = h.w.take();
    if (pk.length !== 1 || pk[0].cmd !== 'connect') fail(`expected CONNECT, got ${pk.map((p) => p.cmd)}`);
    h.w.send({ cmd: 'connack', returnCode: 0, sessionPresent: sp });
  };

  for (let op = 0; op < ops; op++) {
    const x = rnd();
    if (x < 0.45) {
      const seq = accepted.length;
      const qos = Math.floor(rnd() * 3);
      const size = 4 + Math.floor(rnd() * (rnd() < 0.1 ? 300 : 50));
      const tail = ob.tail;
      const r = h.c.publish(topicOf(seq), payloadOf(seq, size), qos);
      log.push(`pub #${seq} q${qos} ${size}B -> ${r}`);
      if (r === 0) {
        accepted.push({ qos, size });
        stats.published++;
        if (ob.count > 1 && ob.tail < tail) stats.wraps++;
      } else if (r === ERR_OUTBOX_FULL) stats.full++;
      else fail(`publish returned ${r}`);
    } else if (x < 0.75) {
      if (linkUp()) brokerRead();
      if (linkUp() && pending.length) ackOne(Math.floor(rnd() * pending.length));
    } else if (x < 0.83) {
      const k = rnd() < 0.5 ? Infinity : 1 + Math.floor(rnd() * 9);
      h.w.accept = (len) => Math.min(len, k);
      log.push(`accept ${k}`);
      if (k !== Infinity) stats.partial++;
      if (h.w.isOpen) h.w.ev!._writable();
    } else if (x < 0.9) {
      if (h.w.isOpen) h.w.ev!._writable();
    } else if (x < 0.95) {
      if (h.w.isOpen) {
        if (linkUp()) brokerRead();
        log.push('drop');
        stats.drops++;
        h.w.drop();
        down();
      }
    } else if (!h.w.isOpen) {
      const sp = rnd() < 0.6;
      log.push(`reconnect sp=${sp}`);
      if (sp) stats.withSession++;
      else stats.clean++;
      up(sp);
    }
    // The client may have closed the connection itself (e.g. ERR_TX_FULL): the broker loses it too.
    if (!h.w.isOpen && pending.length) down();
    try {
      checkRing(ob, `op ${op}`);
    } catch (e) {
      fail((e as Error).message);
    }
  }
  // Settle: connect with the session kept, let everything out, ack everything.
  h.w.accept = (len) => len;
  if (!h.w.isOpen) {
    log.push('final reconnect');
    up(true);
  }
  for (let round = 0; round < 10_000; round++) {
    h.w.drainWrites();
    brokerRead();
    if (!pending.length) break;
    while (pending.length) ackOne(0);
  }
  if (!linkUp()) fail('not connected at the end');
  if (h.c.queued !== 0) fail(`${h.c.queued} messages still queued at the end`);
  if (ob.count !== 0) fail(`outbox count ${ob.count} at the end`);
  for (let seq = 0; seq < accepted.length; seq++) {
    const n = deliveries.get(seq) || 0;
    if (!n) fail(`#${seq} (QoS ${accepted[seq].qos}) lost: never delivered`);
    if (n > 1 && accepted[seq].qos === 0) fail(`#${seq} (QoS 0) delivered ${n} times`);
    if (n > 1 && accepted[seq].qos === 2 && !mayDup.has(seq)) fail(`#${seq} (QoS 2) delivered ${n} times`);
  }
  for (let i = 1; i < firstOrder.length; i++) {
    if (firstOrder[i] < firstOrder[i - 1]) fail(`order: #${firstOrder[i]} first delivered after #${firstOrder[i - 1]}`);
  }
  const bad = h.errors.filter((e) => e.code !== ERR_CONNECTION);
  if (bad.length) fail(`errors: ${bad.map((e) => e.message).join(', ')}`);
}

test('property: random publish/ack/disconnect/reconnect, large outbox (no wrap): nothing lost, order kept, ids unique', () => {
  const st = newStats();
  for (let seed = 1; seed <= 40; seed++) property(seed, 600, { outboxSize: 1 << 20, maxInflight: 10 }, st);
  assert.ok(st.published > 5000 && st.drops > 200 && st.withSession > 100 && st.clean > 60 && st.partial > 500, JSON.stringify(st));
});

test('property: the same with a small outbox (wraps, full rings, holes)', () => {
  const st = newStats();
  for (let seed = 1; seed <= 40; seed++) property(1000 + seed, 600, { outboxSize: 400 + (seed % 5) * 97, maxInflight: 1 + (seed % 12) }, st);
  assert.ok(st.published > 2000 && st.full > 1000 && st.wraps > 100 && st.drops > 200 && st.withSession > 100 && st.clean > 60, JSON.stringify(st));
});

test.run();
