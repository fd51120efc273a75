// `npm start` works on its own: embedded broker, our codec on the wire, a clean exit with a summary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

test('npm start -- --duration 2 round-trips QoS 1 telemetry through the embedded broker', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'host-sim/start.ts', '--duration', '2'], {
    encoding: 'utf8', timeout: 30_000,
  });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /embedded broker \(Aedes\) on mqtt:\/\/127\.0\.0\.1:\d+/);
  assert.match(r.stdout, /<- CONNACK rc=0/);
  assert.match(r.stdout, /<- SUBACK granted=1/);
  const m = r.stdout.match(/summary: sent (\d+), acknowledged (\d+), received (\d+)/);
  assert.ok(m, 'no summary line');
  const [sent, acked, received] = m!.slice(1).map(Number);
  assert.ok(sent >= 2, `sent ${sent}`);
  assert.is(acked, sent);
  assert.is(received, sent);
});

test.run();
