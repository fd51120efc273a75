// Refusals from real brokers (mosquitto with password_file / acl_file, Aedes with authenticate /
// authorizeSubscribe hooks): a refused filter in a SUBACK, a refused CONNECT with its named
// error, no password in any message, and a reconnect backoff that grows instead of storming.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CONNACK, PUBLISH, SUBACK, ERR_SUBSCRIBE_REFUSED, codecErrorName } from '../src/index.ts';
import type { AedesStartOptions } from './helpers/brokers.ts';
import { both, waitFor, sleep, copyMsg, type OurMsg } from './helpers/brokers.ts';

const GOOD_PW = 'right-Pw-7Q4k';
const BAD_PW = 'wrong-Pw-Z9x2';

// Aedes: refuse every filter under secret/ (null subscription = 0x80 in SUBACK).
const refuseSecret: AedesStartOptions['authorizeSubscribe'] = (_client, sub, cb) =>
  cb(null, sub && sub.topic.startsWith('secret/') ? null : sub);

both(test, 'a refused filter gets 0x80 in SUBACK for that filter only (mosquitto 2.0.11: granted, filtered at delivery)', async (ctx) => {
  const o = ctx.ours();
  await o.connect();
  const got: OurMsg[] = [];
  const codes = await o.sub(['ok/a', 'secret/b', 'ok/c'], [1, 1, 2], (v) => got.push(copyMsg(v)));
  const suback = o.t.inPk.filter((k) => k.type === SUBACK);
  assert.is(suback.length, 1);
  assert.equal([...suback[0].bytes.subarray(4)], codes, 'codes as on the wire, in filter order');
  // A writer allowed everywhere (mosquitto: user "writer" in the ACL; Aedes checks no publisher).
  const p = await ctx.peer({ username: 'writer', password: GOOD_PW });
  if (ctx.broker.kind === 'aedes') {
    assert.equal(codes, [1, 0x80, 2]);
    assert.is(o.errors.length, 1);
    assert.is(o.errors[0].code, ERR_SUBSCRIBE_REFUSED);
    assert.match(o.errors[0].message, 'secret/b');
  } else {
    // mosquitto 2.0.11 grants a filter its acl_file denies to an MQTT 3.1.1 client (checked
    // empirically, also with "topic deny") and enforces the ACL when delivering instead.
    assert.equal(codes, [1, 1, 2]);
    assert.equal(o.errors, []);
  }
  assert.is(o.c.state, 3, 'still connected');
  await p.c.publishAsync('secret/b', 'hidden', { qos: 1 });
  await p.c.publishAsync('ok/a', 'to-a', { qos: 1 });
  await p.c.publishAsync('ok/c', 'to-c', { qos: 1 });
  await waitFor(() => got.length >= 2, 5000, 'messages on the granted filters');
  assert.equal(got.map((m) => m.payload), ['to-a', 'to-c'], 'nothing from the refused filter');
  assert.is(o.t.countIn(PUBLISH, 'secret/b'), 0, 'the broker sent nothing on it');
  if (ctx.broker.kind === 'aedes') {
    // The refused filter's slot was freed: a full table (maxSubs 3) takes one more filter.
    const o2 = ctx.ours({ maxSubs: 3 });
    await o2.connect();
    assert.equal(await o2.sub(['ok/x', 'secret/y', 'ok/z'], 1), [1, 0x80, 1]);
    assert.equal(await o2.sub('ok/w', 1), [1], 'a slot was free again');
  }
}, {
  // Anonymous clients get the rules before the first "user" line.
  mosquitto: { users: { writer: GOOD_PW }, anonymous: true, acl: 'topic readwrite ok/#\n\nuser writer\ntopic readwrite #\n' },
  aedes: { authorizeSubscribe: refuseSecret },
});

