// Bad input from the app: every invalid call returns a named negative code at the call, throws
// nothing, sends nothing, and leaves the client as it was. "As it was" is judged from outside:
// `state`, `queued`, the packets on the wire (a tapping transport), onError, and above all what an
// MQTT.js subscriber receives: exactly the good messages, in order, each once, nothing else.
// A seeded property test interleaves random bad calls with good ones (seed printed; replay with
// APP_INPUT_SEED=<seed>), against Aedes and mosquitto.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  MqttClient, OFFLINE, CONNECTED, codecErrorName, ERR_TOPIC, ERR_TOO_LONG, ERR_UTF8, ERR_QOS, ERR_ARG,
  ERR_STATE, ERR_NO_SLOT, ERR_TX_FULL, ERR_OFFLINE, ERR_OUTBOX_FULL, SUBSCRIBE, PUBLISH,
} from '../src/index.ts';
import {
  startAedes, startMosquitto, mqttPeer, Ours, MOSQUITTO, waitFor, within, sleep, uid,
  type Broker, type Peer,
} from './helpers/brokers.ts';
import { rng } from '../host-sim/rng.ts';

const tick = () => new Promise<void>((r) => setImmediate(r));
const LONG = 'x'.repeat(65536);
const TX = 128;
const OUTBOX = 600;

type Call = [name: string, fn: (c: MqttClient) => number, want: number];

// Calls that are wrong whatever the state.
const BAD: Call[] = [
  ['publish topic with +', (c) => c.publish('ok/+/b', 'p', 0), ERR_TOPIC],
  ['publish topic with #', (c) => c.publish('ok/#', 'p', 1), ERR_TOPIC],
  ['publish empty topic', (c) => c.publish('', 'p', 2), ERR_TOPIC],
  ['publish topic of 65,536 bytes', (c) => c.publish(LONG, 'p', 0), ERR_TOO_LONG],
  ['publish topic of 21,846 three-byte characters (65,538 bytes)', (c) => c.publish('€'.repeat(21846), 'p', 1), ERR_TOO_LONG],
  ['publish topic with U+0000', (c) => c.publish('ok/a\u0000b', 'p', 0), ERR_UTF8],
  ['publish topic with a lone high surrogate', (c) => c.publish('ok/\ud800b', 'p', 1), ERR_UTF8],
  ['publish topic with a lone low surrogate', (c) => c.publish('ok/\udc00', 'p', 2), ERR_UTF8],
  ['publish topic ending in a high surrogate', (c) => c.publish('ok/\ud83d', 'p', 0), ERR_UTF8],
  ['publish payload with a lone surrogate', (c) => c.publish('ok/t', 'a\udfff', 1), ERR_UTF8],
  ['publish QoS 3', (c) => c.publish('ok/t', 'p', 3), ERR_QOS],
  ['publish QoS -1', (c) => c.publish('ok/t', 'p', -1), ERR_QOS],
  ['publish QoS 1.5', (c) => c.publish('ok/t', 'p', 1.5), ERR_QOS],
  ['publish QoS NaN', (c) => c.publish('ok/t', 'p', NaN), ERR_QOS],
  ['publish QoS "1"', (c) => c.publish('ok/t', 'p', '1' as unknown as number), ERR_QOS],
  ['publish payload larger than the outbox', (c) => c.publish('ok/t', new Uint8Array(OUTBOX), 1), ERR_TOO_LONG],
  ['publish payload an ArrayBuffer', (c) => c.publish('ok/t', new ArrayBuffer(4) as unknown as Uint8Array, 0), ERR_ARG],
  ['publish payload a number (hung the client before the fix)', (c) => c.publish('ok/t', 5 as unknown as string, 1), ERR_ARG],
  ['publish payload undefined', (c) => c.publish('ok/t', undefined as unknown as string, 0), ERR_ARG],
  ['publish topic undefined', (c) => c.publish(undefined as unknown as string, 'p', 0), ERR_ARG],
  ['subscribe a/b#', (c) => c.subscribe('ok/b#', 0), ERR_TOPIC],
  ['subscribe a+/b', (c) => c.subscribe('ok+/b', 1), ERR_TOPIC],
  ['subscribe #/a', (c) => c.subscribe('#/a', 1), ERR_TOPIC],
  ['subscribe empty filter', (c) => c.subscribe('', 0), ERR_TOPIC],
  ['subscribe filter of 65,536 bytes', (c) => c.subscribe(LONG, 0), ERR_TOO_LONG],
  ['subscribe filter with U+0000', (c) => c.subscribe('ok/\u0000', 0), ERR_UTF8],
  ['subscribe filter with a lone surrogate', (c) => c.subscribe('ok/\udbff/x', 0), ERR_UTF8],
  ['subscribe no filters', (c) => c.subscribe([], 0), ERR_ARG],
  ['subscribe the same filter twice in one call', (c) => c.subscribe(['ok/d', 'ok/d'], 0), ERR_ARG],
  ['subscribe one good and one bad filter', (c) => c.subscribe(['ok/g', 'ok/#/x'], [1, 1]), ERR_TOPIC],
  ['subscribe QoS 3', (c) => c.subscribe('ok/q', 3), ERR_QOS],
  ['subscribe QoS -1', (c) => c.subscribe('ok/q', -1), ERR_QOS],
  ['subscribe QoS 0.5', (c) => c.subscribe('ok/q', 0.5), ERR_QOS],
  ['subscribe QoS NaN', (c) => c.subscribe('ok/q', NaN), ERR_QOS],
  ['subscribe fewer QoS than filters', (c) => c.subscribe(['ok/q1', 'ok/q2'], [1]), ERR_QOS],
  ['subscribe filter too long for the transmit buffer', (c) => c.subscribe('ok/' + 'f'.repeat(TX), 0), ERR_TX_FULL],
  ['subscribe filters undefined', (c) => c.subscribe(undefined as unknown as string, 0), ERR_ARG],
  ['subscribe a number as filter', (c) => c.subscribe([5 as unknown as string], 0), ERR_ARG],
  ['unsubscribe a/#/b', (c) => c.unsubscribe('ok/#/b'), ERR_TOPIC],
  ['unsubscribe no filters', (c) => c.unsubscribe([]), ERR_ARG],
  ['unsubscribe filters undefined', (c) => c.unsubscribe(undefined as unknown as string), ERR_ARG],
];

