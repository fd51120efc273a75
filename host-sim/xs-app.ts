// The board example apps inside the real XS engine (host-sim/xs-bridge.ts): the compiled sensor
// app (dist/sensor-app.js, dist/sensor-app.espruino.js) and each board's own main module or script
// run in XS, exactly as written, against mosquitto with an MQTT.js peer as the operator. Used by
// test/xs-app-moddable.test.ts and test/xs-app-espruino.test.ts.
// What stands in for the board: the bridge's runtime modules (sockets, timers, Net.resolve), and
// here `mc/config` (the board manifest's "config", with the broker and id replaced), Moddable's
// trace(), the ECMA-419 host provider's Digital (a recording relay pin), Espruino's Wifi,
// digitalWrite, getSerial and console. Test-only code: allocates freely.
import { XsBridge, ensureBundles, xsnapAvailable, MODDABLE_GLOBALS, type Flavor } from './xs-bridge.ts';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { rollup } from 'rollup';
import * as assert from 'uvu/assert';
import type { Test } from 'uvu';
import { MOSQUITTO, startMosquitto, mqttPeer, within, uid, sleep, type Broker, type Peer } from '../test/helpers/brokers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const APP_BUNDLES: Record<Flavor, string> = {
  moddable: `${ROOT}dist/sensor-app.js`,
  espruino: `${ROOT}dist/sensor-app.espruino.js`,
};

