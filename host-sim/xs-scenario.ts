// The end-to-end scenario test/xs-moddable.test.ts and test/xs-espruino.test.ts run: a device
// bundle on the real XS engine (host-sim/xs-bridge.ts), mosquitto on loopback, an MQTT.js peer.
// The app code runs INSIDE XS (appScript below) and reports to Node with report({...}).
// Test-only code: allocates freely.
import { XsBridge, ensureBundles, xsnapAvailable, type Flavor, type XsBridgeOptions } from './xs-bridge.ts';
import { ERR_INBOUND_FULL } from '../src/client-errors.ts';
import * as assert from 'uvu/assert';
import type { Test } from 'uvu';
import {
  MOSQUITTO, startMosquitto, mqttPeer, peerPublishAll, within, uid, sleep, type Broker, type Peer,
} from '../test/helpers/brokers.ts';

export interface ScenarioOptions {
  flavor: Flavor;
  /** Expression (inside XS, `M` is the bundle) creating the transport. */
  transport: string;
  /** Expression for the clock. */
  clock: string;
  /** Broker host as the app names it (a name exercises the runtime's resolver). */
  host: string;
  bridge?: Partial<XsBridgeOptions>;
  /** Extra tests run on the same bridge and broker after the main scenario. */
  extra?: (test: Test, s: State) => void;
}

export interface State {
  broker: Broker;
  peer: Peer;
  bridge: XsBridge;
  /** Topic prefix unique to this run. */
  pfx: string;
  id: string;
  /** Raw payloads the peer received, per topic. */
  raw: Map<string, Buffer[]>;
}

type Msg = { t: string; topic: string; payload: string; len: number; qos: number; retain: boolean; dup: boolean };

const QOS = [0, 1, 2] as const;
const N = 5;
/** Larger than an Espruino chunk (536), a Moddable read chunk (1460) and the ECMA-419 write room (1024). */
const BIG = 2000;

/**
 * The app, as it would run on the device: ES5 so the same text suits Espruino. It creates the client
 * over the bundle's transport and clock, exposes `app` for the test's later steps, and reports.
 */
export function appScript(o: {
  transport: string; clock: string; host: string; port: number; id: string; will: string; name?: string; clean?: boolean; keepalive?: number;
  /** More client options, as object-literal text (e.g. 'maxInboundQos2: 2'). */
  more?: string;
}): string {
  const name = o.name || 'app';
  return `
(function () {
  var M = __mq;
  var c = new M.MqttClient(${o.transport}, ${o.clock}, {
    host: ${JSON.stringify(o.host)}, port: ${o.port}, clientId: ${JSON.stringify(o.id)},
    clean: ${o.clean ? 'true' : 'false'}, keepalive: ${o.keepalive ?? 30}, reconnectMin: 100, reconnectMax: 400,
    connectTimeout: 3000, rxSize: 4096, outboxSize: 8192,${o.more ? ` ${o.more},` : ''}
    will: { topic: ${JSON.stringify(o.will)}, payload: 'xs-gone', qos: 1, retain: false }
  });
  var tag = ${JSON.stringify(name)};
  function text(v, off, len) { return M.utf8Decode(v.buf, off, len); }
  function msg(t) {
    return function (v) {
      report({ t: t, topic: text(v, v.topicOff, v.topicLen), payload: v.payloadLen > 64 ? '' : text(v, v.payloadOff, v.payloadLen),
        len: v.payloadLen, qos: v.qos, retain: v.retain, dup: v.dup });
    };
  }
  c.onConnect = function (sp) { report({ t: tag + ':connect', sp: sp }); };
  c.onError = function (e) { report({ t: tag + ':error', code: e.code, message: e.message }); };
  c.onClose = function (r) { report({ t: tag + ':close', r: r }); };
  var seen = 0;
  c.onMessage = function () { seen++; };
  globalThis[tag] = {
    c: c,
    sub: function (filter, qos) {
      return c.subscribe(filter, qos, msg(tag + ':msg'), function (codes) { report({ t: tag + ':suback', filter: filter, codes: codes }); });
    },
    pub: function (topic, payload, qos) { return c.publish(topic, payload, qos, false); },
    big: function (n) { var u = new Uint8Array(n); for (var i = 0; i < n; i++) u[i] = i & 255; return u; },
    seen: function () { return seen; }
  };
  report({ t: tag + ':connect()', r: c.connect() });
})();`;
}

function bigOk(b: Buffer | Uint8Array, n: number): boolean {
  if (b.length !== n) return false;
  for (let i = 0; i < n; i++) if (b[i] !== (i & 255)) return false;
  return true;
}

