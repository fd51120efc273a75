// The sensor app's uptime across clock wrap: Moddable's Time.ticks is a signed 32-bit millisecond
// counter, so a board up for more than 24.8 days sees it wrap. Telemetry must keep counting.
// A hand-driven Clock plays the ticks; the client is a real MqttClient that never connects.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MqttClient } from '../src/index.ts';
import type { Clock, Transport } from '../src/index.ts';
import { SensorApp } from '../boards/app/sensor-app.ts';

const DAY = 86_400_000;

function setup(start: number) {
  let ticks = start;
  const clock: Clock = { now: () => ticks, set: () => 0, clear: () => {} };
  const t: Transport = { open: () => {}, write: (_b, _o, n) => n, close: () => {} };
  const client = new MqttClient(t, clock, { host: 'x', clientId: 'up' });
  const app = new SensorApp(client, clock, { temperature: () => 20, humidity: () => 40 }, { id: 'up' });
  // Advances like Time.ticks: signed 32-bit, wrapping.
  const advance = (ms: number) => { ticks = (ticks + ms) | 0; };
  return { app, advance };
}

test('uptime keeps rising past 2^31 ms of 32-bit ticks, read once a day', () => {
  const { app, advance } = setup(0);
  let last = 0;
  for (let d = 1; d <= 60; d++) {
    advance(DAY);
    const up = app.uptime();
    assert.is(up, d * DAY, `day ${d}`);
    assert.ok(up > last);
    last = up;
  }
});

test('uptime from a start just below the wrap', () => {
  const { app, advance } = setup(2 ** 31 - 1000);
  advance(3000);
  assert.is(app.uptime(), 3000);
});

test.run();