// Wrong only because of the state.
const CONNECT_AGAIN: Call = ['connect() while connected', (c) => c.connect(), ERR_STATE];
const UNSUB_OFFLINE: Call = ['unsubscribe while offline', (c) => c.unsubscribe('ok/a'), ERR_STATE];

interface Seen { state: number; queued: number; out: number; errors: number; opens: number }
const seen = (o: Ours): Seen => ({ state: o.c.state, queued: o.c.queued, out: o.t.outPk.length, errors: o.errors.length, opens: o.t.opens });

/** One bad call: the exact named code, nothing thrown, and nothing changed (also a tick later). */
async function bad(o: Ours, [name, fn, want]: Call, later = true): Promise<void> {
  const before = seen(o);
  let r: number;
  try {
    r = fn(o.c);
  } catch (e) {
    throw new Error(`${name}: threw ${e}`);
  }
  assert.is(r, want, `${name}: returned ${r} (${codecErrorName(r)}), wanted ${codecErrorName(want)}`);
  assert.ok(r < 0 && /^ERR_[A-Z]/.test(codecErrorName(r)), `${name}: a named negative code`);
  assert.equal(seen(o), before, `${name}: state changed at once`);
  if (!later) return;
  // Only when nothing else is under way (acks of earlier messages also change what is seen).
  await tick();
  assert.equal(seen(o), before, `${name}: state changed a tick later`);
}

function withBroker(name: string, kind: 'aedes' | 'mosquitto', fn: (b: Broker) => Promise<void>, ms = 20000): void {
  if (kind === 'mosquitto' && !MOSQUITTO.bin) {
    console.log(`skipped: ${name}: ${MOSQUITTO.why}`);
    test.skip(name, () => {});
    return;
  }
  test(name, async () => {
    const b = kind === 'aedes' ? await startAedes() : await startMosquitto();
    try {
      await within(fn(b), ms, name);
    } finally {
      await within(b.stop(), 5000, 'broker stop');
    }
  });
}

const opts = { txSize: TX, outboxSize: OUTBOX, maxSubs: 4, maxPending: 2 };

withBroker('every bad call while connected: named code, nothing thrown or sent, state unchanged; then good calls work [aedes]', 'aedes', async (b) => {
  const o = new Ours(b, opts);
  const p = await mqttPeer(b);
  try {
    const topic = `ok/${o.id}`;
    await p.c.subscribeAsync('#', { qos: 2 });
    await o.connect();
    for (const c of [...BAD, CONNECT_AGAIN]) await bad(o, c);
    assert.is(o.t.countOut(PUBLISH), 0, 'no PUBLISH left');
    assert.is(o.t.countOut(SUBSCRIBE), 0, 'no SUBSCRIBE left');
    assert.equal(o.errors, []);
    // Every slot is still free (a bad subscribe took none): the table of 4 takes 4 filters.
    for (let i = 0; i < 4; i++) assert.equal(await o.sub(`s/${i}`, 1), [1]);
    await bad(o, ['subscribe a fifth filter', (c) => c.subscribe('s/4', 1), ERR_NO_SLOT]);
    // The outbox is intact: good messages go out in order and arrive once.
    for (const q of [0, 1, 2]) assert.is(o.c.publish(topic, `good-${q}`, q, false), 0);
    await waitFor(() => p.msgs.length >= 3 && o.c.queued === 0, 5000, 'the good messages');
    await sleep(50);
    assert.equal(p.msgs.map((m) => `${m.topic} ${m.payload} ${m.qos}`), [0, 1, 2].map((q) => `${topic} good-${q} ${q}`), 'exactly the good messages');
    assert.is(o.c.state, CONNECTED);
  } finally {
    o.dispose();
    await within(p.c.endAsync(true), 3000, 'peer end').catch(() => {});
  }
});

