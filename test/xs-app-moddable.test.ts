// The Moddable board examples (boards/sim, boards/esp32, boards/esp8266: main.js with the config of
// their manifest.json) and the compiled sensor app (dist/sensor-app.js) running inside the real XS
// engine over the Moddable bundle, against mosquitto with an MQTT.js peer as the operator: retained
// "online", telemetry, command replies, the will on a cut socket. Prints the memory each board's
// app holds (its fixed buffers, and the XS slots it adds, measured with xsnap's heap count).
import { registerAppScenario, moddableBoards, memoryTable } from '../host-sim/xs-app.ts'; // first: it loads @endo/init
import { test } from 'uvu';
import * as assert from 'uvu/assert';

registerAppScenario(test, 'moddable', moddableBoards, (mem, parts) => {
  console.log(`memory per board (Moddable bundle in XS):\n${memoryTable(mem)}\nidle parts, XS slots: ${JSON.stringify(parts)}\n${JSON.stringify({ memory: mem, parts })}`);
  for (const m of mem) {
    const b = m.buffers;
    // The client's buffers are what the board asked for, plus small tables (and the app's 96 B).
    const asked = b.rxSize + b.txSize + b.outboxSize;
    assert.ok(m.bufferBytes >= asked && m.bufferBytes <= asked + 512, `${m.board}: ${m.bufferBytes} B of buffers for ${asked} B asked`);
    assert.ok(m.slots > 0, `${m.board}: slots measured`);
  }
  const [sim, esp32, esp8266] = ['sim', 'esp32', 'esp8266'].map((n) => mem.find((m) => m.board === n)!);
  assert.ok(sim.bufferBytes > esp32.bufferBytes && esp32.bufferBytes > esp8266.bufferBytes, 'buffers follow the boards');
  // Budget: the ESP8266's XS gets 32 KB (creation.static 32768) for everything; the sensor app
  // (buffers, plus its slots at 16 B as on the 32-bit MCU) may take at most half of it.
  const held = esp8266.bufferBytes + esp8266.slots * 16;
  assert.ok(held <= 16384, `esp8266 app holds ${held} B`);
});

test.run();
