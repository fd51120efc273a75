// Persistent sessions and redelivery against real brokers (mosquitto and Aedes), MQTT.js as the
// peer: messages queued while we are offline, acknowledgements lost with a dying link in both
// directions, and exactly-once for QoS 2 across reconnects.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, OFFLINE } from '../src/index.ts';
import {
  both, peerPublishAll, waitFor, uid, seq, nums, seqProblems, copyMsg, type OurMsg, type Ours, type WirePacket,
} from './helpers/brokers.ts';

/** Payload numbers in arrival order, only those starting with `prefix`. */
function numbered(msgs: { payload: string }[], prefix: string): number[] {
  return nums(msgs.filter((m) => m.payload.startsWith(prefix) && /^\d+$/.test(m.payload.slice(prefix.length))), prefix);
}

/** How many times each of 0..n-1 arrived. */
function counts(got: number[], n: number): number[] {
  const c = new Array(n).fill(0);
  for (const x of got) if (x >= 0 && x < n) c[x]++;
  return c;
}

/**
 * What a receiver following MQTT 3.1.1 must hand to the app from this inbound packet stream:
 * a QoS 2 PUBLISH is new unless its packet id awaits PUBREL [MQTT-4.3.3-2]; that state lasts
 * across connections while the session is present. Also returns the broker's violations: a
 * QoS 2 PUBLISH re-sent after the broker had already released its id with PUBREL, carrying a
 * payload that was delivered before under that id (the receiver cannot tell it from a new message).
 */
function qos2Oracle(pk: WirePacket[], topic: string): { delivered: string[]; violations: string[] } {
  const awaiting = new Set<number>();
  const released = new Map<number, string>();
  const lastPayload = new Map<number, string>();
  const delivered: string[] = [];
  const violations: string[] = [];
  for (const k of pk) {
    if (k.type === CONNACK && !(k.bytes[2] & 1)) { awaiting.clear(); released.clear(); }
    if (k.type === PUBREL) {
      awaiting.delete(k.id!);
      const pl = lastPayload.get(k.id!);
      if (pl !== undefined) released.set(k.id!, pl);
    }
    if (k.type !== PUBLISH || k.topic !== topic || ((k.flags >> 1) & 3) !== 2) continue;
    if (awaiting.has(k.id!)) continue;
    awaiting.add(k.id!);
    lastPayload.set(k.id!, k.payload!);
    if (released.get(k.id!) === k.payload) violations.push(`id ${k.id} (${k.payload}) re-sent after PUBREL`);
    released.delete(k.id!);
    delivered.push(k.payload!);
  }
  return { delivered, violations };
}

/** Packets our client received after the first `mark`. */
function inSince(o: Ours, mark: number) {
  return o.t.inPk.slice(mark);
}

both(test, 'persistent session: QoS 1 and 2 published while we are offline arrive after reconnect', async (ctx) => {
  const pre = uid('sess');
  const o = ctx.ours({ clientId: uid('persist'), clean: false });
  assert.is(await o.connect(), false, 'a new session');
  const g1: OurMsg[] = [];
  const g2: OurMsg[] = [];
  assert.equal(await o.sub(`${pre}/q1`, 1, (v) => g1.push(copyMsg(v))), [1]);
  assert.equal(await o.sub(`${pre}/q2`, 2, (v) => g2.push(copyMsg(v))), [2]);
  const gone = ctx.broker.gone(o.id);
  o.c.end();
  await waitFor(() => ctx.broker.gone(o.id) > gone, 5000, 'the broker to drop our connection');

  const p = await ctx.peer();
  const n = 25;
  await peerPublishAll(p, `${pre}/q1`, seq(n), 1);
  await peerPublishAll(p, `${pre}/q2`, seq(n), 2);
  assert.equal(g1.length + g2.length, 0);

  const subsSent = o.t.countOut(SUBSCRIBE);
  assert.is(await o.connect(), true, 'sessionPresent after reconnecting with clean:false');
  await waitFor(() => g1.length >= n && g2.length >= n, 10000, () => `queued messages (q1 ${g1.length}, q2 ${g2.length} of ${n})`);
  // Anything else the broker had for us comes before these.
  await p.c.publishAsync(`${pre}/q1`, 'end', { qos: 1 });
  await p.c.publishAsync(`${pre}/q2`, 'end', { qos: 2 });
  await waitFor(() => g1.some((m) => m.payload === 'end') && g2.some((m) => m.payload === 'end'), 5000, 'end markers');
  assert.is(seqProblems(numbered(g1, ''), n), '', 'QoS 1');
  assert.is(seqProblems(numbered(g2, ''), n), '', 'QoS 2');
  assert.ok(g1.every((m) => m.qos === 1) && g2.every((m) => m.qos === 2), 'delivered at the subscribed QoS');
  assert.is(o.t.countOut(SUBSCRIBE), subsSent, 'no resubscribe when the session is present');
  assert.equal(o.errors, []);
});

