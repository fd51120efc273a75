// `npm start -- --chaos`: the fault link between board and broker takes the network down for 4 s
// (5 s after connecting). The board's outbox fills while it is offline, the broker holds the
// operator's commands in the board's persistent session, and after the reconnect the outbox
// drains and every command is answered.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runStart } from './helpers/start-run.ts';

test('npm start -- --chaos: outbox fills offline and drains after the reconnect; queued commands answered', async () => {
  const id = `c-${process.pid}`;
  const dev = `devices/${id}`;
  const r = await runStart(['--chaos', '--duration', '12', '--id', id], 40_000);
  const out = r.all;
  assert.is(r.code, 0, out);
  const at = (re: RegExp) => {
    const m = out.match(new RegExp(`^\\s*(\\d+\\.\\d+)s .*${re.source}`, 'm'));
    return m ? Number(m[1]) : NaN;
  };
  const down = at(/chaos\s+!! link down for 4 s: 1 connection\(s\) reset/);
  const upAgain = at(/chaos\s+-- link up again/);
  const back = at(/reconnected \(#1\), session present/);
  assert.ok(down > 0 && upAgain > down && back >= upAgain, `down ${down}, up ${upAgain}, reconnected ${back}\n${out}`);

  // The outbox while offline: one more message each time, then empty after the reconnect.
  const bars = [...out.matchAll(/^\s*(\d+\.\d+)s  board\s+## outbox\s+(\d+) msgs\s+(\d+) B .*?(\(offline\))?$/gm)]
    .map((m) => ({ t: Number(m[1]), q: Number(m[2]), bytes: Number(m[3]), offline: !!m[4] }));
  const offline = bars.filter((b) => b.offline && b.t > down && b.t < back);
  assert.ok(offline.length >= 4, `outbox lines while offline: ${offline.length}\n${out}`);
  for (let i = 1; i < offline.length; i++) assert.ok(offline[i].q > offline[i - 1].q && offline[i].bytes > offline[i - 1].bytes, 'growing');
  assert.ok(bars.some((b) => b.t > back && b.q === 0 && !b.offline), `drained after the reconnect\n${out}`);

  // The will at the outage; commands sent while offline answered after the reconnect.
  assert.match(out, new RegExp(`operator <- ${dev}/status\\s+offline`));
  const lateCmds = [...out.matchAll(new RegExp(`^\\s*(\\d+\\.\\d+)s  operator -> ${dev}/cmd/(\\w+)`, 'gm'))]
    .filter((m) => Number(m[1]) > down && Number(m[1]) < upAgain).map((m) => m[2]);
  assert.ok(lateCmds.length >= 1, `commands sent during the outage\n${out}`);
  for (const c of lateCmds) {
    const times = [...out.matchAll(new RegExp(`^\\s*(\\d+\\.\\d+)s  board\\s+<- ${dev}/cmd/${c}`, 'gm'))].map((m) => Number(m[1]));
    assert.ok(times.some((t) => t >= back), `${c} delivered after the reconnect`);
  }
  const op = out.match(/operator: (\d+) commands sent, (\d+) replies, (\d+) telemetry messages/);
  assert.ok(op && op[1] === op[2], `a reply for every command\n${out}`);
  const s = out.match(/^summary: sent (\d+), received (\d+), acknowledged (\d+), reconnects (\d+), outbox peak (\d+)/m);
  assert.ok(s, 'summary');
  assert.is(Number(s![4]), 1, 'one reconnect');
  assert.ok(Number(s![5]) >= offline[offline.length - 1].q, 'outbox peak at least what was shown');
  // Every telemetry message published (offline ones included) reached the operator, but the
  // last one or two still in flight at the end.
  const tel = [...out.matchAll(new RegExp(`board\\s+-> ${dev}/telemetry`, 'g'))].length;
  assert.ok(Number(op![3]) >= tel - 2 && Number(op![3]) <= tel, `operator saw ${op![3]} of ${tel} telemetry`);
});

test.run();
