// Hostile and odd servers, played by the scriptable fake broker (host-sim/fake-broker.ts) over
// loopback TCP, against our client over NodeTransport: no CONNACK, every refusal code, every
// class of malformed packet, acks for unknown ids, duplicate PUBREL, oversized PUBLISH at each
// QoS. Each case: the named error through onError and onClose, a clean close, a reconnect paced
// by backoff, never an exception, never a hang.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, CONNECT, SUBSCRIBE, ERR_TOO_LARGE, ERR_CONNECT_TIMEOUT,
  codecErrorName,
} from '../src/index.ts';
import {
  startFakeBroker, scripts, pk, rawPublish, MALFORMED, REFUSALS, type FakeBroker, type Script, type Session,
} from '../host-sim/fake-broker.ts';
import { Ours, waitFor, sleep, type Broker } from './helpers/brokers.ts';
import type { ClientOptions } from '../src/index.ts';

/** Everything a case opened, closed whatever happens. */
const open: { b: FakeBroker[]; o: Ours[] } = { b: [], o: [] };
test.after.each(async () => {
  for (const o of open.o) o.dispose();
  await Promise.all(open.b.map((b) => b.stop()));
  open.b = [];
  open.o = [];
});

async function broker(script: Script | ((k: number) => Script)): Promise<FakeBroker> {
  const b = await startFakeBroker(script);
  open.b.push(b);
  return b;
}

function ours(b: FakeBroker, o: Partial<ClientOptions> = {}): Ours {
  const c = new Ours(b as unknown as Broker, { reconnectMin: 20, reconnectMax: 200, ...o });
  open.o.push(c);
  return c;
}

/** The first connection runs `first`, every later one is a plain broker. */
const thenPlain = (first: Script) => (k: number) => (k === 0 ? first : scripts.plain());

test('no CONNACK: ERR_CONNECT_TIMEOUT, close, reconnect, and CONNECTED once the broker answers', async () => {
  const b = await broker((k) => (k < 2 ? scripts.noConnack() : scripts.plain()));
  const o = ours(b, { connectTimeout: 200 });
  await o.connect(5000);
  assert.equal(o.errors.map((e) => e.name), ['ERR_CONNECT_TIMEOUT', 'ERR_CONNECT_TIMEOUT']);
  assert.equal(o.closes, [ERR_CONNECT_TIMEOUT, ERR_CONNECT_TIMEOUT]);
  assert.is(b.sessions.length, 3);
  // Each silent connection got a CONNECT and was then left by the client, not kept open.
  for (const s of b.sessions.slice(0, 2)) {
    assert.is(s.count(CONNECT), 1);
    await waitFor(() => s.closed, 3000, 'the client to close the silent connection');
  }
  // Measured at the client (the server's accept time lags under load): timeout plus backoff.
  const gap = o.t.openTimes[1] - o.t.openTimes[0];
  assert.ok(gap >= 199, `the timeout ran before the retry: ${gap} ms`);
});

test('every CONNACK refusal (1..5): its named error, onClose with it, backoff grows (no storm), then CONNECTED', async () => {
  // All five at once, each on its own fake broker that refuses for at least 1.2 s and at least
  // three attempts (a loaded machine may need longer for three), then accepts.
  await Promise.all(REFUSALS.map(async ([rc, name]) => {
    let refusing = true;
    const b = await broker(() => (refusing ? scripts.refuse(rc) : scripts.plain()));
    const o = ours(b, { reconnectMin: 40, reconnectMax: 400 });
    assert.is(o.c.connect(), 0);
    await sleep(1200);
    await waitFor(() => b.sessions.length >= 3, 5000, `rc ${rc}: three attempts`);
    refusing = false;
    const n = b.sessions.length;
    // Client-side open times (the server's accept times lag under load). Retry i waits at least
    // half of min(40 * 2^i, 400) ms (jitter 50..100 %; timers never fire early, a loaded machine
    // only lengthens the gaps), so the gaps must grow at least that fast.
    const opens = o.t.openTimes.slice(0, n);
    const gaps = opens.slice(1).map((t, i) => t - opens[i]);
    assert.ok(gaps.every((g, i) => g >= Math.min(40 * 2 ** i, 400) / 2 - 2), `rc ${rc}: gaps follow the backoff: ${gaps}`);
    // No storm, counted: those minimum waits (20, 40, 80, 160, then 200 ms) fit at most 9 opens
    // in the first 1.2 s, about 6 with average jitter; a storm at reconnectMin would make 30-60.
    const early = o.t.openTimes.filter((t) => t - o.t.openTimes[0] <= 1200).length;
    assert.ok(early <= 9, `rc ${rc}: ${early} attempts in 1.2 s`);
    assert.ok(o.errors.length >= n - 1 && o.errors.every((e) => e.name === name), `rc ${rc}: ${o.errors.map((e) => e.name)}`);
    assert.is(codecErrorName(o.errors[0].code), name);
    assert.equal(o.closes.slice(0, n - 1), new Array(n - 1).fill(o.errors[0].code));
    assert.is(o.connects.length, 0);
    await waitFor(() => o.connects.length === 1, 5000, `rc ${rc}: CONNECTED once the broker accepts`);
  }));
});

