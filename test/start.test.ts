// `npm start` (host-sim/start.ts) with one board, run as a user would, for a few seconds: the
// embedded broker, telemetry, the retained status with its will, the operator's commands and the
// board's replies, and the summary, read back from the output. Also on the XS engine, and the
// pieces it is made of (the wire counter against mqtt-packet, the argument parser).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generate } from 'mqtt-packet';
import { WireCounter } from '../host-sim/wire-counter.ts';
import { parseArgs, parseInterval } from '../host-sim/start-args.ts';
import { xsnapAvailable } from '../host-sim/xsnap-bin.ts';
import { runStart as start } from './helpers/start-run.ts';

/** Lines of one actor and direction on one topic: [time, payload]. */
function events(out: string, actor: string, dir: string, topic: string): [number, string][] {
  const re = new RegExp(`^\\s*(\\d+\\.\\d+)s  ${actor}\\s+${dir.replace(/[-!]/g, '\\$&')} ${topic}\\s+(.*)$`, 'gm');
  return [...out.matchAll(re)].map((m) => [Number(m[1]), m[2]]);
}

function lineAt(out: string, re: RegExp): number {
  const m = out.match(new RegExp(`^\\s*(\\d+\\.\\d+)s .*${re.source}`, 'm'));
  return m ? Number(m[1]) : NaN;
}

