// Edge cases found in review, each once a crash, a silent drop or a loop: run against the fake
// broker in process (host-sim/loop-transport.ts), where time and bytes move only when told.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MqttClient, OFFLINE, CONNECTED, PUBLISH, PUBREC, SUBSCRIBE, DISCONNECT, ERR_ARG, ERR_QOS, ERR_OFFLINE, ERR_TX_FULL, ERR_CONNECTION, ERR_INBOUND_FULL, ERR_TOO_LARGE } from '../src/index.ts';
import type { ClientOptions, MqttError, Transport } from '../src/index.ts';
import { LoopTransport, ManualClock } from '../host-sim/loop-transport.ts';
import { pk, rawPublish, scripts, type Script } from '../host-sim/fake-broker.ts';

function rig(script: (k: number) => Script, o: Partial<ClientOptions> = {}) {
  const t = new LoopTransport(script);
  const clock = new ManualClock();
  const c = new MqttClient(t, clock, { host: 'broker.test', clientId: 'rv', keepalive: 0, reconnectMin: 100, ...o });
  const errors: MqttError[] = [];
  const closes: number[] = [];
  c.onError = (e) => errors.push(e);
  c.onClose = (r) => closes.push(r);
  return { t, clock, c, errors, closes };
}

test('a handler or done that is not a function is ERR_ARG at the call (it used to throw on the next PUBLISH)', () => {
  const r = rig(() => scripts.plain());
  assert.is(r.c.connect(), 0);
  r.t.run();
  assert.is(r.c.state, CONNECTED);
  const sent = r.t.session!.got.length;
  assert.is(r.c.subscribe('a/#', 0, 'x' as never), ERR_ARG);
  assert.is(r.c.subscribe('a/#', 0, null, 5 as never), ERR_ARG);
  assert.is(r.c.unsubscribe('a/#', {} as never), ERR_ARG);
  r.t.run();
  assert.is(r.t.session!.got.length, sent, 'nothing sent');
  // The table is untouched: a good subscribe still gets a slot and its messages.
  const seen: number[] = [];
  assert.is(r.c.subscribe('a/#', 0, (m) => seen.push(m.payloadLen)), 0);
  r.t.run();
  r.t.session!.send(pk.publish('a/b', 'xyz', 0, 0));
  r.t.run();
  assert.equal(seen, [3]);
  assert.equal(r.errors, []);
});

test('connect() with a bad host or port is ERR_ARG and opens nothing (a RangeError escaped a timer before)', () => {
  for (const bad of [{ port: 70000 }, { port: -1 }, { port: 1.5 }, { port: 0 }, { port: '1883' as never }, { host: '' }, { host: 5 as never }]) {
    const r = rig(() => scripts.plain(), bad);
    assert.is(r.c.connect(), ERR_ARG, JSON.stringify(bad));
    assert.is(r.t.opens, 0);
    assert.is(r.c.state, OFFLINE);
    assert.is(r.clock.pending, 0, 'no timer armed');
  }
});

/** A transport whose open() throws every time (a socket the platform cannot make); counts the tries. */
function failingTransport(): Transport & { opens: number } {
  return {
    opens: 0,
    open() {
      this.opens++;
      throw new RangeError('no socket');
    },
    write: (_b, _o, n) => n,
    close() {},
  };
}

test('a transport whose open() throws is a failed attempt (ERR_CONNECTION) with backoff, not an exception', () => {
  const t = failingTransport();
  const clock = new ManualClock();
  const c = new MqttClient(t, clock, { host: 'h', clientId: 'x', reconnectMin: 100 });
  const errors: MqttError[] = [];
  c.onError = (e) => errors.push(e);
  assert.is(c.connect(), 0);
  assert.is(c.state, OFFLINE);
  for (let k = 0; k < 3; k++) assert.ok(clock.fireNext(), 'a retry is scheduled');
  assert.is(t.opens, 4);
  assert.ok(errors.length === 4 && errors.every((e) => e.code === ERR_CONNECTION), JSON.stringify(errors));
  assert.is(c.attempts, 4, 'each counts as a failed attempt');
  c.end();
  assert.is(clock.pending, 0);
});