/** Registers the scenario's tests on `test` (uvu), sharing one broker, peer and bridge. */
export function registerScenario(test: Test, so: ScenarioOptions): void {
  const why = !MOSQUITTO.bin ? MOSQUITTO.why : '';
  if (why) {
    console.log(`skipped: XS ${so.flavor} scenario: ${why}`);
    test.skip(`XS ${so.flavor} scenario (${why})`, () => {});
    return;
  }
  const s = {} as State;
  const msgs = (t = 'app:msg') => s.bridge.reportsOf(t) as unknown as Msg[];
  const on = (topic: string) => msgs().filter((m) => m.topic === topic);
  const connects = () => s.bridge.reportsOf('app:connect') as { sp: boolean }[];

  test.before(async () => {
    const av = xsnapAvailable();
    if (!av.ok) throw new Error(av.why);
    ensureBundles();
    s.pfx = uid(`xs-${so.flavor}`);
    s.id = uid(`xs-${so.flavor}-dev`);
    s.raw = new Map();
    s.broker = await startMosquitto();
    s.peer = await mqttPeer(s.broker);
    s.peer.c.on('message', (topic, payload) => {
      if (!s.raw.has(topic)) s.raw.set(topic, []);
      s.raw.get(topic)!.push(Buffer.from(payload));
    });
    await s.peer.c.subscribeAsync([`${s.pfx}/up/#`, `${s.pfx}/will`], { qos: 2 });
    // XS_BRIDGE_TRACE=1 prints every command and event batch crossing the bridge.
    const trace = process.env.XS_BRIDGE_TRACE ? (l: string) => process.stderr.write(`[xs] ${l.length > 300 ? l.slice(0, 300) + '...' : l}\n`) : undefined;
    s.bridge = await XsBridge.start({ flavor: so.flavor, trace, ...so.bridge });
  });

  test.after(async () => {
    await within(s.bridge?.close() ?? Promise.resolve(), 5000, 'bridge close').catch((e) => console.log(`  ${e.message}`));
    await within(s.peer?.c.endAsync(true) ?? Promise.resolve(), 3000, 'peer end').catch(() => {});
    await within(s.broker?.stop() ?? Promise.resolve(), 5000, 'mosquitto stop').catch((e) => console.log(`  ${e.message}`));
  });

  test(`${so.flavor} bundle runs in XS: exports, and the runtime XS lacks is hidden`, async () => {
    const names = await s.bridge.exportNames();
    assert.ok(names.includes('MqttClient'), names.join());
    assert.ok(s.bridge.ready && s.bridge.ready.hidden > 0);
    assert.is(await s.bridge.value(`typeof TextEncoder`), 'undefined');
  });

  test('connects from XS (host resolved by the runtime), subscribes QoS 2', async () => {
    await s.bridge.run(appScript({
      transport: so.transport, clock: so.clock, host: so.host, port: s.broker.port, id: s.id, will: `${s.pfx}/will`,
    }));
    assert.equal(s.bridge.reportsOf('app:connect()'), [{ t: 'app:connect()', r: 0 }]);
    await s.bridge.waitFor(() => connects().length, 5000, 'onConnect in XS');
    assert.is(connects()[0].sp, false, 'a new session');
    assert.is(await s.bridge.value(`app.sub(${JSON.stringify(`${s.pfx}/down/#`)}, 2)`), 0);
    await s.bridge.waitFor(() => s.bridge.reportsOf('app:suback').length, 5000, 'SUBACK in XS');
    assert.equal(s.bridge.reportsOf('app:suback')[0].codes, [2]);
  });

  test('QoS 0/1/2 peer -> XS: every numbered message once, in order, at its QoS', async () => {
    for (const q of QOS) await peerPublishAll(s.peer, `${s.pfx}/down/q${q}`, Array.from({ length: N }, (_, i) => `q${q}-${i}`), q);
    await s.peer.c.publishAsync(`${s.pfx}/down/big`, Buffer.from(Uint8Array.from({ length: BIG }, (_, i) => i & 255)), { qos: 1 });
    await s.bridge.waitFor(() => msgs().length >= 3 * N + 1, 8000, () => `${3 * N + 1} messages in XS (got ${msgs().length})`);
    for (const q of QOS) {
      const got = on(`${s.pfx}/down/q${q}`);
      assert.equal(got.map((m) => m.payload), Array.from({ length: N }, (_, i) => `q${q}-${i}`), `QoS ${q} payloads`);
      assert.ok(got.every((m) => m.qos === q && !m.retain), `QoS ${q} flags`);
    }
    const big = on(`${s.pfx}/down/big`);
    assert.is(big.length, 1);
    assert.is(big[0].len, BIG);
    assert.is(await s.bridge.value(`app.seen()`), 3 * N + 1, 'onMessage saw each one too');
  });

  test('QoS 0/1/2 XS -> peer: text, binary and a payload larger than the socket write room', async () => {
    const rs = await s.bridge.value<number[]>(`(function () { var r = [];
      for (var q = 0; q < 3; q++) for (var i = 0; i < ${N}; i++) r.push(app.pub(${JSON.stringify(`${s.pfx}/up/q`)} + q, 'x' + q + '-' + i, q));
      r.push(app.pub(${JSON.stringify(`${s.pfx}/up/bin`)}, new Uint8Array([0, 1, 2, 128, 255]), 2));
      r.push(app.pub(${JSON.stringify(`${s.pfx}/up/big`)}, app.big(${BIG}), 1));
      return r; })()`);
    assert.equal(rs, Array(3 * N + 2).fill(0), 'publish() results');
    const up = (t: string) => s.peer.on(`${s.pfx}/up/${t}`);
    await s.bridge.waitFor(() => QOS.every((q) => up(`q${q}`).length >= N) && up('bin').length && up('big').length, 8000,
      () => `the peer to get XS's messages (${QOS.map((q) => up(`q${q}`).length).join('/')}, bin ${up('bin').length}, big ${up('big').length})`);
    for (const q of QOS) {
      assert.equal(up(`q${q}`).map((m) => m.payload), Array.from({ length: N }, (_, i) => `x${q}-${i}`), `QoS ${q} payloads`);
      assert.ok(up(`q${q}`).every((m) => m.qos === q), `QoS ${q} at the peer`);
    }
    assert.equal([...s.raw.get(`${s.pfx}/up/bin`)![0]], [0, 1, 2, 128, 255]);
    assert.ok(bigOk(s.raw.get(`${s.pfx}/up/big`)![0], BIG), 'big payload intact');
    const end = Date.now() + 5000;
    while ((await s.bridge.value<number>('app.c.queued')) !== 0) {
      if (Date.now() > end) throw new Error('outbox in XS did not empty');
      await sleep(20);
    }
  });

  test('will: the bridge cuts the socket (no DISCONNECT), the peer gets the will', async () => {
    s.bridge.block(true); // keep XS offline until the next test has published to its session
    assert.is(s.bridge.cut(), 1, 'one socket cut');
    await s.bridge.waitFor(() => s.bridge.reportsOf('app:close').length, 5000, 'onClose in XS');
    const closes = s.bridge.reportsOf('app:close') as { r: number }[];
    assert.ok(closes[0].r < 0, `closed with an error code, got ${closes[0].r}`);
    await s.bridge.waitFor(() => s.peer.on(`${s.pfx}/will`).length, 5000, 'the will at the peer');
    assert.equal(s.peer.on(`${s.pfx}/will`).map((m) => [m.payload, m.qos]), [['xs-gone', 1]]);
  });

  test('session: offline messages both ways; reconnect with clean:false has sessionPresent', async () => {
    await s.peer.c.publishAsync(`${s.pfx}/down/q1`, 'offline-1', { qos: 1 });
    await s.peer.c.publishAsync(`${s.pfx}/down/q2`, 'offline-2', { qos: 2 });
    assert.is(await s.bridge.value(`app.pub(${JSON.stringify(`${s.pfx}/up/q1`)}, 'offline-x', 1)`), 0, 'queued while offline');
    await s.bridge.waitFor(() => s.bridge.refused >= 1, 5000, 'XS trying to reconnect');
    assert.is(connects().length, 1, 'still offline');
    s.bridge.block(false);
    await s.bridge.waitFor(() => connects().length >= 2, 5000, 'the reconnect');
    assert.is(connects()[1].sp, true, 'sessionPresent on reconnect');
    await s.bridge.waitFor(() => on(`${s.pfx}/down/q1`).some((m) => m.payload === 'offline-1')
      && on(`${s.pfx}/down/q2`).some((m) => m.payload === 'offline-2'), 5000, 'the offline messages in XS');
    await s.bridge.waitFor(() => s.peer.on(`${s.pfx}/up/q1`).some((m) => m.payload === 'offline-x'), 5000, "XS's offline publish at the peer");
    await sleep(200);
    // Exactly once: nothing before the cut came again.
    for (const q of [1, 2]) {
      const got = on(`${s.pfx}/down/q${q}`).map((m) => m.payload);
      assert.equal(got, [...Array.from({ length: N }, (_, i) => `q${q}-${i}`), `offline-${q}`], `QoS ${q} in XS`);
    }
    assert.is(s.peer.on(`${s.pfx}/up/q1`).filter((m) => m.payload === 'offline-x').length, 1);
  });

  test('keepalive 1 s in XS: idle PINGREQ/PINGRESP over the runtime timer keep the link up', async () => {
    const id = uid(`xs-${so.flavor}-ka`);
    await s.bridge.run(appScript({
      transport: so.transport, clock: so.clock, host: so.host, port: s.broker.port, id, will: `${s.pfx}/will-ka`,
      name: 'ka', clean: true, keepalive: 1,
    }));
    await s.bridge.waitFor(() => s.bridge.reportsOf('ka:connect').length, 5000, 'keepalive client onConnect');
    await sleep(2300); // more than two keepalive periods, idle
    assert.equal(s.bridge.reportsOf('ka:error'), [], 'no error (a missed PINGRESP would be ERR_PING_TIMEOUT)');
    assert.is(s.bridge.reportsOf('ka:connect').length, 1, 'no reconnect');
    assert.is(s.broker.gone(id), 0, 'mosquitto kept the client (it drops one silent for 1.5 keepalives)');
    await s.bridge.run('ka.c.end();');
  });

  test('inbound QoS 2 table full in XS: held back, ERR_INBOUND_FULL, reconnect; each message once, in order', async () => {
    // A session's backlog comes in one burst, ahead of the PUBRELs that free the 2 ids: the client
    // holds the rest back and reconnects once the PUBRELs have emptied its table (the path that
    // runs only when the table fills, so only a full table exercises it in the minified bundle).
    const id = uid(`xs-${so.flavor}-in2`);
    const topic = `${s.pfx}/in2`;
    const M = 12;
    await s.bridge.run(appScript({
      transport: so.transport, clock: so.clock, host: so.host, port: s.broker.port, id, will: `${s.pfx}/will-in2`,
      name: 'in2', clean: false, more: 'maxInboundQos2: 2',
    }));
    await s.bridge.waitFor(() => s.bridge.reportsOf('in2:connect').length, 5000, 'onConnect');
    assert.is(await s.bridge.value(`in2.sub(${JSON.stringify(topic)}, 2)`), 0);
    await s.bridge.waitFor(() => s.bridge.reportsOf('in2:suback').length, 5000, 'SUBACK');
    await s.bridge.run('in2.c.end();');
    await peerPublishAll(s.peer, topic, Array.from({ length: M }, (_, i) => `m${i}`), 2);
    assert.is(await s.bridge.value('in2.c.connect()'), 0);
    const got = () => (s.bridge.reportsOf('in2:msg') as unknown as Msg[]).map((m) => m.payload);
    await s.bridge.waitFor(() => got().length >= M, 10000, () => `${M} messages (got ${got().length})`);
    await sleep(200);
    assert.equal(got(), Array.from({ length: M }, (_, i) => `m${i}`), 'each message once, in order');
    const codes = (s.bridge.reportsOf('in2:error') as { code: number }[]).map((e) => e.code);
    assert.ok(codes.length > 0 && codes.every((c) => c === ERR_INBOUND_FULL), `errors: ${codes}`);
    assert.equal(s.bridge.errors, []);
    await s.bridge.run('in2.c.end();');
  });

  if (so.extra) so.extra(test, s);

  test('end(): DISCONNECT, so no will; the socket is closed', async () => {
    const wills = s.peer.on(`${s.pfx}/will`).length;
    const gone = s.broker.gone(s.id);
    await s.bridge.run('app.c.end();');
    assert.equal(s.bridge.reportsOf('app:close').slice(-1), [{ t: 'app:close', r: 0 }]);
    await s.bridge.waitFor(() => s.broker.gone(s.id) > gone, 5000, 'mosquitto to see the client go');
    await s.bridge.waitFor(() => s.bridge.open === 0, 3000, 'the socket to close');
    await sleep(200);
    assert.is(s.peer.on(`${s.pfx}/will`).length, wills, 'no will after DISCONNECT');
    assert.ok(s.broker.log.some((l) => l.includes(`Client ${s.id} disconnected`)), 'mosquitto logged a clean disconnect');
  });

  test('no exception escaped into XS callbacks', () => {
    assert.equal(s.bridge.errors, []);
  });
}
