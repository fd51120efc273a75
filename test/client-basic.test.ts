// MqttClient against real brokers (mosquitto and Aedes), with an MQTT.js client as the peer:
// connect/end, QoS 0/1/2 both ways, retained messages, will, $-topics, unsubscribe, overlapping
// subscriptions, zero-length client ids. Every scenario runs once per broker.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PUBLISH, DISCONNECT, ERR_ARG, ERR_STATE, ERR_CONNECTION, CONNECTED, OFFLINE,
} from '../src/index.ts';
import { both, peerPublishAll, waitFor, sleep, uid, seq, nums, seqProblems, copyMsg, type OurMsg } from './helpers/brokers.ts';

const N = 200;

both(test, 'connect, end() gives onClose(0) and no reconnect', async (ctx) => {
  const o = ctx.ours();
  assert.is(await o.connect(), false, 'clean session: sessionPresent false');
  assert.is(o.c.state, CONNECTED);
  assert.is(o.c.connect(), ERR_STATE, 'connect() while connected');
  const gone = ctx.broker.gone(o.id);
  o.c.end();
  assert.equal(o.closes, [0]);
  assert.is(o.c.state, OFFLINE);
  assert.is(o.t.outPk[o.t.outPk.length - 1].type, DISCONNECT, 'DISCONNECT is the last packet written');
  await waitFor(() => ctx.broker.gone(o.id) > gone, 5000, 'the broker to drop the connection');
  // Six times the largest first backoff (reconnectMin 50): a reconnect would have opened by now.
  await sleep(300);
  assert.is(o.t.opens, 1, 'no connection attempt after end()');
  assert.is(o.connects.length, 1);
  assert.equal(o.errors, []);
  o.c.end();
  assert.equal(o.closes, [0], 'end() while offline reports nothing');
  // The same client connects again after end().
  assert.is(await o.connect(), false);
  o.c.end();
  assert.equal(o.closes, [0, 0]);
});

both(test, `our publish -> MQTT.js, ${N} numbered messages at QoS 0, 1, 2`, async (ctx) => {
  const pre = uid('out');
  const p = await ctx.peer();
  await p.c.subscribeAsync(`${pre}/#`, { qos: 2 });
  const o = ctx.ours();
  await o.connect();
  for (const q of [0, 1, 2]) await o.publishAll(`${pre}/${q}`, seq(N), q);
  await o.settled(15000);
  await waitFor(() => [0, 1, 2].every((q) => p.on(`${pre}/${q}`).length >= N), 15000,
    () => `all messages at the peer (${[0, 1, 2].map((q) => p.on(`${pre}/${q}`).length).join('/')} of ${N})`);
  for (const q of [0, 1, 2]) {
    const got = p.on(`${pre}/${q}`);
    assert.is(seqProblems(nums(got), N), '', `QoS ${q}`);
    assert.ok(got.every((m) => m.qos === q && !m.retain), `QoS ${q}: delivered at QoS ${q}, not retained`);
  }
  assert.ok(o.drains > 0, 'the default 2 KiB outbox filled and drained');
  assert.equal(o.errors, []);
});

both(test, `MQTT.js publish -> our handler, ${N} numbered messages at QoS 0, 1, 2`, async (ctx) => {
  const pre = uid('in');
  const o = ctx.ours();
  await o.connect();
  const got: OurMsg[] = [];
  assert.equal(await o.sub(`${pre}/#`, 2, (v) => got.push(copyMsg(v))), [2]);
  const p = await ctx.peer();
  for (const q of [0, 1, 2] as const) {
    await peerPublishAll(p, `${pre}/${q}`, seq(N), q);
  }
  await waitFor(() => got.length >= 3 * N, 15000, () => `${3 * N} messages (got ${[0, 1, 2].map((q) => got.filter((m) => m.qos === q).length).join("/")}; errors ${o.errors.map((e) => e.name)}; in ${o.t.inPk.length} out ${o.t.outPk.length})`);
  for (const q of [0, 1, 2]) {
    const t = `${pre}/${q}`;
    const mine = got.filter((m) => m.topic === t);
    assert.is(seqProblems(nums(mine), N), '', `QoS ${q}`);
    assert.ok(mine.every((m) => m.qos === q && !m.retain && !m.dup), `QoS ${q} flags`);
    assert.is(o.t.countIn(PUBLISH, t), N, `QoS ${q}: one PUBLISH per message on the wire`);
  }
  assert.is(o.msgs.length, got.length, 'onMessage saw the same messages');
  assert.equal(o.errors, []);
  assert.is(o.connects.length, 1, 'no reconnect');
});

