// The Espruino bundle (dist/mcu-mqtt.espruino.js) on the real XS engine (npm @agoric/xsnap) as a CI
// stand-in for Espruino: host-sim/xs-bridge.ts plays require('net') (data as Strings of bytes in
// chunks of at most 536, E.toString for binary writes, 'drain' after each write), getTime() and
// setTimeout/clearTimeout (clearTimeout(undefined) throws, as on Espruino), and hides what Espruino
// lacks (Map, Set, Symbol, Number.isInteger, ...). Same scenario as the Moddable bundle: QoS 0/1/2
// both ways with an MQTT.js peer through mosquitto, the will on a cut socket, the persistent session.
// Skipped (with a printed reason) without mosquitto.
import { registerScenario } from '../host-sim/xs-scenario.ts'; // first: it loads @endo/init
import { test } from 'uvu';
import * as assert from 'uvu/assert';

registerScenario(test, {
  flavor: 'espruino',
  transport: 'new M.NetTransport()',
  clock: 'M.espruinoClock',
  host: 'localhost', // Espruino's net.connect resolves names itself
  extra: (t, s) => {
    t('the Espruino runtime stand-in: what the bundle saw', async () => {
      assert.is(await s.bridge.value('typeof Map + typeof Symbol + typeof Number.isInteger'), 'undefinedundefinedundefined');
      const d = await s.bridge.value<number>(`(function () { var a = __mq.espruinoClock.now(); return a; })()`);
      assert.ok(Math.abs(d - Date.now()) < 5000, 'espruinoClock.now() is getTime() in ms');
    });
  },
});

test.run();
