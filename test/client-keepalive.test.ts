// Keepalive against a broker that stops answering without closing anything: mosquitto is
// SIGSTOPped; Aedes (in this process) sits behind the fault proxy, frozen. The client
// must notice by itself (ERR_PING_TIMEOUT) and reconnect once the broker is back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PINGREQ, PINGRESP, ERR_PING_TIMEOUT, CONNECTED } from '../src/index.ts';
import { both, waitFor, sleep, uid, copyMsg, type OurMsg } from './helpers/brokers.ts';

both(test, 'keepalive: a frozen broker gives ERR_PING_TIMEOUT, then the client reconnects', async (ctx) => {
  const o = ctx.ours({ keepalive: 1, connectTimeout: 1500 });
  await o.connect();
  // Idle for a while: PINGREQ every half keepalive, each answered.
  await waitFor(() => o.t.countIn(PINGRESP) >= 2, 4000, 'two PINGRESP while the broker is alive');
  assert.equal(o.errors, []);

  const t0 = Date.now();
  const pings = o.t.countOut(PINGREQ);
  ctx.broker.freeze();
  // One half-keepalive tick to send PINGREQ, the next to give up: 0.5..1.5 s after freezing when
  // the machine is idle. The wait allows 5x that (a loaded CI machine only delays timers); the
  // socket never closes, so without the keepalive check the error would never come at all.
  await waitFor(() => o.errors.some((e) => e.code === ERR_PING_TIMEOUT), 7500, 'ERR_PING_TIMEOUT');
  const took = Date.now() - t0;
  assert.ok(o.t.countOut(PINGREQ) > pings, 'a PINGREQ after the freeze went unanswered');
  assert.is(o.closes[0], ERR_PING_TIMEOUT);
  console.log(`  [${ctx.broker.kind}] frozen broker detected after ${took} ms`);
  // Still frozen: new connection attempts get no CONNACK either (connectTimeout 1.5 s).
  await sleep(1600);
  assert.is(o.connects.length, 1, 'no connection while the broker is frozen');

  ctx.broker.thaw();
  await waitFor(() => o.connects.length >= 2 && o.c.state === CONNECTED, 10000,
    () => `reconnect after thaw (errors: ${o.errors.map((e) => e.name).join(', ')})`);
  // Working again.
  const T = uid('ka') + '/t';
  const got: OurMsg[] = [];
  await o.sub(T, 1, (v) => got.push(copyMsg(v)));
  const p = await ctx.peer();
  await p.c.publishAsync(T, 'back', { qos: 1 });
  await waitFor(() => got.length >= 1, 5000, 'a message after reconnecting');
  assert.is(got[0].payload, 'back');
}, { aedes: { freezable: true }, ms: 25000 });

test.run();