test('malformed packets of every class: the named error, close, reconnect to CONNECTED', async () => {
  // One fake broker per case, all at once; connection 0 misbehaves, connection 1 is plain.
  const results = await Promise.all(MALFORMED.map(async (m) => {
    const b = await broker(thenPlain(m.when === 'connack' ? scripts.instead(m.bytes) : scripts.after(m.bytes)));
    const o = ours(b, { rxSize: 64, connectTimeout: 3000 });
    assert.is(o.c.connect(), 0);
    const want = m.when === 'connack' ? 1 : 2;
    await waitFor(() => o.connects.length >= want, 4000, () => `${m.name}: reconnect (errors ${o.errors.map((e) => e.name)})`);
    return { m, o, b };
  }));
  for (const { m, o, b } of results) {
    const name = codecErrorName(m.code);
    assert.equal(o.errors.map((e) => e.name), [name], m.name);
    assert.ok(o.errors[0].message.startsWith(name), m.name);
    assert.equal(o.closes, [m.code], `${m.name}: onClose with the same code`);
    assert.is(b.sessions.length, 2, `${m.name}: exactly one reconnect`);
    assert.ok(b.sessions[0].closed, `${m.name}: the bad connection was closed`);
    assert.is(b.sessions[0].clientError, 0);
  }
  console.log(`  ${MALFORMED.length} malformed cases, ${new Set(MALFORMED.map((m) => m.code)).size} error classes`);
});

test('acks for unknown ids and for the wrong stage are ignored (PUBREC answered by PUBREL); our messages complete once', async () => {
  let s0: Session | null = null;
  const b = await broker({
    ready: (s) => {
      s0 = s;
      // Nothing is in flight yet: three acks for ids the client never used.
      s.send(pk.ack(PUBACK, 999));
      s.send(pk.ack(PUBREC, 998));
      s.send(pk.ack(PUBCOMP, 997));
    },
    packet: (s, g) => {
      if (g.type === PUBREL) return true; // PUBCOMP only when the test says so
      if (g.type !== PUBLISH) return false;
      if (g.qos === 1) {
        s.send(pk.ack(PUBACK, g.id + 100)); // someone else's id
        s.send(pk.ack(PUBCOMP, g.id)); // a QoS 2 stage for a QoS 1 message
        s.send(pk.ack(PUBREC, g.id)); // likewise
        s.send(pk.ack(PUBACK, g.id));
        s.send(pk.ack(PUBACK, g.id)); // twice
      } else {
        s.send(pk.ack(PUBCOMP, g.id)); // PUBCOMP before PUBREC
        s.send(pk.ack(PUBACK, g.id)); // a QoS 1 ack for a QoS 2 message
        s.send(pk.ack(PUBREC, g.id));
        s.send(pk.ack(PUBREC, g.id)); // a repeated PUBREC: PUBREL again
      }
      return true;
    },
  });
  const o = ours(b);
  await o.connect();
  await waitFor(() => s0!.count(PUBREL, 998) === 1, 3000, 'PUBREL for the unknown PUBREC');
  assert.is(o.c.publish('q/1', 'one', 1), 0);
  assert.is(o.c.publish('q/2', 'two', 2), 0);
  await waitFor(() => s0!.count(PUBREL) === 3, 3000, 'PUBREL for both PUBRECs of our QoS 2 message');
  assert.is(o.c.queued, 1, 'QoS 1 done; QoS 2 waits for its PUBCOMP');
  const id2 = s0!.got.find((g) => g.type === PUBLISH && g.qos === 2)!.id;
  s0!.send(pk.ack(PUBCOMP, id2));
  s0!.send(pk.ack(PUBCOMP, id2)); // a repeated PUBCOMP
  await o.settled(3000);
  assert.is(s0!.count(PUBLISH), 2, 'each message sent once, no resend');
  assert.equal(o.errors, []);
  assert.is(o.connects.length, 1);
  assert.is(o.c.state, 3);
  // The outbox still works afterwards.
  assert.is(o.c.publish('q/3', 'three', 2), 0);
  await waitFor(() => s0!.count(PUBLISH) === 3, 3000, 'the next message');
  const id3 = s0!.got[s0!.got.length - 1].id;
  s0!.send(pk.ack(PUBCOMP, id3));
  await o.settled(3000);
  assert.equal(o.errors, []);
});