both(test, 'redelivery to us: acks withheld, link cut, broker redelivers; QoS 2 exactly once, QoS 1 at least once', async (ctx) => {
  const pre = uid('rd');
  const T1 = `${pre}/q1`;
  const T2 = `${pre}/q2`;
  const o = ctx.ours({ clientId: uid('rdc'), clean: false });
  await o.connect();
  const g1: OurMsg[] = [];
  const g2: OurMsg[] = [];
  await o.sub(T1, 1, (v) => g1.push(copyMsg(v)));
  await o.sub(T2, 2, (v) => g2.push(copyMsg(v)));
  const p = await ctx.peer();
  // Fewer than either broker's outbound in-flight window (mosquitto: 20), so all go out at once.
  const n = 8;
  if (ctx.broker.kind === 'aedes') {
    // Aedes 1.2 mixes up PUBRECs from a clean:false client: aedes-persistence's outgoingUpdate
    // matches a stored PUBREL entry (no brokerId) against the next PUBREC's PUBREL (no brokerId
    // either) and overwrites its packet id. Handled back to back, both PUBRELs go out with the
    // second id and the first message never completes on this connection. Spacing our PUBRECs
    // (latency, not loss) keeps the live PUBRELs right; the damaged store still shows after the
    // next reconnect (phase 2 below).
    o.t.paceOut = (k) => k.type === PUBREC;
  }

  const pubIds = (pk: WirePacket[], t: string, prefix: string) =>
    pk.filter((k) => k.type === PUBLISH && k.topic === t && k.payload!.startsWith(prefix)).map((k) => k.id!);
  const has = (pk: WirePacket[], type: number, ids: number[]) => ids.every((id) => pk.some((k) => k.type === type && k.id === id));

  // Phase 1: PUBACK and PUBREC never leave: the broker keeps every message unacknowledged.
  let drop: number[] = [PUBACK, PUBREC];
  o.t.dropOut = (k) => drop.includes(k.type);
  await peerPublishAll(p, T1, seq(n, 'a'), 1);
  await peerPublishAll(p, T2, seq(n, 'a'), 2);
  await waitFor(() => g1.length >= n && g2.length >= n, 5000, () => `first deliveries (q1 ${g1.length}, q2 ${g2.length})`);
  assert.is(o.t.dropped.filter((k) => k.type === PUBACK).length, n);
  assert.is(o.t.dropped.filter((k) => k.type === PUBREC).length, n);
  let mark = o.t.inPk.length;
  let markOut = o.t.outPk.length;
  const first1 = pubIds(o.t.inPk, T1, 'a');
  const first2 = pubIds(o.t.inPk, T2, 'a');
  o.t.cut();
  drop = [];
  await waitFor(() => o.connects.length >= 2, 5000, 'reconnect');
  assert.is(o.connects[1], true, 'session present');
  // The broker resends every unacknowledged PUBLISH with its original packet id, and this time
  // the handshakes complete.
  const re = (t: string, ids: number[]) => inSince(o, mark).filter((k) => k.type === PUBLISH && k.topic === t && ids.includes(k.id!));
  await waitFor(() => re(T1, first1).length >= n && re(T2, first2).length >= n && has(o.t.outPk.slice(markOut), PUBCOMP, first2)
    && has(o.t.outPk.slice(markOut), PUBACK, first1), 5000,
  () => `redelivery (q1 ${re(T1, first1).length}, q2 ${re(T2, first2).length} of ${n})`);
  assert.is(re(T1, first1).length, n, 'each QoS 1 message resent once');
  assert.is(re(T2, first2).length, n, 'each QoS 2 message resent once');
  if (ctx.broker.kind === 'mosquitto') {
    assert.ok(re(T1, first1).concat(re(T2, first2)).every((k) => k.flags & 8), 'resent with DUP');
  } else {
    // Aedes 1.2 resends without the DUP flag [MQTT-3.3.1-1]; dedup here goes by packet id anyway.
    console.log(`  [aedes] redelivered PUBLISH with DUP set: ${re(T1, first1).concat(re(T2, first2)).filter((k) => k.flags & 8).length} of ${2 * n}`);
  }
  assert.is(seqProblems(numbered(g2, 'a'), n), '', 'QoS 2 delivered exactly once, in order');
  const c1 = counts(numbered(g1, 'a'), n);
  assert.ok(c1.every((k) => k === 2), `QoS 1 at least once (here: twice each, original and redelivery): ${c1}`);

  // Phase 2: PUBREC goes out but PUBCOMP does not: the broker must resend PUBREL, not the PUBLISH.
  drop = [PUBCOMP];
  await peerPublishAll(p, T2, seq(n, 'b'), 2);
  await waitFor(() => pubIds(o.t.inPk, T2, 'b').length >= n && has(o.t.dropped, PUBCOMP, pubIds(o.t.inPk, T2, 'b')), 5000,
    'PUBREL (answered by a lost PUBCOMP) for every phase 2 message');
  assert.is(seqProblems(numbered(g2, 'b'), n), '');
  const second = pubIds(o.t.inPk, T2, 'b');
  mark = o.t.inPk.length;
  markOut = o.t.outPk.length;
  o.t.cut();
  drop = [];
  await waitFor(() => o.connects.length >= 3, 5000, 'second reconnect');
  assert.is(o.connects[2], true);
  await p.c.publishAsync(T2, 'end-b', { qos: 2 });
  // Settled: every QoS 2 PUBLISH and PUBREL since the reconnect answered, the marker delivered,
  // and (from a broker that follows the protocol) a PUBREL for each phase 2 message.
  const answered = () => {
    const inn = inSince(o, mark);
    const out = o.t.outPk.slice(markOut);
    return has(out, PUBREC, inn.filter((k) => k.type === PUBLISH && k.topic === T2).map((k) => k.id!))
      && has(out, PUBCOMP, inn.filter((k) => k.type === PUBREL).map((k) => k.id!));
  };
  await waitFor(() => g2.some((m) => m.payload === 'end-b') && answered()
    && (ctx.broker.kind !== 'mosquitto' || has(inSince(o, mark), PUBREL, second)), 5000,
  () => `phase 2 to settle (resent PUBREL for ${second.filter((id) => has(inSince(o, mark), PUBREL, [id])).length} of ${n})`);
  const after = inSince(o, mark);
  // Our client hands over exactly what the protocol says it must, whatever the broker sent.
  const oracle = qos2Oracle(o.t.inPk, T2);
  assert.equal(g2.map((m) => m.payload), oracle.delivered, 'QoS 2 deliveries follow the protocol');
  if (ctx.broker.kind === 'mosquitto' || !oracle.violations.length) {
    assert.equal(oracle.violations, []);
    assert.ok(has(after, PUBREL, second), 'PUBREL resent for every phase 2 message');
    assert.equal(after.filter((k) => k.type === PUBLISH && k.topic === T2).map((k) => k.payload), ['end-b'], 'no PUBLISH resent after PUBREC');
    assert.is(seqProblems(numbered(g2, 'b'), n), '', 'phase 2 QoS 2 still exactly once');
  } else {
    // Aedes 1.2 sometimes re-sends, after reconnecting, a QoS 2 PUBLISH whose PUBREC it had
    // received and whose PUBREL it had sent (MQTT-4.3.3-1 forbids it): indistinguishable from a
    // new message, so it reaches the app twice. A broker fault, shown by the oracle above.
    console.log(`  [aedes] broker protocol violations in phase 2: ${oracle.violations.join('; ')}`);
  }
  // Only the cuts were errors.
  assert.ok(o.errors.every((e) => e.name === 'ERR_CONNECTION'), o.errors.map((e) => e.message).join('; '));
});

