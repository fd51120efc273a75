// The Espruino example (boards/espruino-app/sensor.js, its settings block pointed at the test broker)
// with the CommonJS bundles (dist/mcu-mqtt.espruino.js, dist/sensor-app.espruino.js) inside the
// real XS engine as a CI stand-in for Espruino (the bridge's net, timers, getTime, and what Espruino
// lacks hidden), against mosquitto with an MQTT.js peer as the operator: retained "online",
// telemetry, command replies, the will on a cut socket.
import { registerAppScenario, espruinoBoard, memoryTable } from '../host-sim/xs-app.ts'; // first: it loads @endo/init
import { test } from 'uvu';
import * as assert from 'uvu/assert';

registerAppScenario(test, 'espruino', (id) => [espruinoBoard(id)], (mem, parts) => {
  console.log(`memory (Espruino bundle in XS):\n${memoryTable(mem)}\nidle parts, XS slots: ${JSON.stringify(parts)}\n${JSON.stringify({ memory: mem, parts })}`);
  const b = mem[0].buffers;
  const asked = b.rxSize + b.txSize + b.outboxSize;
  assert.ok(mem[0].bufferBytes >= asked && mem[0].bufferBytes <= asked + 512, `${mem[0].bufferBytes} B of buffers for ${asked} B asked`);
});

test.run();