withBroker('wrong state and bad options while offline: named code at connect(), no attempt, no retry loop [aedes]', 'aedes', async (b) => {
  const cases: [string, Partial<ConstructorParameters<typeof MqttClient>[2]>, number][] = [
    ['client id too long for the transmit buffer', { clientId: 'c'.repeat(TX) }, ERR_TX_FULL],
    ['client id with U+0000', { clientId: 'dev\u0000ice' }, ERR_UTF8],
    ['client id with a lone surrogate', { clientId: 'dev\ud800' }, ERR_UTF8],
    ['keepalive 65,536', { keepalive: 65536 }, ERR_ARG],
    ['keepalive 1.5', { keepalive: 1.5 }, ERR_ARG],
    ['password without user name', { password: 'pw' }, ERR_ARG],
    ['will topic with a wildcard', { will: { topic: 'ok/#', payload: 'x' } }, ERR_TOPIC],
    ['will QoS 3', { will: { topic: 'ok/w', payload: 'x', qos: 3 } }, ERR_QOS],
    ['empty client id with clean false', { clientId: '', clean: false }, ERR_ARG],
  ];
  const all: Ours[] = [];
  try {
    for (const [name, o, want] of cases) {
      const c = new Ours(b, { ...opts, ...o });
      all.push(c);
      await bad(c, [`connect(): ${name}`, (x) => x.connect(), want]);
      await bad(c, UNSUB_OFFLINE);
    }
    await sleep(200);
    for (const c of all) {
      assert.is(c.t.opens, 0, 'never opened a connection');
      assert.equal(c.errors, []);
      assert.is(c.c.state, OFFLINE);
    }
    // Offline and before connect(): the same argument errors, and the wrong-state ones.
    const o = new Ours(b, opts);
    all.push(o);
    for (const c of BAD) await bad(o, c);
    const q0 = new Ours(b, { ...opts, queueQos0: false });
    all.push(q0);
    await bad(q0, ['QoS 0 publish offline with queueQos0 false', (c) => c.publish('ok/t', 'p', 0), ERR_OFFLINE]);
    await bad(o, UNSUB_OFFLINE);
    // While opening: connect() again is refused and changes nothing.
    assert.is(o.c.connect(), 0);
    await bad(o, ['connect() while opening', (c) => c.connect(), ERR_STATE], false);
    await waitFor(() => o.connects.length, 5000, 'connected');
    // A full outbox refuses by name and keeps what it holds.
    const fill = new Ours(b, { ...opts, clientId: uid('fill') });
    all.push(fill);
    let n = 0;
    while (fill.c.publish('ok/fill', 'x'.repeat(100), 1) === 0) n++;
    await bad(fill, ['publish into a full outbox', (c) => c.publish('ok/fill', 'x'.repeat(100), 1), ERR_OUTBOX_FULL]);
    assert.is(fill.c.queued, n);
  } finally {
    for (const c of all) c.dispose();
  }
});

withBroker('the whole subscription table must fit one SUBSCRIBE (it is resent as one after a reconnect without session) [aedes]', 'aedes', async (b) => {
  const o = new Ours(b, { ...opts, txSize: 128, maxSubs: 8 });
  const p = await mqttPeer(b);
  try {
    await o.connect();
    const f = (i: number) => `ok/${i}/${'f'.repeat(24)}`; // 3 + 29 bytes in a SUBSCRIBE each
    for (let i = 0; i < 3; i++) assert.equal(await o.sub(f(i), 1), [1]);
    // 2 + 4 x 32 = 130 bytes of remaining length: the fourth cannot join the table.
    await bad(o, ['a fourth subscription the resubscribe could not carry', (c) => c.subscribe(f(3), 1), ERR_TX_FULL]);
    // Replacing a filter already in the table is fine.
    assert.equal(await o.sub(f(2), 2), [2]);
    o.t.cut();
    await waitFor(() => o.connects.length >= 2 && o.t.countOut(SUBSCRIBE) >= 5, 5000, 'reconnect and resubscribe');
    await sleep(50);
    assert.equal(o.errors.map((e) => e.name), ['ERR_CONNECTION'], 'only the cut');
    await p.c.publishAsync(`ok/0/${'f'.repeat(24)}`, 'after', { qos: 1 });
    await waitFor(() => o.msgs.length, 5000, 'a message on a resubscribed filter');
  } finally {
    o.dispose();
    await within(p.c.endAsync(true), 3000, 'peer end').catch(() => {});
  }
});