both(test, 'retained: set by our publish, seen as retained by fresh subscribers, cleared by an empty payload', async (ctx) => {
  const T = uid('ret') + '/state';
  const o = ctx.ours();
  await o.connect();
  assert.is(o.c.publish(T, 'on-1', 1, true), 0);
  await o.settled();

  // A fresh MQTT.js subscriber gets it with the retain flag.
  const p1 = await ctx.peer();
  await p1.c.subscribeAsync(T, { qos: 1 });
  await waitFor(() => p1.on(T).length >= 1, 5000, 'retained message at the peer');
  assert.equal(p1.on(T)[0], { topic: T, payload: 'on-1', qos: 1, retain: true, dup: false });

  // A fresh subscriber of ours sees view.retain true.
  const o2 = ctx.ours();
  await o2.connect();
  const seen: OurMsg[] = [];
  await o2.sub(T, 1, (v) => seen.push(copyMsg(v)));
  await waitFor(() => seen.length >= 1, 5000, 'retained message at our subscriber');
  assert.is(seen[0].payload, 'on-1');
  assert.is(seen[0].retain, true, 'view.retain on a retained message');

  // A live message to an existing subscription: view.retain is whatever the wire says
  // (MQTT-3.3.1-9: the broker clears it for an established subscription).
  await p1.c.publishAsync(T, 'on-2', { qos: 1, retain: true });
  await waitFor(() => seen.length >= 2, 5000, 'live message');
  const wire = o2.t.inPk.filter((k) => k.type === PUBLISH && k.topic === T);
  assert.is(wire.length, 2);
  assert.is(seen[1].payload, 'on-2');
  assert.is(seen[1].retain, (wire[1].flags & 1) === 1, 'view.retain matches the wire flag');
  assert.is(seen[1].retain, false, 'broker clears retain on a live delivery');

  // Clear it: an empty retained payload from our client.
  assert.is(o.c.publish(T, '', 1, true), 0);
  await o.settled();
  await waitFor(() => seen.length >= 3, 5000, 'the clearing message at the existing subscriber');
  assert.is(seen[2].payload, '');

  // A fresh subscriber (theirs and ours) now gets nothing retained: a non-retained marker
  // published after SUBACK is the first thing to arrive.
  const p2 = await ctx.peer();
  await p2.c.subscribeAsync(T, { qos: 1 });
  const o3 = ctx.ours();
  await o3.connect();
  const seen3: OurMsg[] = [];
  await o3.sub(T, 1, (v) => seen3.push(copyMsg(v)));
  await p1.c.publishAsync(T, 'marker', { qos: 1 });
  await waitFor(() => p2.on(T).length >= 1 && seen3.length >= 1, 5000, 'marker');
  assert.equal(p2.on(T).map((m) => m.payload), ['marker']);
  assert.equal(seen3.map((m) => m.payload), ['marker']);
  assert.is(seen3[0].retain, false);
  for (const c of [o, o2, o3]) assert.equal(c.errors, []);
});

both(test, 'will: delivered after a cut connection, not after end()', async (ctx) => {
  const W = uid('will');
  const p = await ctx.peer();
  await p.c.subscribeAsync(`${W}/#`, { qos: 1 });

  const a = ctx.ours({ will: { topic: `${W}/a`, payload: 'a-gone', qos: 1 } });
  await a.connect();
  const ga = ctx.broker.gone(a.id);
  a.c.end();
  await waitFor(() => ctx.broker.gone(a.id) > ga, 5000, 'broker to drop a');

  const b = ctx.ours({ will: { topic: `${W}/b`, payload: 'b-gone', qos: 1 } });
  await b.connect();
  const sent = b.t.outPk.length;
  b.t.cut();
  await waitFor(() => p.on(`${W}/b`).length >= 1, 5000, 'will of b');
  assert.equal(p.msgs.map((m) => m.payload), ['b-gone'], 'only the cut client\'s will');
  assert.ok(b.t.outPk.slice(sent).every((k) => k.type !== DISCONNECT), 'no DISCONNECT before the cut');
  assert.is(b.errors[0]?.code, ERR_CONNECTION);
  assert.is(b.closes[0], ERR_CONNECTION);
  // b reconnects by itself.
  await waitFor(() => b.connects.length >= 2, 5000, 'b to reconnect');
  assert.equal(p.on(`${W}/a`), [], 'no will after end()');
});

both(test, '$-topics are not matched by # or +/x', async (ctx) => {
  const D = '$' + uid('mcu');
  const P = uid('plain');
  const o = ctx.ours();
  await o.connect();
  const hash: OurMsg[] = [];
  const plus: OurMsg[] = [];
  const dollar: OurMsg[] = [];
  await o.sub('#', 1, (v) => hash.push(copyMsg(v)));
  await o.sub('+/x', 1, (v) => plus.push(copyMsg(v)));
  await o.sub(`${D}/x`, 1, (v) => dollar.push(copyMsg(v)));
  const all = await ctx.peer();
  await all.c.subscribeAsync('#', { qos: 1 });
  const p = await ctx.peer();
  await p.c.publishAsync(`${D}/x`, 'dollar', { qos: 1 });
  await p.c.publishAsync(`${P}/x`, 'plain', { qos: 1 });
  await waitFor(() => dollar.length >= 1 && plus.length >= 1 && hash.length >= 1 && all.on(`${P}/x`).length >= 1, 5000,
    () => `deliveries (dollar ${dollar.length}, plus ${plus.length}, hash ${hash.length})`);
  assert.equal(dollar.map((m) => m.topic), [`${D}/x`]);
  assert.equal(hash.map((m) => m.topic), [`${P}/x`], '# does not match a $ topic');
  assert.equal(plus.map((m) => m.topic), [`${P}/x`], '+/x does not match a $ topic');
  assert.is(o.t.countIn(PUBLISH, `${D}/x`), 1, 'the broker sent the $ topic once (for the $ filter)');
  assert.equal(all.on(`${D}/x`), [], 'the broker does not match it with # either');
  assert.equal(o.errors, []);
});