both(test, 'redelivery from us: QoS 1/2 in flight when the link dies; after reconnect all arrive, QoS 2 once', async (ctx) => {
  const pre = uid('ob');
  const T1 = `${pre}/q1`;
  const T2 = `${pre}/q2`;
  const p = await ctx.peer();
  await p.c.subscribeAsync(`${pre}/#`, { qos: 2 });
  // A slower first reconnect leaves time to publish while offline.
  const o = ctx.ours({ clientId: uid('obc'), clean: false, outboxSize: 4096, reconnectMin: 400 });
  await o.connect();
  // Aedes 1.2 reports sessionPresent only for a client with stored subscriptions (its in-flight
  // QoS 2 state alone does not count), so give the session one.
  await o.sub(`${pre}-ctl`, 1);
  const n = 10;
  const pub = (batch: string) => {
    for (let i = 0; i < n; i++) {
      assert.is(o.c.publish(T1, batch + i, 1), 0);
      assert.is(o.c.publish(T2, batch + i, 2), 0);
    }
  };

  // The link goes bad: PUBREL never arrives at the broker, and after six PUBLISHes nothing does.
  let lossy = true;
  let through = 0;
  o.t.dropOut = (k) => lossy && (k.type === PUBREL || (k.type === PUBLISH && ++through > 6));
  pub('a');
  const outQ = (q: number) => o.t.outPk.filter((k) => k.type === PUBLISH && ((k.flags >> 1) & 3) === q).length;
  // Stalled: the in-flight window is full and the broker acknowledged all it got.
  // In flight, read off the wire: QoS 1/2 PUBLISHes the client wrote (dropped ones too) less the
  // PUBACKs and PUBCOMPs it got (none of the latter: every PUBREL is lost).
  const qos12 = (k: { type: number; flags: number }) => k.type === PUBLISH && (k.flags & 6) > 0;
  const inflight = () => o.t.outPk.filter(qos12).length + o.t.dropped.filter(qos12).length - o.t.countIn(PUBACK) - o.t.countIn(PUBCOMP);
  await waitFor(() => inflight() === 8 && o.t.countIn(PUBACK) === outQ(1) && o.t.countIn(PUBREC) === outQ(2),
    5000, () => `the window to fill (inflight ${inflight()})`);
  assert.ok(o.t.dropped.some((k) => k.type === PUBLISH) && o.t.dropped.some((k) => k.type === PUBREL), 'both losses happened');

  o.t.cut();
  lossy = false;
  pub('b'); // the client has not noticed yet
  await waitFor(() => o.closes.length >= 1, 5000, 'the client to notice');
  assert.is(o.c.state, OFFLINE);
  pub('c'); // offline: queued
  const mark = o.t.outPk.length;
  await waitFor(() => o.connects.length >= 2, 5000, 'reconnect');
  assert.is(o.connects[1], true, 'session present');
  await o.settled(10000);
  const resent = o.t.outPk.slice(mark);
  assert.ok(resent.some((k) => k.type === PUBLISH && k.flags & 8), 'in-flight PUBLISHes resent with DUP');
  assert.ok(resent.some((k) => k.type === PUBREL), 'PUBREL resent for messages past PUBREC');

  // Our own end marker comes after everything else on our connection.
  assert.is(o.c.publish(T2, 'end', 2), 0);
  await waitFor(() => p.on(T2).some((m) => m.payload === 'end'), 10000,
    () => `all messages at the peer (q1 ${p.on(T1).length}, q2 ${p.on(T2).length} of ${3 * n})`);
  await o.settled();
  for (const b of ['a', 'b', 'c']) {
    assert.is(seqProblems(numbered(p.on(T2), b), n), '', `QoS 2 batch ${b}: exactly once, in order`);
    const c1 = counts(numbered(p.on(T1), b), n);
    assert.ok(c1.every((x) => x >= 1), `QoS 1 batch ${b} at least once: ${c1}`);
  }
  assert.ok(o.errors.every((e) => e.name === 'ERR_CONNECTION'), o.errors.map((e) => e.message).join('; '));
});

test.run();
