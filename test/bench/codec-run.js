// npm run bench:codec — encode+decode throughput and GC runs of one QoS 1 PUBLISH, mcu-mqtt's
// codec ("ours") against mqtt-packet ("peer"), with the JIT and under `node --jitless` (an
// interpreter, as on XS and Espruino). A benchmark, not a test: it fails only when a worker
// fails its correctness checks. The work per pair is described in codec.ts.
//
// Arrangement, chosen for fairness on a shared, noisy 2-core machine:
// - Each library is measured in its own child process (`node --import tsx [--jitless]
//   test/bench/codec.ts <lib> ...`), one child at a time. In one process the peer's garbage
//   would trigger GCs (and grow the old generation) while ours is timed, and each library's
//   JIT feedback and heap would be shaped by the other; separate processes give each a clean
//   heap and its own warm-up, and keep the GC counts attributable.
// - Children alternate in ABBA order (ours, peer, peer, ours[, ours, peer]) so a drift in
//   machine load hits both libraries alike. Each child warms up (JIT: 500 ms, jitless: 300 ms),
//   then times 3 repetitions; a library's figure is the MEDIAN of all its repetitions (JIT: 2
//   children = 6, jitless: 3 children = 9; min and max shown).
// - JIT: every repetition is exactly 1,000,000 pairs after warm-up, and the GC count per
//   repetition is the "GC per 1M pairs" figure (median over repetitions). It is counted
//   in-process with a PerformanceObserver on 'gc' entries (not --trace-gc): minor (scavenge)
//   and major runs alike.
// - jitless: the interpreter is 20-50x slower, so a repetition is not 1M pairs but as many as
//   fit in ~1.2 s (count calibrated from the warm-up rate, then fixed; no clock reads inside the
//   loop). Its GC counts are shown scaled to 1M pairs, for information only.
// - A third row, ours-sub, feeds the decoder a sub-range of a larger transmit buffer, which
//   write() copies with a JS byte loop instead of TypedArray.set(): one child per mode, shown
//   so the cost of that path is visible; it is not part of the ratios.
// The whole run takes about a minute (~60 s here). The LAST line printed is one JSON object:
// {"bench":"codec","oursJitlessPps":…,"peerJitlessPps":…,"ratioJitless":…,"oursJitPps":…,
//  "peerJitPps":…,"ratioJit":…,"oursGcPer1M":…,"peerGcPer1M":…}
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const root = fileURLToPath(new URL('../..', import.meta.url));
const worker = 'test/bench/codec.ts';
const REPS = 3;
const JIT_ITERS = 1_000_000;
const JITLESS_TARGET_MS = 1200;
const CHILD_TIMEOUT_MS = 180_000;

const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
delete env.DEBUG; // mqtt-packet logs through `debug`; never let a stray DEBUG slow the peer

function runChild(lib, jitless) {
  const args = ['--import', 'tsx'];
  if (jitless) args.push('--jitless');
  args.push(worker, lib, String(jitless ? 0 : JIT_ITERS), String(REPS), String(JITLESS_TARGET_MS));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trimEnd().split('\n').pop() || '';
      let r = null;
      try { r = JSON.parse(last); } catch { /* reported below */ }
      if (code !== 0 || !r || r.lib !== lib || !Array.isArray(r.pps)) {
        const how = signal ? `killed by ${signal}` : `exit code ${code}`;
        reject(new Error(`${lib} (${jitless ? 'jitless' : 'jit'}) worker failed, ${how}\n${out}${err}`));
      } else resolve(r);
    });
  });
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length & 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString('en-US');

// mode -> lib -> { pps: [], gcPer1M: [] }
const results = { jit: {}, jitless: {} };
const plan = [];
// JIT: 2 children per library (a peer child spends ~10 s on its 3M pairs). jitless: 3 each, since
// the ratio there is the headline and the interpreter's timings scatter more.
for (const lib of ['ours', 'peer', 'peer', 'ours', 'ours-sub']) plan.push({ lib, jitless: false });
for (const lib of ['ours', 'peer', 'peer', 'ours', 'ours', 'peer', 'ours-sub']) plan.push({ lib, jitless: true });

const t0 = performance.now();
console.log(`codec bench: QoS 1 PUBLISH, topic 'home/livingroom/temperature', 64-byte payload, ` +
  `97 bytes; ${plan.length} worker processes, run one at a time (${process.version})`);
for (const { lib, jitless } of plan) {
  const mode = jitless ? 'jitless' : 'jit';
  let r;
  try {
    r = await runChild(lib, jitless);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
  const slot = (results[mode][lib] ??= { pps: [], gcPer1M: [] });
  slot.pps.push(...r.pps);
  slot.gcPer1M.push(...r.gcs.map((g) => (g * 1e6) / r.iters));
  console.log(`  ${mode.padEnd(7)} ${lib.padEnd(8)} ${r.iters} pairs x ${r.reps}: ` +
    `${r.pps.map(fmt).join(', ')} pairs/s; GC runs ${r.gcs.join(', ')}`);
}
const seconds = (performance.now() - t0) / 1000;

const NAMES = { ours: 'ours (mcu-mqtt)', 'ours-sub': 'ours, sub-range write', peer: 'peer (mqtt-packet)' };
const rows = [['mode', 'library', 'pairs/s median', 'min .. max', 'n', 'GC per 1M pairs']];
for (const mode of ['jitless', 'jit']) {
  for (const lib of ['ours', 'peer', 'ours-sub']) {
    const s = results[mode][lib];
    const gc = median(s.gcPer1M);
    rows.push([
      mode, NAMES[lib], fmt(median(s.pps)),
      `${fmt(Math.min(...s.pps))} .. ${fmt(Math.max(...s.pps))}`, String(s.pps.length),
      mode === 'jit' ? String(gc) : `${gc.toFixed(0)} (scaled)`,
    ]);
  }
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
console.log('');
for (const [i, r] of rows.entries()) {
  const cells = r.map((v, c) => (c >= 2 && c <= 4 ? v.padStart(widths[c]) : v.padEnd(widths[c])));
  console.log(cells.join('  ').trimEnd());
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}

const m = (mode, lib) => Math.round(median(results[mode][lib].pps));
const ratio = (a, b) => Math.round((a / b) * 100) / 100;
const summary = {
  bench: 'codec',
  oursJitlessPps: m('jitless', 'ours'),
  peerJitlessPps: m('jitless', 'peer'),
  ratioJitless: ratio(m('jitless', 'ours'), m('jitless', 'peer')),
  oursJitPps: m('jit', 'ours'),
  peerJitPps: m('jit', 'peer'),
  ratioJit: ratio(m('jit', 'ours'), m('jit', 'peer')),
  oursGcPer1M: median(results.jit.ours.gcPer1M),
  peerGcPer1M: median(results.jit.peer.gcPer1M),
};
console.log('');
console.log(`ours/peer: jitless ${summary.ratioJitless} (target >= 3), jit ${summary.ratioJit}; ` +
  `ours-sub/peer jitless ${ratio(m('jitless', 'ours-sub'), m('jitless', 'peer'))}; ` +
  `GC per 1M pairs (jit): ours ${summary.oursGcPer1M} (target 0), peer ${summary.peerGcPer1M}; ` +
  `total ${seconds.toFixed(1)} s`);
console.log(JSON.stringify(summary));