test('a reconnect delay that rounds to 0 ms is still a timer (reconnectMin: 1; a 0 once meant "no timer" and the client never came back)', () => {
  const t = failingTransport();
  const clock = new ManualClock();
  const delays: number[] = [];
  const set = clock.set.bind(clock);
  clock.set = (fn, ms) => (delays.push(ms), set(fn, ms));
  // reconnectMax 1: every delay is 1 ms times a random half to full, floored: always 0.
  const c = new MqttClient(t, clock, { host: 'h', clientId: 'x', reconnectMin: 1, reconnectMax: 1 });
  assert.is(c.connect(), 0);
  for (let k = 0; k < 5; k++) assert.ok(clock.fireNext(), `retry ${k + 1} is scheduled`);
  assert.is(t.opens, 6);
  assert.ok(delays.includes(0), `a 0 ms delay was armed: ${delays}`);
  c.end();
  assert.is(clock.pending, 0);
});

test('an oversized QoS 2 PUBLISH is acknowledged even when the inbound QoS 2 table is full', () => {
  const r = rig(() => ({
    ready: (s) => {
      // Two QoS 2 messages fill a table of 2 (no PUBREL yet), then one that cannot fit rxSize.
      s.send(pk.publish('t', 'a', 2, 11));
      s.send(pk.publish('t', 'b', 2, 12));
      s.send(rawPublish('t', 2, 13, 400));
    },
  }), { rxSize: 128, maxInboundQos2: 2 });
  r.c.connect();
  r.t.run();
  const recs = r.t.session!.got.filter((g) => g.type === PUBREC).map((g) => g.id);
  assert.equal(recs, [11, 12, 13]);
  assert.equal(r.errors.map((e) => e.code), [ERR_TOO_LARGE]);
  assert.is(r.c.state, CONNECTED);
});

test('end() called from onError: one onClose, no reconnect (no second close, no stray timer)', () => {
  const r = rig(() => scripts.plain());
  r.c.connect();
  r.t.run();
  r.c.onError = () => r.c.end();
  r.t.session!.send([0xf0, 0]); // reserved packet type 15: malformed
  r.t.run();
  assert.is(r.closes.length, 1, JSON.stringify(r.closes));
  assert.is(r.c.state, OFFLINE);
  assert.is(r.clock.pending, 0, 'no reconnect timer');
});

test('end() and connect() from onClose: the new attempt keeps its connect timeout', () => {
  // The second connection never gets a CONNACK: its connect timeout must be the timer left.
  const r = rig((k) => (k ? scripts.noConnack() : scripts.plain()), { connectTimeout: 5000, reconnectMin: 3 });
  r.c.connect();
  r.t.run();
  r.c.onClose = () => {
    r.c.onClose = null;
    r.c.end();
    assert.is(r.c.connect(), 0);
  };
  r.t.session!.send([0xf0, 0]);
  r.t.run();
  // The only timer is the new attempt's connect timeout, not a 3 ms backoff that replaced it.
  assert.is(r.clock.pending, 1);
  const t0 = r.clock.t;
  r.clock.fireNext();
  assert.is(r.clock.t - t0, 5000);
});

test('subscribe() while the transmit buffer is backed up is ERR_TX_FULL at the call; the connection stays', () => {
  const r = rig(() => scripts.plain(), { txSize: 64 });
  r.c.connect();
  r.t.run();
  // A transport that takes nothing for now: control packets queue in tx.
  const write = r.t.write.bind(r.t);
  r.t.write = () => 0;
  const f = 'x/'.repeat(12); // a 32-byte SUBSCRIBE: fits txSize, not the room left
  assert.is(r.c.subscribe('a', 0), 0); // 8 bytes queued
  assert.is(r.c.subscribe(['b' + f, 'c' + f], 0), ERR_TX_FULL);
  assert.is(r.c.state, CONNECTED);
  assert.equal(r.errors, []);
  r.t.write = write;
  r.t.run();
});

