// The Moddable bundles (dist/mcu-mqtt.moddable.js, and mcu-mqtt.moddable-socket.js for the classic
// socket) on the real XS engine (npm @agoric/xsnap), with
// Moddable's runtime modules played by host-sim/xs-bridge.ts over real Node sockets and timers:
// QoS 0/1/2 both ways with an MQTT.js peer through mosquitto, the will on a cut socket, and the
// persistent session across a reconnect. Skipped (with a printed reason) without mosquitto.
import { registerScenario, appScript } from '../host-sim/xs-scenario.ts'; // first: it loads @endo/init
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { uid } from './helpers/brokers.ts';
import { XsBridge, MODDABLE_SOCKET_BUNDLE } from '../host-sim/xs-bridge.ts';

registerScenario(test, {
  flavor: 'moddable',
  transport: 'new M.TcpTransport()',
  clock: 'M.moddableClock',
  host: 'localhost', // ECMA-419 TCP takes an address: TcpTransport resolves the name with Net.resolve
  // Time.ticks starts half a second before the signed 32-bit wrap: the scenario runs across it.
  bridge: { ticksStart: 2 ** 31 - 500 },
  extra: (t, s) => {
    t('Timer and Time in XS: one-shot, clear, wrap-safe tick differences', async () => {
      s.bridge.setTicks(2 ** 31 - 100); // 100 ms before the wrap
      await s.bridge.run(`(function () {
        var clock = __mq.moddableClock, a = clock.now();
        var x = clock.set(function () { report({ t: 'timer:cleared-fired' }); }, 10);
        clock.clear(x);
        clock.set(function () { var b = clock.now(); report({ t: 'timer:fired', a: a, b: b, d: (b - a) | 0 }); }, 200);
      })();`);
      await s.bridge.waitFor(() => s.bridge.reportsOf('timer:fired').length, 10000, 'the timer');
      await new Promise((r) => setTimeout(r, 30));
      const r = s.bridge.reportsOf('timer:fired')[0] as { a: number; b: number; d: number };
      // Never early; late only by load. The upper bound catches a wrap bug (a difference near
      // -2^32 or 2^32), not a slow machine.
      assert.ok(r.d >= 195 && r.d < 10000, `difference ${r.d}`);
      assert.ok((r.a | 0) === r.a && (r.b | 0) === r.b, 'ticks are signed 32-bit');
      assert.ok(r.a > 0 && r.b < 0, `ticks wrapped between the two reads (${r.a} -> ${r.b})`);
      assert.is(s.bridge.reportsOf('timer:cleared-fired').length, 0, 'a cleared timer does not fire');
    });

    t('SocketTransport (classic socket module, its own bundle): connect, QoS 1/2 both ways, end', async () => {
      // dist/mcu-mqtt.moddable-socket.js in a second XS worker, against the same broker and peer.
      const xs = await XsBridge.start({ flavor: 'moddable', bundle: MODDABLE_SOCKET_BUNDLE, stdout: 'ignore' });
      try {
        assert.ok(!(await xs.exportNames()).includes('TcpTransport'), 'the socket bundle carries only its transport');
        const id = uid('xs-classic');
        await xs.run(appScript({
          transport: 'new M.SocketTransport()', clock: 'M.moddableClock', host: '127.0.0.1', port: s.broker.port,
          id, will: `${s.pfx}/will-classic`, name: 'cls', clean: true,
        }));
        await xs.waitFor(() => xs.reportsOf('cls:connect').length, 5000, 'classic onConnect');
        assert.is(await xs.value(`cls.sub(${JSON.stringify(`${s.pfx}/classic`)}, 2)`), 0);
        await xs.waitFor(() => xs.reportsOf('cls:suback').length, 5000, 'classic SUBACK');
        await s.peer.c.publishAsync(`${s.pfx}/classic`, 'c1', { qos: 1 });
        await s.peer.c.publishAsync(`${s.pfx}/classic`, Buffer.alloc(3000, 7), { qos: 2 });
        await xs.waitFor(() => xs.reportsOf('cls:msg').length >= 2, 5000, 'classic messages');
        const got = xs.reportsOf('cls:msg') as { payload: string; len: number; qos: number }[];
        assert.equal(got.map((m) => [m.len, m.qos]), [[2, 1], [3000, 2]]);
        assert.is(await xs.value(`cls.pub(${JSON.stringify(`${s.pfx}/up/classic`)}, cls.big(1500), 2)`), 0);
        await xs.waitFor(() => s.raw.get(`${s.pfx}/up/classic`)?.length, 5000, 'classic publish at the peer');
        const b = s.raw.get(`${s.pfx}/up/classic`)![0];
        assert.ok(b.length === 1500 && b.every((v, i) => v === (i & 255)), 'payload intact');
        await xs.run('cls.c.end();');
        assert.equal(xs.reportsOf('cls:close').slice(-1), [{ t: 'cls:close', r: 0 }]);
        assert.is(xs.reportsOf('cls:error').length, 0, JSON.stringify(xs.reportsOf('cls:error')));
        assert.equal(xs.errors, []);
      } finally {
        await xs.close();
      }
    });
  },
});

test.run();