/** Builds the client bundles and the app bundles when missing (`npm run build` makes them all). */
export function ensureAppBundles(): void {
  ensureBundles();
  if (Object.values(APP_BUNDLES).every((f) => fs.existsSync(f))) {
    const app = fs.statSync(`${ROOT}boards/app/sensor-app.ts`).mtimeMs;
    for (const f of Object.values(APP_BUNDLES)) {
      if (fs.statSync(f).mtimeMs < app) console.log(`note: ${f.slice(ROOT.length)} is older than boards/app/sensor-app.ts: testing it as built (npm run build to refresh)`);
    }
    return;
  }
  const r = spawnSync('npx', ['rollup', '-c', 'rollup.app.config.js'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`npx rollup -c rollup.app.config.js failed (${r.status}): ${r.stderr || r.error}`);
}

/** An ES module as a script for xsnap: its imports read the given globals, its exports go to `name`. */
export async function moduleScript(file: string, globals: Record<string, string>, name?: string): Promise<string> {
  const b = await rollup({
    input: file,
    external: Object.keys(globals),
    treeshake: false,
    onwarn: (w) => {
      if (w.code === 'MISSING_NODE_BUILTINS') return; // 'net' is Moddable's module here
      throw new Error(`rollup: ${w.message}`);
    },
  });
  try {
    const { output } = await b.generate({ format: 'iife', name, globals, interop: 'esModule' });
    return output[0].code;
  } finally {
    await b.close();
  }
}

/** The "config" of boards/<board>/manifest.json. */
export function boardConfig(board: string): Record<string, unknown> {
  const m = JSON.parse(fs.readFileSync(`${ROOT}boards/${board}/manifest.json`, 'utf8')) as { config?: Record<string, unknown> };
  if (!m.config) throw new Error(`boards/${board}/manifest.json has no config`);
  return m.config;
}

/** The buffer options a board's settings give the client. */
export const BUFFER_KEYS = ['rxSize', 'txSize', 'outboxSize', 'maxInflight', 'maxSubs', 'maxPending', 'maxInboundQos2'] as const;

// Collects the clients and apps the board code makes, for the memory figures (a Proxy on the
// constructors: the board code runs unchanged).
const RECORDER = `(function (G) {
  G.__made = { clients: [], apps: [] };
  function rec(C, list) {
    return new Proxy(C, { construct: function (T, args) { var o = Reflect.construct(T, args); list.push(o); return o; } });
  }
  var mq = {}, app = {};
  for (var k in G.__mq) mq[k] = G.__mq[k];
  for (var j in G.__app) app[j] = G.__app[j];
  mq.MqttClient = rec(G.__mq.MqttClient, G.__made.clients);
  app.SensorApp = rec(G.__app.SensorApp, G.__made.apps);
  G.__mq = mq;
  G.__app = app;
})(globalThis);`;

/**
 * Bytes of the distinct ArrayBuffers the i-th client and app hold (their fixed buffers), found by
 * walking their properties two levels deep: rx, tx, outbox, tables, the app's payload buffer.
 */
const bufferBytes = (i: number) => `(function () {
  var seen = [], total = 0;
  function walk(o, depth) {
    if (!o || typeof o !== 'object') return;
    // (ArrayBuffer.isView is hidden in the Espruino stand-in.)
    if (o.buffer instanceof ArrayBuffer && typeof o.byteLength === 'number') {
      if (seen.indexOf(o.buffer) < 0) { seen.push(o.buffer); total += o.buffer.byteLength; }
      return;
    }
    if (depth > 2) return;
    var ks = Object.keys(o);
    for (var k = 0; k < ks.length; k++) walk(o[ks[k]], depth + 1);
  }
  walk(__made.clients[${i}], 0);
  walk(__made.apps[${i}], 1);
  return total;
})()`;

export interface BoardRun {
  /** boards/<name> (or espruino-app). */
  name: string;
  id: string;
  /** The client options the board passed (buffer sizes as configured). */
  buffers: Record<string, number>;
  /** Runs the board's main module / script inside XS (the bridge already holds __mq and __app). */
  start(b: XsBridge, broker: Broker): Promise<void>;
  /** Values written to the relay pin, in order (empty when the board has none configured). */
  relayWrites(b: XsBridge): number[];
}

/** The three Moddable boards: their main.js with their manifest's config. */
export function moddableBoards(runId: string): BoardRun[] {
  return ['sim', 'esp32', 'esp8266'].map((name) => {
    const id = `${name}-${runId}`;
    const cfg = boardConfig(name);
    const buffers: Record<string, number> = {};
    for (const k of BUFFER_KEYS) if (cfg[k] !== undefined) buffers[k] = Number(cfg[k]);
    // The ESP32 example drives a relay pin when relayPin is set: set it, to see the writes.
    const relayPin = name === 'esp32' ? '2' : undefined;
    return {
      name, id, buffers,
      async start(b: XsBridge, broker: Broker) {
        const script = await moduleScript(`${ROOT}boards/${name}/main.js`, {
          'mc/config': '__xs_config', 'mcu-mqtt': '__mq', 'sensor-app': '__app', net: MODDABLE_GLOBALS.net,
        });
        // Like mcconfig's name=value arguments, the overrides arrive as strings.
        const config = { ...cfg, broker: 'localhost', port: String(broker.port), id, ...(relayPin ? { relayPin } : {}) };
        await b.run(`globalThis.__xs_config = { default: ${JSON.stringify(config)} };`);
        await b.run(script);
      },
      relayWrites: (b) => b.reportsOf('relay').filter((r) => r.board === relayPin).map((r) => r.v as number),
    };
  });
}

/** Moddable's trace() and the host provider's Digital, recording into report(). */
export const MODDABLE_HOST = `(function (G) {
  G.trace = function (s) { report({ t: 'trace', s: String(s) }); };
  function Digital(o) { this.pin = String(o.pin); if (o.mode !== Digital.Output) throw new Error('relay pin must be an output'); }
  Digital.Output = 8;
  Digital.prototype.write = function (v) { report({ t: 'relay', board: this.pin, v: v }); };
  Digital.prototype.read = function () { return 0; };
  G.device = { io: { Digital: Digital } };
})(globalThis);`;

const SETTINGS = /\/\/ --- settings[^\n]*\n[\s\S]*?\/\/ --- end settings\n/;

/** The Espruino example script, with its settings block pointed at the test broker. */
export function espruinoBoard(runId: string): BoardRun {
  const id = `espruino-${runId}`;
  const file = `${ROOT}boards/espruino-app/sensor.js`;
  const text = fs.readFileSync(file, 'utf8');
  const block = text.match(SETTINGS);
  if (!block) throw new Error(`${file}: no "// --- settings" ... "// --- end settings" block`);
  // The board's own buffer settings, evaluated as written (plain object literal).
  const bm = block[0].match(/var BUFFERS = (\{[^}]*\});/);
  if (!bm) throw new Error(`${file}: no BUFFERS in the settings`);
  const buffers = Function(`return ${bm[1]}`)() as Record<string, number>;
  return {
    name: 'espruino-app', id, buffers,
    async start(b: XsBridge, broker: Broker) {
      const settings = `// --- settings (test)
var WIFI_NAME = "test-net";
var WIFI_OPTIONS = { password: "not-logged" };
var BROKER = "localhost";
var PORT = ${broker.port};
var ID = ${JSON.stringify(id)};
${bm[0]}
var RELAY_PIN = "D2";
// --- end settings
`;
      await b.run(text.replace(SETTINGS, () => settings));
    },
    relayWrites: (b) => b.reportsOf('relay').filter((r) => r.board === 'D2').map((r) => r.v as number),
  };
}