test('a QoS 2 message beyond the table is held back (no PUBREC, not delivered); once PUBRELs empty the table: DISCONNECT, back after reconnectMin, it arrives once', () => {
  // Connection 0: messages 1, 2, 3 for a table of 2; the plain broker answers each PUBREC with
  // PUBREL. Connection 1 resumes the session and resends 3 (DUP), as a broker does.
  const r = rig((k) => ({
    connect: (s) => {
      s.send(pk.connack(k > 0, 0));
      if (!k) for (const id of [1, 2, 3]) s.send(pk.publish('t', 'm' + id, 2, id));
      else s.send(pk.publish('t', 'm3', 2, 3, true));
    },
  }), { maxInboundQos2: 2, clean: false, reconnectMin: 100 });
  const seen: string[] = [];
  r.c.onMessage = (m) => seen.push(String.fromCharCode(...m.buf.subarray(m.payloadOff, m.payloadOff + m.payloadLen)));
  let last = new Uint8Array(0);
  const write = r.t.write.bind(r.t);
  r.t.write = (b, off, n) => {
    last = b.slice(off, off + n);
    return write(b, off, n);
  };
  r.c.connect();
  r.t.run();
  const s0 = r.t.session!;
  assert.equal(s0.got.filter((g) => g.type === PUBREC).map((g) => g.id), [1, 2], 'no PUBREC for the held-back message');
  assert.equal(seen, ['m1', 'm2']);
  assert.equal(r.errors.map((e) => e.code), [ERR_INBOUND_FULL]);
  assert.is(last[last.length - 2], DISCONNECT << 4, 'DISCONNECT before closing: no will');
  const t0 = r.clock.t;
  r.clock.fireNext();
  assert.is(r.clock.t - t0, 100, 'back after reconnectMin: the table drained, that is progress');
  assert.is(r.c.attempts, 0);
  r.t.run();
  assert.is(r.c.state, CONNECTED);
  assert.equal(seen, ['m1', 'm2', 'm3'], 'each once');
  r.c.end();
});

test('held-back QoS 2 and no PUBREL ever: the keepalive tick reconnects, and without progress the backoff grows', () => {
  // A broker that never sends PUBREL and resends everything on each resumed session.
  const r = rig((k) => ({
    connect: (s) => {
      s.send(pk.connack(k > 0, 0));
      for (const id of [1, 2, 3]) s.send(pk.publish('t', 'x', 2, id, k > 0));
    },
    packet: (_s, g) => g.type === PUBREC, // swallowed: no PUBREL
  }), { maxInboundQos2: 2, clean: false, keepalive: 10, reconnectMin: 100, reconnectMax: 100000 });
  r.c.connect();
  const delays: number[] = [];
  for (let k = 0; k < 4; k++) {
    r.t.run();
    assert.is(r.c.state, CONNECTED, 'held back, still connected');
    r.clock.fireNext(); // keepalive tick: the table never drained
    assert.is(r.errors[r.errors.length - 1].code, ERR_INBOUND_FULL);
    const t0 = r.clock.t;
    r.clock.fireNext();
    delays.push(r.clock.t - t0);
  }
  assert.is(delays[0], 100, 'the first connection took 1 and 2: progress');
  assert.ok(r.c.attempts >= 3, `attempts ${r.c.attempts}`);
  assert.ok(delays[3] >= 200, `no progress since: the backoff grows (${delays})`);
  r.c.end();
});

test('sanity: the fake broker sees our SUBSCRIBE and PUBLISH (the rig can observe the wire)', () => {
  const r = rig(() => scripts.plain());
  r.c.connect();
  r.t.run();
  r.c.subscribe('s', 1);
  r.c.publish('p', 'x', 0);
  r.t.run();
  const types = r.t.session!.got.map((g) => g.type);
  assert.ok(types.includes(SUBSCRIBE) && types.includes(PUBLISH), String(types));
});


test('an invalid QoS is ERR_QOS at the call even offline with queueQos0 false (not taken for QoS 0)', () => {
  const r = rig(() => scripts.plain(), { queueQos0: false });
  for (const q of [NaN, 3, -1, 0.5, '1' as never]) assert.is(r.c.publish('a/b', 'p', q), ERR_QOS, `qos ${String(q)}`);
  assert.is(r.c.publish('a/b', 'p', 0), ERR_OFFLINE);
  assert.is(r.c.queued, 0);
});

test.run();