both(test, 'unsubscribe: no deliveries to the handler after UNSUBACK', async (ctx) => {
  const pre = uid('unsub');
  const T = `${pre}/a`;
  const S = `${pre}/sentinel`;
  const o = ctx.ours();
  await o.connect();
  const h: OurMsg[] = [];
  const s: OurMsg[] = [];
  await o.sub(T, 1, (v) => h.push(copyMsg(v)));
  await o.sub(S, 1, (v) => s.push(copyMsg(v)));
  const p = await ctx.peer();
  for (const x of seq(5)) await p.c.publishAsync(T, x, { qos: 1 });
  await waitFor(() => h.length >= 5, 5000, 'five messages before unsubscribing');
  await o.unsub(T);
  const wire = o.t.countIn(PUBLISH, T);
  for (const x of seq(5, 'late-')) await p.c.publishAsync(T, x, { qos: 1 });
  await p.c.publishAsync(S, 'after', { qos: 1 });
  await waitFor(() => s.length >= 1, 5000, 'sentinel');
  assert.is(seqProblems(nums(h), 5), '');
  assert.is(o.t.countIn(PUBLISH, T), wire, 'the broker sent nothing on the topic after UNSUBACK');
  assert.is(o.on(T).length, 5);
  // The freed slot takes a new subscription.
  await o.sub(T, 1, (v) => h.push(copyMsg(v)));
  await p.c.publishAsync(T, 'again', { qos: 1 });
  await waitFor(() => h.length >= 6, 5000, 'delivery after subscribing again');
  assert.is(h[5].payload, 'again');
  assert.equal(o.errors, []);
});

both(test, 'overlapping subscriptions: each handler runs once per PUBLISH received', async (ctx) => {
  const pre = uid('ov');
  const T = `${pre}/x`;
  const o = ctx.ours();
  await o.connect();
  const h1: OurMsg[] = [];
  const h2: OurMsg[] = [];
  const end: OurMsg[] = [];
  await o.sub(`${pre}/+`, 1, (v) => h1.push(copyMsg(v)));
  await o.sub(`${pre}/#`, 2, (v) => h2.push(copyMsg(v)));
  await o.sub(`${pre}-end`, 1, (v) => end.push(copyMsg(v)));
  const p = await ctx.peer();
  const n = 10;
  for (const x of seq(n)) await p.c.publishAsync(T, x, { qos: 1 });
  // Everything the broker sends on T comes before this, on the same connection.
  await p.c.publishAsync(`${pre}-end`, 'end', { qos: 1 });
  await waitFor(() => end.length >= 1, 5000, 'end marker');
  const wire = o.t.countIn(PUBLISH, T);
  assert.ok(wire >= n, `at least one PUBLISH per message (${wire})`);
  assert.is(h1.length, wire, '+ handler: once per PUBLISH');
  assert.is(h2.length, wire, '# handler: once per PUBLISH');
  assert.is(o.on(T).length, wire, 'onMessage: once per PUBLISH');
  const copies = wire / n;
  for (let i = 0; i < n; i++) assert.is(h1.filter((m) => m.payload === String(i)).length, copies, `copies of ${i}`);
  console.log(`  [${ctx.broker.kind}] overlapping subscriptions: ${copies} PUBLISH per message`);
  assert.equal(o.errors, []);
});

both(test, 'zero-length client id: allowed with clean, ERR_ARG without', async (ctx) => {
  const o = ctx.ours({ clientId: '', clean: true });
  assert.is(await o.connect(), false);
  const T = uid('anon') + '/t';
  const got: OurMsg[] = [];
  await o.sub(T, 1, (v) => got.push(copyMsg(v)));
  const p = await ctx.peer();
  await p.c.publishAsync(T, 'hello', { qos: 1 });
  await waitFor(() => got.length >= 1, 5000, 'a message to the broker-named client');
  assert.is(got[0].payload, 'hello');
  assert.equal(o.errors, []);

  const bad = ctx.ours({ clientId: '', clean: false });
  assert.is(bad.c.connect(), ERR_ARG);
  assert.is(bad.t.opens, 0, 'no connection attempt');
  assert.is(bad.c.state, OFFLINE);
});

test.run();