/** Espruino's Wifi, digitalWrite, getSerial and console.log; require() also finds the two modules by name. */
export const ESPRUINO_HOST = `(function (G) {
  var req = G.require, mq = G.__mq, app = G.__app;
  var wifi = { connect: function (ssid, o, cb) { report({ t: 'wifi', ssid: ssid }); setTimeout(function () { cb(null); }, 10); } };
  G.require = function (name) {
    if (name === 'mcu-mqtt') return mq;
    if (name === 'sensor-app') return app;
    if (name === 'Wifi') return wifi;
    return req(name);
  };
  G.digitalWrite = function (pin, v) { report({ t: 'relay', board: String(pin), v: v }); };
  G.getSerial = function () { return '3c71bf-0a0b0c'; };
  G.console = { log: function (s) { report({ t: 'console', s: String(s) }); } };
})(globalThis);`;

type Telemetry = { at: number; temp: number; hum: number; up: number; qos: number; retain: boolean };

export interface MemoryFigure {
  board: string;
  /** Client options given by the board. */
  buffers: Record<string, number>;
  /** Bytes of the typed arrays the client and app hold (walked in XS). */
  bufferBytes: number;
  /** XS slots added by starting the board (main, client, transport, app, socket), after gc. */
  slots: number;
}

/**
 * Registers the app scenario: every board starts (one at a time, heap measured before and after),
 * then all run together: retained "online", telemetry at QoS 1 with rising uptime, commands with
 * replies, the will on a cut socket, "online" again after the reconnect.
 */
