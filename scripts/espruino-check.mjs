// Manual check on the real Espruino runtime (a Linux build you made from Espruino's own sources;
// nothing of Espruino is in this repository): runs the example's startSensor() from
// boards/espruino-app/sensor.js with the built bundles against a mosquitto of its own on a free
// loopback port, once with the modules loaded as the Web IDE / CLI upload them (Modules.addCached,
// code in RAM) and once from Storage, sends commands, kills the process (the broker then publishes
// the will) and prints what the broker relayed plus process.memory() variable counts.
//   npm run build && node scripts/espruino-check.mjs /path/to/Espruino/bin/espruino
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const espruino = process.argv[2];
if (!espruino) throw new Error('usage: node scripts/espruino-check.mjs /path/to/espruino');
const root = resolve(new URL('..', import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), 'espruino-check-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const port = await new Promise((r) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => r(p)); }); });

writeFileSync(join(dir, 'mq.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\n${process.getuid?.() === 0 ? 'user root\n' : ''}`);
const broker = spawn('mosquitto', ['-c', join(dir, 'mq.conf')], { stdio: 'ignore' });
const children = [broker];
// Stops everything it started, however it ends.
process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
await sleep(500);

const example = readFileSync(join(root, 'boards/espruino-app/sensor.js'), 'utf8');
const start = example.slice(example.indexOf('var app;'), example.indexOf('// Top-level code'));
const buffers = example.match(/var BUFFERS = \{[^}]*\};/)[0];
const file = (f) => JSON.stringify(join(root, 'dist', f));

for (const mode of ['ide', 'storage']) {
  const id = `espruino-check-${mode}`;
  const load = mode === 'storage'
    ? `var S = require("Storage"); S.eraseAll(); S.write("mcu-mqtt", require("fs").readFileSync(${file('mcu-mqtt.espruino.js')})); S.write("sensor-app", require("fs").readFileSync(${file('sensor-app.espruino.js')}));`
    : `Modules.addCached("mcu-mqtt", require("fs").readFileSync(${file('mcu-mqtt.espruino.js')})); Modules.addCached("sensor-app", require("fs").readFileSync(${file('sensor-app.espruino.js')}));`;
  writeFileSync(join(dir, `${mode}.js`), `function mem() { return process.memory().usage; }
var BROKER = "127.0.0.1", PORT = ${port}, ID = ${JSON.stringify(id)}, RELAY_PIN;
${buffers}
${start}
setTimeout(function () {
  var m0 = mem();
  ${load}
  require("mcu-mqtt"); require("sensor-app");
  setTimeout(function () {
    var m1 = mem();
    print("MEM modules " + (m1 - m0) + " variables (blocksize " + process.memory().blocksize + ")");
    startSensor();
    setTimeout(function () { print("MEM running app " + (mem() - m1) + " variables; sent " + app.stats.sent); }, 4500);
  }, 50);
}, 50);
`);
  const seen = [];
  const sub = spawn('mosquitto_sub', ['-p', String(port), '-t', `devices/${id}/#`, '-v'], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(sub);
  sub.stdout.on('data', (d) => seen.push(...String(d).trim().split('\n')));
  await sleep(300);
  // cwd: the Linux build keeps its Storage in ./espruino.flash.
  const esp = spawn(espruino, [join(dir, `${mode}.js`)], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(esp);
  let out = '';
  esp.stdout.on('data', (d) => (out += d));
  esp.stderr.on('data', (d) => (out += d));
  await sleep(3000);
  for (const [c, p] of [['interval', '500'], ['relay', 'toggle'], ['ping', 'x'], ['nope', 'y']]) {
    spawnSync('mosquitto_pub', ['-p', String(port), '-q', '1', '-t', `devices/${id}/cmd/${c}`, '-m', p]);
  }
  await sleep(3000);
  esp.kill('SIGKILL'); // no DISCONNECT: the broker publishes the will
  await sleep(1000);
  sub.kill();
  console.log(`\n== ${mode === 'ide' ? 'modules uploaded with the code (Modules.addCached)' : 'modules from Storage'}`);
  for (const l of out.split('\n')) if (/MEM|rror/.test(l)) console.log(l.replace(/^\W*\[J/, '').trim());
  for (const l of seen) console.log(`  ${l}`);
}
for (const c of children) c.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