// ---------------------------------------------------------------- the property test

const SEED = process.env.APP_INPUT_SEED ? Number(process.env.APP_INPUT_SEED) : (Date.now() ^ (process.pid << 8)) >>> 0;
const STEPS = 400;

async function property(b: Broker, seed: number): Promise<void> {
  const r = rng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  const run = uid('prop');
  const o = new Ours(b, { ...opts, clientId: run });
  const p: Peer = await mqttPeer(b);
  const expected: string[][] = [[], [], []];
  let goodSubs = 0;
  let goodCount = 0;
  let badCount = 0;
  try {
    await p.c.subscribeAsync(`p/${run}/#`, { qos: 2 });
    await o.connect();
    for (let step = 0; step < STEPS; step++) {
      const x = r();
      if (x < 0.35) {
        // A good publish; a full outbox is a named, expected refusal: wait for room, try again.
        const q = Math.floor(r() * 3);
        const payload = `${step}`;
        let rc = o.c.publish(`p/${run}/q${q}`, payload, q, false);
        if (rc === ERR_OUTBOX_FULL) {
          // Offline (after an end() step) nothing drains until the next connection.
          if (o.c.state === OFFLINE) await o.connect();
          await waitFor(() => o.c.queued === 0, 5000, 'the outbox to drain');
          rc = o.c.publish(`p/${run}/q${q}`, payload, q, false);
        }
        assert.is(rc, 0, `step ${step}: good publish returned ${codecErrorName(rc)}`);
        expected[q].push(payload);
        goodCount++;
      } else if (x < 0.85) {
        const c = pick(o.c.state === CONNECTED ? [...BAD, CONNECT_AGAIN] : [...BAD, UNSUB_OFFLINE]);
        await bad(o, c, false);
        badCount++;
      } else if (x < 0.9 && o.c.state === CONNECTED) {
        // A good subscribe and unsubscribe on a topic nobody publishes to.
        const f = `z/${run}/${goodSubs++}`;
        let codes: number[] | null = null;
        assert.is(o.c.subscribe(f, 1, null, (k) => (codes = k)), 0);
        await waitFor(() => codes, 5000, 'SUBACK');
        assert.equal(codes, [1]);
        let done = false;
        assert.is(o.c.unsubscribe(f, () => (done = true)), 0);
        await waitFor(() => done, 5000, 'UNSUBACK');
      } else if (x < 0.93 && o.c.state === CONNECTED) {
        // Offline for a while: settle first (a clean session would send unacknowledged messages
        // again as new ones), then end(); good and bad calls continue offline.
        await waitFor(() => o.c.queued === 0, 5000, 'settled before end()');
        o.c.end();
      } else if (x < 0.97 && o.c.state === OFFLINE) {
        await o.connect();
      } else await tick();
    }
    if (o.c.state === OFFLINE) await o.connect();
    await waitFor(() => o.c.queued === 0, 10000, 'all acknowledged');
    const want = expected[0].length + expected[1].length + expected[2].length;
    await waitFor(() => p.msgs.length >= want, 10000, () => `${want} messages at the subscriber (got ${p.msgs.length})`);
    await sleep(100);
    // Per QoS level, as the broker orders each level on its own: exactly these, in order, once.
    for (const q of [0, 1, 2]) {
      const got = p.msgs.filter((m) => m.topic === `p/${run}/q${q}`).map((m) => m.payload);
      assert.equal(got, expected[q], `QoS ${q} messages at the subscriber`);
    }
    assert.is(p.msgs.length, want, 'nothing else arrived');
    assert.ok(p.msgs.every((m) => !m.dup), 'no redelivery');
    assert.is(o.t.countOut(PUBLISH), want, 'on the wire: one PUBLISH per good message, nothing else');
    assert.equal(o.errors, [], 'no error reported');
    console.log(`  seed ${seed}: ${STEPS} steps, ${goodCount} good publishes, ${badCount} bad calls, ${goodSubs} subscribe/unsubscribe pairs, ${o.t.opens} connections`);
  } catch (e) {
    console.log(`  FAILED with seed ${seed}: replay with APP_INPUT_SEED=${seed}`);
    throw e;
  } finally {
    o.dispose();
    await within(p.c.endAsync(true), 3000, 'peer end').catch(() => {});
  }
}

withBroker(`property: random bad calls among good ones leave the stream intact (seed ${SEED}) [aedes]`, 'aedes', (b) => property(b, SEED), 40000);
withBroker(`property: random bad calls among good ones leave the stream intact (seed ${SEED + 1}) [mosquitto]`, 'mosquitto', (b) => property(b, SEED + 1), 40000);

test.run();