test('duplicate PUBREL, PUBREL for an unknown id, a redelivered QoS 2 PUBLISH: PUBCOMP every time, delivered exactly once', async () => {
  let s0: Session | null = null;
  let recs = 0;
  const b = await broker({
    ready: (s) => {
      s0 = s;
      s.send(pk.publish('x/2', 'm1', 2, 7));
      s.send(pk.publish('x/2', 'm1', 2, 7, true)); // redelivered before PUBREL: not delivered again
    },
    packet: (s, g) => {
      if (g.type === PUBREC) {
        if (++recs === 2) {
          s.send(pk.ack(PUBREL, 7));
          s.send(pk.ack(PUBREL, 7)); // duplicate
          s.send(pk.ack(PUBREL, 4242)); // never seen
          s.send(pk.publish('x/2', 'm2', 2, 7)); // id 7 reused for a new message
        } else if (recs === 3) s.send(pk.ack(PUBREL, 7));
        return true;
      }
      return g.type === PUBCOMP;
    },
  });
  const o = ours(b);
  await o.connect();
  await waitFor(() => s0 && s0.count(PUBCOMP) === 4, 3000, 'four PUBCOMPs');
  assert.equal(o.msgs.map((m) => m.payload), ['m1', 'm2']);
  assert.is(s0!.count(PUBREC, 7), 3, 'PUBREC for m1, its redelivery, and m2');
  assert.is(s0!.count(PUBCOMP, 7), 3);
  assert.is(s0!.count(PUBCOMP, 4242), 1);
  assert.equal(o.errors, []);
  assert.is(o.c.state, 3);
});

for (const qos of [0, 1, 2]) {
  test(`a QoS ${qos} PUBLISH larger than the receive buffer: ERR_TOO_LARGE once, acknowledged, session goes on`, async () => {
    let s0: Session | null = null;
    const big = rawPublish('big/one', qos, 77, 500);
    const b = await broker({
      ready: (s) => {
        s0 = s;
        s.send(big);
        s.send(pk.publish('small', 'after', qos, 78));
      },
    });
    const o = ours(b, { rxSize: 64 });
    await o.connect();
    await waitFor(() => o.msgs.length === 1, 3000, 'the message after the big one');
    await sleep(50);
    assert.equal(o.msgs.map((m) => m.payload), ['after']);
    assert.equal(o.errors.map((e) => e.code), [ERR_TOO_LARGE]);
    assert.match(o.errors[0].message, `${big.length} bytes`);
    if (qos === 1) assert.equal(s0!.got.filter((g) => g.type === PUBACK).map((g) => g.id), [77, 78]);
    if (qos === 2) {
      assert.equal(s0!.got.filter((g) => g.type === PUBREC).map((g) => g.id), [77, 78]);
      await waitFor(() => s0!.count(PUBCOMP) === 2, 3000, 'PUBCOMP for both');
    }
    if (qos === 0) assert.is(s0!.got.filter((g) => g.type !== CONNECT).length, 0, 'nothing to acknowledge');
    assert.equal(o.closes, []);
    assert.is(o.connects.length, 1);
  });
}

test('an oversized QoS 1 and QoS 2 PUBLISH whose topic alone overflows the buffer: still acknowledged with its id', async () => {
  let s0: Session | null = null;
  const long = 'long/' + 't'.repeat(120);
  const b = await broker({
    ready: (s) => {
      s0 = s;
      s.send(rawPublish(long, 1, 301, 10));
      s.send(rawPublish(long, 2, 302, 10));
      s.send(pk.publish('small', 'after', 1, 303));
    },
  });
  const o = ours(b, { rxSize: 64 });
  await o.connect();
  await waitFor(() => o.msgs.length === 1, 3000, 'the message after');
  await waitFor(() => s0!.count(PUBCOMP) === 1, 3000, 'PUBCOMP for the QoS 2 one');
  assert.equal(s0!.got.filter((g) => g.type === PUBACK).map((g) => g.id), [301, 303]);
  assert.equal(s0!.got.filter((g) => g.type === PUBREC).map((g) => g.id), [302]);
  assert.equal(o.errors.map((e) => e.code), [ERR_TOO_LARGE, ERR_TOO_LARGE]);
  assert.equal(o.closes, []);
});

test('a broker that redelivers an unacknowledged oversized message on every reconnect: reported and acknowledged once, no loop', async () => {
  // Plays a persistent session: the big QoS 1 message stays queued until PUBACK, and is sent
  // again (DUP) after each CONNACK with the session present.
  let acked = false;
  let deliveries = 0;
  const b = await broker(() => ({
    connect: (s) => {
      s.send(pk.connack(true, 0));
      if (!acked) {
        deliveries++;
        s.send(rawPublish('big', 1, 55, 300, deliveries > 1));
      }
      s.send(pk.publish('seq', String(s.index), 1, 56));
    },
    packet: (_s, g) => {
      if (g.type === PUBACK && g.id === 55) acked = true;
      return false;
    },
  }));
  const o = ours(b, { rxSize: 64, clean: false, clientId: 'persist-1' });
  await o.connect();
  for (let k = 1; k <= 3; k++) {
    await waitFor(() => o.msgs.length === k, 3000, `message ${k}`);
    o.t.cut();
    await waitFor(() => o.connects.length === k + 1, 3000, `reconnect ${k}`);
  }
  await waitFor(() => o.msgs.length === 4, 3000, 'message 4');
  assert.is(deliveries, 1, 'the big message was delivered once');
  assert.is(o.errors.filter((e) => e.code === ERR_TOO_LARGE).length, 1);
  assert.equal(o.msgs.map((m) => m.payload), ['0', '1', '2', '3']);
  assert.is(b.sessions[0].count(SUBSCRIBE), 0);
});

test.run();