// Aedes closes the connection when authorizeSubscribe fails with an error (mosquitto has no
// equivalent). The pending SUBSCRIBE goes again after each reconnect; once the broker stops
// refusing, it completes.
let failSubscribe = true;
both(test, 'a broker that closes the connection over a SUBSCRIBE: reconnects paced, subscription completes later', async (ctx) => {
  failSubscribe = true;
  const o = ctx.ours({ reconnectMin: 100 });
  await o.connect();
  const got: OurMsg[] = [];
  let codes: number[] | null = null;
  assert.is(o.c.subscribe(['ok/a', 'secret/b'], 1, (v) => got.push(copyMsg(v)), (c) => (codes = c)), 0);
  await waitFor(() => o.connects.length >= 4, 5000, 'a few reconnects');
  assert.ok(o.errors.every((e) => e.name === 'ERR_CONNECTION'));
  assert.is(codes, null, 'no SUBACK yet');
  // Every accepted CONNACK resets the backoff, so attempts come at reconnectMin (jittered to
  // 50..100 ms) for as long as the broker keeps closing: paced, but not growing.
  const gaps = o.t.openTimes.slice(1).map((t, i) => t - o.t.openTimes[i]);
  assert.ok(gaps.every((g) => g >= 45), `attempts at least reconnectMin/2 apart: ${gaps}`);
  failSubscribe = false;
  await waitFor(() => codes, 5000, 'the SUBACK once the broker accepts');
  assert.equal(codes, [1, 1]);
  const p = await ctx.peer();
  await p.c.publishAsync('ok/a', 'after', { qos: 1 });
  await waitFor(() => got.length >= 1, 5000, 'a message on the subscription');
  assert.is(got[0].payload, 'after');
}, {
  only: 'aedes',
  aedes: {
    authorizeSubscribe: (_client, sub, cb) => (failSubscribe && sub && sub.topic.startsWith('secret/') ? cb(new Error('no')) : cb(null, sub)),
  },
});

both(test, 'bad password: named refusal, no password in any message, backoff grows', async (ctx) => {
  // The right password connects (the broker is not refusing everything).
  const good = ctx.ours({ username: 'alice', password: GOOD_PW });
  assert.is(await good.connect(), false);
  good.c.end();

  const o = ctx.ours({ username: 'alice', password: BAD_PW, reconnectMin: 50, reconnectMax: 5000 });
  assert.is(o.c.connect(), 0);
  await waitFor(() => o.errors.length >= 1, 5000, 'the refusal');
  const connack = o.t.inPk.find((k) => k.type === CONNACK)!;
  const rc = connack.bytes[3];
  const want = rc === 4 ? 'ERR_REFUSED_CREDENTIALS' : rc === 5 ? 'ERR_REFUSED_AUTH' : `rc ${rc}`;
  assert.is(o.errors[0].name, want, `CONNACK return code ${rc}`);
  assert.is(codecErrorName(o.errors[0].code), want);
  assert.is(o.closes[0], o.errors[0].code);
  console.log(`  [${ctx.broker.kind}] bad password: CONNACK ${rc} -> ${want}`);

  // Watch the retries for at least 1.6 s and three attempts (a loaded machine may need longer for
  // three). With backoff doubling from 50 ms (jittered between half and all of it) about 6
  // attempts fit in 1.6 s, 7 with every wait at its minimum (25, 50, 100, 200, 400, 800 ms); a
  // retry storm at 50 ms would make ~40. We end() between attempts, after a refusal.
  const t0 = o.t.openTimes[0];
  await sleep(1600 - (Date.now() - t0));
  await waitFor(() => o.t.opens >= 3 && o.errors.length >= o.t.opens, 5000, 'three refused attempts');
  o.c.end();
  const times = o.t.openTimes.slice();
  const early = times.filter((t) => t - t0 <= 1600).length;
  assert.ok(times.length >= 3 && early <= 8, `${times.length} attempts, ${early} of them in 1.6 s`);
  // Lower bounds only (a loaded machine adds time, never removes it): the delay before attempt
  // i+1 is at least half of 50 * 2^i ms, so the gaps must grow at least that fast.
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  gaps.forEach((g, i) => assert.ok(g >= 25 * 2 ** i - 2, `gap ${i} is ${g} ms, below ${25 * 2 ** i}: ${gaps}`));
  assert.ok(o.c.attempts >= times.length - 1, 'attempts counts the refusals');
  assert.is(o.connects.length, 0);
  assert.is(o.errors.length, o.t.opens, 'one refusal per attempt');
  assert.ok(o.errors.every((e) => e.name === want));

  // The password text never appears in anything the client reported.
  const text = JSON.stringify([o.errors, good.errors, o.closes]);
  assert.not.match(text, BAD_PW);
  assert.not.match(text, GOOD_PW);
  const opens = o.t.opens;
  await sleep(150);
  assert.is(o.t.opens, opens, 'no attempt after end()');
}, {
  mosquitto: { users: { alice: GOOD_PW } },
  aedes: {
    authenticate: (_client, user, pw, cb) => {
      if (user === 'alice' && pw && pw.toString() === GOOD_PW) return cb(null, true);
      const e = Object.assign(new Error('bad user name or password'), { returnCode: 4 as const });
      cb(e, null);
    },
  },
});

test.run();
