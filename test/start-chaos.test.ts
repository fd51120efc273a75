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
  // 13 s: the outage is 5..9 s after connecting and the reconnect comes within about 2 s of it
  // (backoff capped at 2 s), which leaves room for a loaded machine; the next chaos step (a stall
  // at 14 s) never starts.
  const r = await runStart(['--chaos', '--duration', '13', '--id', id], 40_000);
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

  // The outbox while offline: it grows with every telemetry message the board publishes (about 8
  // in the 4 s at 500 ms; a loaded machine publishes fewer, so the count is taken from the log),
  // then is empty after the reconnect.
  const bars = [...out.matchAll(/^\s*(\d+\.\d+)s  board\s+## outbox\s+(\d+) msgs\s+(\d+) B .*?(\(offline\))?$/gm)]
    .map((m) => ({ t: Number(m[1]), q: Number(m[2]), bytes: Number(m[3]), offline: !!m[4] }));
  const telAt = [...out.matchAll(new RegExp(`^\\s*(\\d+\\.\\d+)s  board\\s+-> ${dev}/telemetry`, 'gm'))].map((m) => Number(m[1]));
  const offline = bars.filter((b) => b.offline && b.t > down && b.t < back);
  assert.ok(offline.length >= 2, `outbox lines while offline: ${offline.length}\n${out}`);
  for (let i = 1; i < offline.length; i++) assert.ok(offline[i].q > offline[i - 1].q && offline[i].bytes > offline[i - 1].bytes, 'growing');
  const last = offline[offline.length - 1];
  const heldOffline = telAt.filter((t) => t > down && t < last.t).length;
  assert.ok(heldOffline >= 2, `telemetry published during the outage: ${heldOffline}\n${out}`);
  assert.ok(last.q >= heldOffline, `the outbox holds every message published offline: ${last.q} < ${heldOffline}\n${out}`);
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
  // Every telemetry message published (offline ones included) reached the operator, except some
  // still in flight at the end: all those published 2 s or more before the stop must be there
  // (a loaded machine may leave more than one in flight). QoS 1 allows a duplicate per resend.
  const stopAt = at(/stopping \(--duration/);
  const settled = telAt.filter((t) => t <= stopAt - 2).length;
  const pub = out.match(/board: (\d+) messages published \(\d+ refused: outbox full\), (\d+) PUBLISH packets/);
  assert.ok(pub, 'board summary');
  const resends = Number(pub![2]) - Number(pub![1]);
  const seen = Number(op![3]);
  const beforeBack = telAt.filter((t) => t < last.t).length;
  assert.ok(stopAt > back, `stop ${stopAt} after the reconnect ${back}`);
  assert.ok(seen >= beforeBack, `operator saw ${seen} telemetry, fewer than the ${beforeBack} published up to the end of the outage`);
  assert.ok(seen >= settled && seen <= telAt.length + resends,
    `operator saw ${seen} telemetry; ${settled} published 2 s before the stop, ${telAt.length} in all, ${resends} resends`);
});

test.run();