export function registerAppScenario(test: Test, flavor: Flavor, boards: (runId: string) => BoardRun[], onMemory: (m: MemoryFigure[], p: PartsFigure) => void): void {
  const why = !MOSQUITTO.bin ? MOSQUITTO.why : '';
  if (why) {
    console.log(`skipped: XS ${flavor} example app: ${why}`);
    test.skip(`XS ${flavor} example app (${why})`, () => {});
    return;
  }
  const s = {} as { broker: Broker; peer: Peer; bridge: XsBridge; boards: BoardRun[]; tel: Map<string, Telemetry[]>; mem: MemoryFigure[] };
  const topic = (b: BoardRun, t: string) => `devices/${b.id}/${t}`;
  const replies = (b: BoardRun, cmd: string) => s.peer.on(topic(b, `reply/${cmd}`)).map((m) => m.payload);
  const statuses = (b: BoardRun) => s.peer.on(topic(b, 'status')).map((m) => m.payload);
  const all = async (pred: (b: BoardRun) => boolean, ms: number, what: string) =>
    s.bridge.waitFor(() => s.boards.every(pred), ms, () => `${what} (${s.boards.filter((b) => !pred(b)).map((b) => b.name).join(', ')} missing)`);
  /** A fresh MQTT.js subscriber's view of the retained status of each board. */
  const retained = async () => {
    const p = await mqttPeer(s.broker);
    try {
      await p.c.subscribeAsync('devices/+/status', { qos: 1 });
      await s.bridge.waitFor(() => s.boards.every((b) => p.on(topic(b, 'status')).length), 3000, 'retained status for every board');
      return s.boards.map((b) => p.on(topic(b, 'status'))[0]);
    } finally {
      await within(p.c.endAsync(true), 3000, 'retained peer end').catch(() => {});
    }
  };

  test.before(async () => {
    const av = xsnapAvailable();
    if (!av.ok) throw new Error(av.why);
    ensureAppBundles();
    s.boards = boards(uid('app').replace(/[^0-9A-Za-z-]/g, ''));
    s.tel = new Map(s.boards.map((b) => [b.id, []]));
    s.broker = await startMosquitto();
    s.peer = await mqttPeer(s.broker);
    s.peer.c.on('message', (t, payload, packet) => {
      const b = s.boards.find((x) => t === topic(x, 'telemetry'));
      if (b) s.tel.get(b.id)!.push({ at: Date.now(), ...JSON.parse(payload.toString()), qos: packet.qos, retain: !!packet.retain });
    });
    await s.peer.c.subscribeAsync(s.boards.flatMap((b) => [topic(b, 'telemetry'), topic(b, 'status'), topic(b, 'reply/#')]), { qos: 1 });
    const trace = process.env.XS_BRIDGE_TRACE ? (l: string) => process.stderr.write(`[xs] ${l.length > 300 ? l.slice(0, 300) + '...' : l}\n`) : undefined;
    s.bridge = await XsBridge.start({ flavor, trace });
    await s.bridge.run(await appBundleScript(flavor));
    await s.bridge.run(RECORDER);
    await s.bridge.run(flavor === 'moddable' ? MODDABLE_HOST : ESPRUINO_HOST);
  });

  test.after(async () => {
    await within(s.bridge?.close() ?? Promise.resolve(), 5000, 'bridge close').catch((e) => console.log(`  ${e.message}`));
    await within(s.peer?.c.endAsync(true) ?? Promise.resolve(), 3000, 'peer end').catch(() => {});
    await within(s.broker?.stop() ?? Promise.resolve(), 5000, 'mosquitto stop').catch((e) => console.log(`  ${e.message}`));
  });

  test(`${flavor}: each board's app starts in XS, connects and publishes a retained "online" (heap measured)`, async () => {
    s.mem = [];
    let before = await s.bridge.heap();
    for (let i = 0; i < s.boards.length; i++) {
      const b = s.boards[i];
      await b.start(s.bridge, s.broker);
      await s.bridge.waitFor(() => statuses(b).includes('online'), 5000, `${b.name}: "online" at the peer`);
      await sleep(100); // the SUBACK for the command subscription
      const after = await s.bridge.heap();
      s.mem.push({ board: b.name, buffers: b.buffers, bufferBytes: await s.bridge.value<number>(bufferBytes(i)), slots: after - before });
      before = after;
    }
    assert.is(await s.bridge.value('__made.clients.length'), s.boards.length, 'one client per board');
    const r = await retained();
    assert.equal(r.map((m) => [m.payload, m.retain]), s.boards.map(() => ['online', true]), 'retained "online" for a new subscriber');
    onMemory(s.mem, await parts(s.bridge, flavor, s.boards[s.boards.length - 1].buffers));
  });

  test(`${flavor}: telemetry every 2 s at QoS 1, JSON, uptime rising`, async () => {
    await all((b) => s.tel.get(b.id)!.length >= 1, 4000, 'first telemetry');
    for (const b of s.boards) {
      const t = s.tel.get(b.id)![0];
      assert.is(t.qos, 1, `${b.name}: QoS 1`);
      assert.ok(t.up >= 1 && t.up <= 3, `${b.name}: first telemetry at about 2 s, up ${t.up}`);
      assert.ok(t.temp >= 15 && t.temp <= 30 && t.hum >= 20 && t.hum <= 80, `${b.name}: readings ${JSON.stringify(t)}`);
    }
  });

  test(`${flavor}: commands get replies: interval, relay toggle, ping, unknown`, async () => {
    const cmd = (b: BoardRun, c: string, p: string) => s.peer.c.publishAsync(topic(b, `cmd/${c}`), p, { qos: 1 });
    for (const b of s.boards) await cmd(b, 'interval', '250');
    await all((b) => replies(b, 'interval').includes('250'), 3000, 'reply/interval 250');
    const t0 = Date.now();
    // At 250 ms, four more messages come within about a second; their uptime keeps rising.
    await all((b) => s.tel.get(b.id)!.filter((t) => t.at > t0).length >= 6, 4000, 'telemetry at the new interval');
    for (const b of s.boards) {
      const after = s.tel.get(b.id)!.filter((t) => t.at > t0);
      const span = after[after.length - 1].at - after[0].at;
      assert.ok(span < 5 * 250 + 500, `${b.name}: 6 messages in ${span} ms at a 250 ms interval`);
      const ups = s.tel.get(b.id)!.map((t) => t.up);
      assert.ok(ups.every((u, i) => i === 0 || u >= ups[i - 1]) && ups[ups.length - 1] > ups[0], `${b.name}: uptime rises: ${ups.join(',')}`);
    }
    for (const b of s.boards) { await cmd(b, 'relay', 'toggle'); await cmd(b, 'relay', 'toggle'); await cmd(b, 'relay', 'on'); }
    await all((b) => replies(b, 'relay').length >= 3, 3000, 'three relay replies');
    for (const b of s.boards) {
      assert.equal(replies(b, 'relay'), ['on', 'off', 'on'], `${b.name}: relay replies`);
      const w = b.relayWrites(s.bridge);
      if (w.length) assert.equal(w, [0, 1, 0, 1], `${b.name}: relay pin writes (initial 0, then each command)`);
    }
    assert.ok(s.boards.some((b) => b.relayWrites(s.bridge).length), 'some board drives a relay pin');
    for (const b of s.boards) { await cmd(b, 'ping', ''); await cmd(b, 'launch', 'now'); await cmd(b, 'interval', 'soon'); }
    await all((b) => replies(b, 'ping').length >= 1 && replies(b, 'error').length >= 2, 3000, 'ping and error replies');
    for (const b of s.boards) {
      assert.equal(replies(b, 'ping'), ['pong'], `${b.name}: ping`);
      assert.equal(replies(b, 'error'), ['unknown command', 'bad interval'], `${b.name}: errors`);
    }
  });

  test(`${flavor}: a cut socket publishes the will (retained "offline"); the reconnect says "online" again`, async () => {
    s.bridge.block(true);
    assert.is(s.bridge.cut(), s.boards.length, 'one socket per board cut');
    await all((b) => statuses(b).includes('offline'), 5000, 'the will at the peer');
    const r = await retained();
    assert.equal(r.map((m) => [m.payload, m.retain]), s.boards.map(() => ['offline', true]), 'retained "offline" for a new subscriber');
    s.bridge.block(false);
    await all((b) => statuses(b).lastIndexOf('online') > statuses(b).indexOf('offline'), 8000, '"online" after the reconnect');
    const n = s.tel.size ? Math.min(...s.boards.map((b) => s.tel.get(b.id)!.length)) : 0;
    await all((b) => s.tel.get(b.id)!.length > n, 3000, 'telemetry after the reconnect');
  });

  test(`${flavor}: app.stop() publishes a retained "offline", then DISCONNECT (no will)`, async () => {
    const offline = s.boards.map((b) => statuses(b).length);
    await s.bridge.run(`for (var i = 0; i < __made.apps.length; i++) __made.apps[i].stop();`);
    await all((b) => s.broker.log.some((l) => l.includes(`Client ${b.id} disconnected`)), 5000, 'a clean disconnect in the mosquitto log');
    await all((b) => statuses(b).length > offline[s.boards.indexOf(b)], 3000, 'the "offline" from stop()');
    const r = await retained();
    assert.equal(r.map((m) => [m.payload, m.retain]), s.boards.map(() => ['offline', true]), 'retained "offline"');
    await sleep(300);
    for (const b of s.boards) assert.equal(statuses(b).slice(offline[s.boards.indexOf(b)]), ['offline'], `${b.name}: one "offline" (no will after it)`);
    await s.bridge.waitFor(() => s.bridge.open === 0, 3000, 'the sockets to close');
  });

  test(`${flavor}: no exception escaped into XS callbacks`, () => {
    assert.equal(s.bridge.errors, []);
  });
}