/** The checks both engines must pass. */
function checkDemo(r: { code: number | null; out: string; err: string }, id: string): void {
  const { out } = r;
  assert.is(r.code, 0, `exit code\n${out}\n${r.err}`);
  const dev = `devices/${id}`;
  assert.match(out, /embedded Aedes \(in-process\) on mqtt:\/\/127\.0\.0\.1:\d+/);

  // Telemetry: JSON readings in a plausible range, at least two, seen by the operator too.
  const tel = events(out, 'board', '->', `${dev}/telemetry`);
  assert.ok(tel.length >= 2, `telemetry lines: ${tel.length}\n${out}`);
  for (const [, p] of tel) {
    const v = JSON.parse(p) as { temp: number; hum: number; up: number };
    assert.ok(v.temp > 10 && v.temp < 35 && v.hum > 0 && v.hum < 100 && v.up >= 0, p);
  }

  // Status: online at connect; the will "offline" after the cut (before the reconnect); online again.
  const st = events(out, 'operator', '<-', `${dev}/status`);
  const cutAt = lineAt(out, /network drop \(simulated\)/);
  const reAt = lineAt(out, /reconnected \(#1\)/);
  assert.ok(cutAt > 0 && reAt > cutAt, `cut at ${cutAt}, reconnect at ${reAt}\n${out}`);
  assert.ok(st.some(([t, p]) => p.startsWith('online') && t < cutAt), `online before the cut\n${out}`);
  assert.ok(st.some(([t, p]) => p.startsWith('offline') && t > cutAt && t <= reAt + 0.5), `the will (offline) after the cut\n${out}`);
  assert.ok(st.some(([t, p]) => p.startsWith('online') && t > cutAt), `online again after the reconnect\n${out}`);

  // Command round trip: operator -> cmd/ping, board <- cmd/ping, board -> reply/ping pong, operator <- pong.
  const sentPing = events(out, 'operator', '->', `${dev}/cmd/ping`);
  const gotPing = events(out, 'board', '<-', `${dev}/cmd/ping`);
  const pong = events(out, 'board', '->', `${dev}/reply/ping`);
  const back = events(out, 'operator', '<-', `${dev}/reply/ping`);
  assert.ok(sentPing.length && gotPing.length && pong.length && back.length, `ping round trip\n${out}`);
  assert.is(pong[0][1], 'pong');
  assert.match(back[0][1], /^pong  \(round trip \d+ ms\)$/);
  assert.ok(sentPing[0][0] <= gotPing[0][0] && gotPing[0][0] <= pong[0][0] && pong[0][0] <= back[0][0], 'in order');
  assert.equal(events(out, 'operator', '<-', `${dev}/reply/relay`).map(([, p]) => p.split(' ')[0]).slice(0, 1), ['on']);
  assert.ok(events(out, 'operator', '<-', `${dev}/reply/interval`).length >= 1, 'interval reply');

  // Summary: counted on the wire. Every QoS 1 message but the last status (sent just before
  // DISCONNECT) is acknowledged; a message in flight at the cut may be sent twice.
  const m = out.match(/^summary: sent (\d+), received (\d+), acknowledged (\d+), reconnects (\d+), outbox peak (\d+) \((\d+) B\)$/m);
  assert.ok(m, `summary line\n${out}`);
  const [sent, received, acked, reconnects, peak] = m!.slice(1).map(Number);
  const published = tel.length + events(out, 'board', '->', `${dev}/status`).length + events(out, 'board', '->', `${dev}/reply/[a-z]+`).length;
  assert.ok(sent >= published && sent <= published + 2, `sent ${sent}, published ${published}`);
  assert.ok(acked >= published - 1 && acked <= sent, `acknowledged ${acked} of ${published}`);
  assert.is(received, events(out, 'board', '<-', `${dev}/cmd/[a-z]+`).length, 'commands received');
  assert.ok(received >= 3);
  assert.is(reconnects, 1);
  assert.ok(peak >= 1);
  const op = out.match(/operator: (\d+) commands sent, (\d+) replies, (\d+) telemetry messages/);
  assert.ok(op, 'operator summary');
  assert.is(Number(op![2]), Number(op![1]), 'a reply for every command');
  // Telemetry published at the very end may not have reached the operator yet.
  assert.ok(Number(op![3]) >= tel.length - 1 && Number(op![3]) <= tel.length, `operator saw ${op![3]} of ${tel.length} telemetry`);
}

test('npm start -- --duration 5: telemetry, status with will, command round trip, summary', async () => {
  const id = `t-${process.pid}`;
  const r = await start(['--duration', '5', '--id', id], 30_000);
  checkDemo(r, id);
});

test('npm start -- --engine xs: the same app inside the XS engine', async () => {
  const av = xsnapAvailable();
  if (!av.ok) {
    console.log(`skipped: --engine xs: ${av.why}`);
    return;
  }
  const id = `x-${process.pid}`;
  const r = await start(['--engine', 'xs', '--duration', '5', '--id', id], 60_000);
  assert.match(r.out, /XS engine \(xsnap worker\) up/);
  checkDemo(r, id);
});

test('bad arguments: a named error and exit code 2, nothing started', async () => {
  const r = await start(['--interval', '10'], 15_000);
  assert.is(r.code, 2);
  assert.match(r.err, /--interval: at least 100 ms, got 10 ms \(did you mean 10s\?\)/);
  assert.is(r.out, '');
  const p = await start(['--broker', 'mqtt://user:secret@127.0.0.1:1', '--duration', '1'], 15_000);
  assert.ok(!(p.out + p.err).includes('secret'), 'the password never appears');
});

test('parseArgs / parseInterval', () => {
  assert.is(parseInterval('2s'), 2000);
  assert.is(parseInterval('1.5s'), 1500);
  assert.is(parseInterval('500ms'), 500);
  assert.is(parseInterval('2000'), 2000);
  assert.throws(() => parseInterval('2m'), /expected/);
  const a = parseArgs(['--boards', '10', '--qos', '0', '--broker', 'mosquitto', '--duration', '3']);
  assert.equal([a.boards, a.qos, a.broker, a.duration, a.engine], [10, 0, 'mosquitto', 3, 'node']);
  assert.throws(() => parseArgs(['--qos', '3']), /--qos/);
  assert.throws(() => parseArgs(['--boards', '2', '--engine', 'xs']), /Node only/);
  assert.throws(() => parseArgs(['--nope']), /unknown option/);
});

test('WireCounter counts what mqtt-packet generates, in any chunking', () => {
  const pk = [
    generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'c', clean: true, keepalive: 30 }),
    generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(200, 1), qos: 1, messageId: 7, dup: false, retain: false }),
    generate({ cmd: 'publish', topic: 'big', payload: Buffer.alloc(20_000, 2), qos: 0, dup: false, retain: false }),
    generate({ cmd: 'puback', messageId: 7 }),
    generate({ cmd: 'pingreq' }),
    generate({ cmd: 'publish', topic: 'e', payload: Buffer.alloc(0), qos: 2, messageId: 9, dup: false, retain: false }),
    generate({ cmd: 'pubcomp', messageId: 9 }),
    generate({ cmd: 'disconnect' }),
  ];
  const all = Buffer.concat(pk);
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (const chunk of [1, 2, 3, 7, 100, all.length, 0]) {
    const w = new WireCounter();
    for (let i = 0; i < all.length;) {
      const n = chunk || 1 + Math.floor(rnd() * 300);
      w.feed(all, i, Math.min(all.length, i + n));
      i += n;
    }
    assert.equal([...w.counts], [0, 1, 0, 3, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0], `chunk ${chunk}`);
  }
});

test.run();
