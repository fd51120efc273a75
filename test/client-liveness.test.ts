// Liveness against real mosquitto: (a) keepalive notices a link dead only towards us while we
// keep publishing QoS 0 (the fault proxy stalls broker -> client); (b) a QoS 2 backlog larger
// than the inbound table (mosquitto sends its backlog ahead of the PUBRELs) is flow control:
// DISCONNECT (no will), reconnect after reconnectMin without growing backoff, exactly once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FaultProxy } from '../host-sim/fault-proxy.ts';
import {
  MOSQUITTO, Ours, mqttPeer, peerPublishAll, seq, nums, seqProblems, startMosquitto, uid, waitFor, within,
  type Broker,
} from './helpers/brokers.ts';

function withMosquitto(name: string, ms: number, fn: (b: Broker) => Promise<void>): void {
  if (!MOSQUITTO.bin) {
    console.log(`skipped: ${name}: ${MOSQUITTO.why}`);
    test.skip(name, () => {});
    return;
  }
  test(name, async () => {
    const b = await startMosquitto();
    try {
      await within(fn(b), ms, name);
    } finally {
      await within(b.stop(), 5000, 'broker stop');
    }
  });
}

withMosquitto('keepalive: a QoS 0 publisher over a link dead towards it gets ERR_PING_TIMEOUT and reconnects', 15000, async (b) => {
  const proxy = await FaultProxy.create(0, '127.0.0.1', b.port);
  const me = new Ours({ ...b, port: proxy.port }, { keepalive: 2, reconnectMin: 50, reconnectMax: 200 });
  let timer: ReturnType<typeof setInterval> | null = null;
  try {
    await me.connect();
    const topic = uid('ka');
    let i = 0;
    timer = setInterval(() => me.c.publish(topic, String(i++), 0), 100);
    // Publishing runs fine for a while: PINGRESPs arrive, nothing fails.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(me.errors.map((e) => e.name), [], 'no error while the link works');
    const t0 = Date.now();
    proxy.stall('down');
    await waitFor(() => me.errors.some((e) => e.name === 'ERR_PING_TIMEOUT'), 8000,
      () => `ERR_PING_TIMEOUT (errors: ${me.errors.map((e) => e.name).join(', ') || 'none'}, published ${i})`);
    const took = Date.now() - t0;
    // The stall only applies to the connection open at the time: the new one flows.
    await waitFor(() => me.connects.length >= 2, 5000, 'reconnect');
    console.log(`  broker -> client stalled: ERR_PING_TIMEOUT after ${took} ms with keepalive 2 s, ${i} QoS 0 publishes sent meanwhile`);
    // At most a PINGREQ half a keepalive after the stall, and the next tick fails: 2 ticks of 1 s
    // (lower bound only matters for the claim "it came from the keepalive", not a timing test).
    assert.ok(took >= 900, `failed after ${took} ms: too early for the keepalive`);
    assert.ok(me.t.outPk.some((p) => p.type === 12), 'a PINGREQ was sent');
  } finally {
    if (timer) clearInterval(timer);
    me.dispose();
    await proxy.close();
  }
});

withMosquitto('QoS 2 backlog beyond maxInboundQos2: DISCONNECT (no will), quick reconnects without backoff growth, exactly once', 40000, async (b) => {
  const N = 300;
  const topic = uid('backlog');
  const willTopic = uid('will');
  const watcher = await mqttPeer(b);
  await watcher.c.subscribeAsync(willTopic, { qos: 1 });
  const id = uid('sub');
  const opts = {
    clientId: id, clean: false, maxInboundQos2: 8, reconnectMin: 100, reconnectMax: 60000,
    will: { topic: willTopic, payload: 'offline', qos: 1 as const, retain: false },
  };
  const me = new Ours(b, opts);
  const pub = await mqttPeer(b);
  try {
    // The session with its subscription, then offline while the backlog builds at the broker.
    await me.connect();
    assert.equal(await me.sub(topic, 2), [2]);
    me.c.end();
    await peerPublishAll(pub, topic, seq(N), 2);
    const t0 = Date.now();
    const me2 = new Ours(b, opts);
    try {
      assert.ok(await me2.connect(), 'session present');
      await waitFor(() => new Set(nums(me2.on(topic))).size >= N, 30000,
        () => `the backlog (got ${new Set(nums(me2.on(topic))).size}, reconnects ${me2.connects.length - 1})`);
      const took = Date.now() - t0;
      await new Promise((r) => setTimeout(r, 300));
      const full = me2.errors.filter((e) => e.name === 'ERR_INBOUND_FULL').length;
      const gaps = me2.t.openTimes.slice(1).map((t, k) => t - me2.t.openTimes[k]);
      console.log(`  backlog of ${N} QoS 2, table of 8: ${took} ms, ${full} x ERR_INBOUND_FULL, ${me2.connects.length - 1} reconnects, longest gap between opens ${Math.max(0, ...gaps)} ms`);
      assert.ok(full >= 3, `the table did overflow (${full})`);
      assert.equal(me2.errors.filter((e) => e.name !== 'ERR_INBOUND_FULL').map((e) => e.message), [], 'no other error');
      assert.is(seqProblems(nums(me2.on(topic)), N), '', 'exactly once, in order');
      // Every overflow ended with our DISCONNECT: the broker never published the will.
      const disconnects = me2.t.outPk.filter((p) => p.type === 14).length;
      assert.ok(disconnects >= full, `${disconnects} DISCONNECT for ${full} overflows`);
      assert.equal(watcher.on(willTopic).map((m) => m.payload), [], 'no will published');
      // Flow control, not failure: the backoff never grew (with its doubling, 20 overflows alone
      // would have waited 100 ms * (2^20 - 1) / 2 on average, capped at 60 s each).
      // attempts counts every backoff doubling and is only cleared by a connection that stays up
      // for half the keepalive (15 s), so a doubling during the backlog would still show here. No
      // bound on elapsed time: load only slows the transfer (the wait above caps it at 30 s).
      assert.is(me2.c.attempts, 0, 'attempts not counted');
    } finally {
      me2.dispose();
    }
  } finally {
    me.dispose();
    await pub.c.endAsync();
    await watcher.c.endAsync();
  }
});

test.run();