/** XS slots of each part, made idle one after the other (no connection): what the board total is made of. */
export interface PartsFigure {
  buffers: Record<string, number>;
  client: number;
  app: number;
  transport: number;
}

async function parts(b: XsBridge, flavor: Flavor, buffers: Record<string, number>): Promise<PartsFigure> {
  const clock = flavor === 'moddable' ? '__mq.moddableClock' : '__mq.espruinoClock';
  const transport = flavor === 'moddable' ? '__mq.TcpTransport' : '__mq.NetTransport';
  const id = JSON.stringify('esp8266-aabbccddeeff');
  await b.run('globalThis.__parts = [];');
  const h0 = await b.heap();
  await b.run(`__parts.push(new __mq.MqttClient({ open: function () {}, write: function (x, o, n) { return n; }, close: function () {} }, ${clock},
    Object.assign({ host: 'x', clientId: ${id}, will: __app.sensorWill(${id}) }, ${JSON.stringify(buffers)})));`);
  const h1 = await b.heap();
  await b.run(`__parts.push(new __app.SensorApp(__parts[0], ${clock}, { temperature: function () { return 1; }, humidity: function () { return 2; } }, { id: ${id} }));`);
  const h2 = await b.heap();
  await b.run(`__parts.push(new ${transport}());`);
  const h3 = await b.heap();
  await b.run('__parts = null;');
  return { buffers, client: h1 - h0, app: h2 - h1, transport: h3 - h2 };
}

/** The compiled app as a script defining the global `__app`. */
export async function appBundleScript(flavor: Flavor): Promise<string> {
  if (flavor === 'espruino') {
    const code = fs.readFileSync(APP_BUNDLES.espruino, 'utf8');
    return `(function () {\nvar module = { exports: {} }, exports = module.exports;\n${code}\n;globalThis.__app = module.exports;\n})();\n`;
  }
  return moduleScript(APP_BUNDLES.moddable, {}, '__app');
}

/** A compact table of the memory figures (slots at 16 bytes, as on a 32-bit MCU). */
export function memoryTable(m: MemoryFigure[]): string {
  return m.map((x) => `${x.board.padEnd(13)} buffers ${String(x.bufferBytes).padStart(6)} B   XS slots ${String(x.slots).padStart(5)} (${x.slots * 16} B at 16 B/slot)`).join('\n');
}
