// `npm start -- --boards 200`: a small fleet for a few seconds against mosquitto (spawned by the
// script itself; Aedes when mosquitto is not installed). Every board connects, telemetry flows
// and is acknowledged, the monitor (MQTT.js) receives it, pings get pongs, memory is reported.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runStart } from './helpers/start-run.ts';
import { findMosquitto } from '../host-sim/mosquitto.ts';

const N = 200;

test(`npm start -- --boards ${N}: all connect, telemetry flows, memory per board is reported`, async () => {
  const broker = findMosquitto().bin ? ['--broker', 'mosquitto'] : [];
  if (!broker.length) console.log('note: mosquitto not found, the fleet runs against the embedded Aedes');
  const args = ['--boards', String(N), '--interval', '1s', '--duration', '4', '--ramp', '1000', ...broker];
  const r = await runStart(args, 40_000);
  const out = r.all;
  assert.is(r.code, 0, out);
  assert.ok(!out.includes('\r'), 'plain lines when stdout is not a terminal');
  const f = out.match(/^fleet: boards (\d+), connected (\d+), ever connected (\d+), all connected after ([\d.]+) s, reconnects (\d+)$/m);
  assert.ok(f, `fleet line\n${out}`);
  assert.equal(f!.slice(1, 4).map(Number), [N, N, N]);
  assert.is(Number(f![5]), 0, 'no reconnects');
  const t = out.match(/^traffic: sent (\d+), acknowledged (\d+), monitor received (\d+) telemetry/m);
  assert.ok(t, `traffic line\n${out}`);
  const [sent, acked, seen] = t!.slice(1).map(Number);
  // Each board: one retained "online", then telemetry every second for about 3 s.
  assert.ok(sent >= N + 2 * N, `sent ${sent}`);
  // At QoS 1 with 2 in flight per board, at most 2 per board can be unacknowledged at the count.
  assert.ok(acked <= sent && acked >= sent - 2 * N, `acknowledged ${acked} of ${sent}`);
  assert.ok(seen >= 2 * N && seen <= sent - N, `monitor received ${seen} telemetry (sent ${sent} incl. ${N} statuses)`);
  const c = out.match(/^commands: (\d+) pings sent, (\d+) pongs received; status online seen (\d+)x$/m);
  assert.ok(c, `commands line\n${out}`);
  assert.ok(Number(c![1]) >= 2 && Number(c![2]) >= Number(c![1]) - 1, `pings ${c![1]}, pongs ${c![2]}`);
  assert.is(Number(c![3]), N, 'every board announced itself online');
  const m = out.match(/^per board: rss (-?[\d.]+) KB, heap (-?[\d.]+) KB/m);
  assert.ok(m, `memory line\n${out}`);
  assert.ok(Number(m![2]) > 0 && Number(m![2]) < 200, `heap per board ${m![2]} KB`);
});

test.run();
