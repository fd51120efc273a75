// npm run bench:e2e — end-to-end throughput through a real broker: mcu-mqtt ("ours": MqttClient
// over host-sim's NodeTransport/nodeClock) and MQTT.js 5 ("mqttjs") side by side, in one run,
// through the same mosquitto. A benchmark, not a test (test/run.js skips test/bench/).
//
// Arrangement:
// - The runner (this file without arguments) starts its own mosquitto (host-sim/mosquitto.ts) on a
//   free loopback port from a config file in a temp dir: `listener PORT 127.0.0.1`,
//   `allow_anonymous true`, `max_inflight_messages 0` and `max_queued_messages 0` (no limits: the
//   broker forwards as fast as it can, QoS 2 included), `persistence false`. It is stopped at the end.
// - Each library runs in its own child process (`node --import tsx test/bench/e2e.ts <lib> <port>
//   <timeoutMs>`), one at a time, so peak RSS (process.resourceUsage().maxRSS) is that library's
//   alone; a child loads only its own library (dynamic import). Three children per library, in
//   the order ours, mqttjs, mqttjs, ours, ours, mqttjs (a drift in machine load hits both alike);
//   a library's msgs/s is the MEDIAN of its three runs per QoS (min..max shown), its RSS the
//   largest peak of its three children.
// - In a child: one subscriber and one publisher client of that library. For QoS 0, 1, 2 in turn:
//   the subscriber subscribes (at that QoS) to a topic of its own, then the publisher sends
//   `count` (50,000) messages of 64 bytes; the first 4 payload bytes are the sequence number.
//   The subscriber counts distinct sequence numbers (plus duplicates and out-of-order arrivals).
//   A run ends when all have arrived or after `timeoutMs`; msgs/s is distinct messages received
//   divided by the time from the first to the last arrival, at the subscriber.
// - Publishing, ours: publish() in a loop while the outbox has room (ERR_OUTBOX_FULL pauses it
//   until onDrain), at most 1,000 per macrotask (setImmediate) so the sockets get their turn.
//   Desktop-sized options (an MCU build uses the small defaults): outboxSize 4 MiB, maxInflight
//   1,000, maxInboundQos2 4,096 (mosquitto with max_inflight_messages 0 sends QoS 2 messages in
//   bursts, each awaiting PUBREL), rxSize 4,096, txSize 4,096. The same payload array is reused:
//   publish() copies it into the outbox.
// - Publishing, MQTT.js ("mqttjs"): publish(topic, payload, { qos }) for all 50,000 messages in
//   one plain loop, the way MQTT.js's README shows it and the way the issue's reference figures
//   (100k / 54k / 3.8k msgs/s) were measured, without a callback; MQTT.js queues what the socket
//   can't take. Each
//   message gets its own 64-byte Buffer: MQTT.js keeps the payload by reference until acked.
// - Also reported, MQTT.js throttled ("mqttjsWindowed"): the same, but publishing only while fewer
//   than 1,000 callbacks are outstanding (the same window as our maxInflight), at most 1,000 per
//   macrotask. Not how MQTT.js is usually called, but it shows MQTT.js at its best: at QoS 2 the
//   plain loop is about 6x slower than this (its outgoing QoS 2 path degrades with 50,000 pending).
// - CPU: each child reports its own CPU time (process.cpuUsage, user+system) per QoS run divided
//   by the messages received: microseconds of client CPU per message, publisher and subscriber
//   together. Each run also reports the broker's CPU (from /proc) as a percentage of one core:
//   near 100 means mosquitto, not the client, was the limit, and then msgs/s cannot tell the
//   clients apart while CPU per message still does.
// The LAST line printed is one JSON object:
// {"bench":"e2e","qos0":{"ours":…,"mqttjs":…,"mqttjsWindowed":…},"qos1":{…},"qos2":{…},
//  "rssMB":{"ours":…,"mqttjs":…,"mqttjsWindowed":…},"cpuUsPerMsg":{"qos0":{…},…},"brokerCpuPct":{…}}
// (median msgs/s, rounded; rssMB the largest peak RSS of the library's child processes). About
// two minutes in all here; each QoS run gives up after 40 s (received counts are then reported).
import { spawn, execSync } from 'node:child_process';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const COUNT = 50_000;
const PAYLOAD = 64;
const RUN_TIMEOUT_MS = 40_000;
const ORDER: Lib[] = ['ours', 'mqttjs', 'mqttjsWindowed', 'mqttjsWindowed', 'mqttjs', 'ours', 'ours', 'mqttjs', 'mqttjsWindowed'];
const SLICE = 1000;
const WINDOW = 1000;
const HOST = '127.0.0.1';
const MOSQUITTO = process.env.MOSQUITTO || undefined;

type Lib = 'ours' | 'mqttjs' | 'mqttjsWindowed';

interface RunResult {
  qos: number;
  sent: number;
  received: number;
  dups: number;
  outOfOrder: number;
  ms: number;
  rate: number;
  /** Client CPU (both clients of the child) per message received, microseconds. */
  cpuUs: number;
  /** Broker (mosquitto) CPU time over the run's wall time, percent of one core. */
  brokerCpuPct: number;
  complete: boolean;
  errors: string[];
}

interface ChildResult {
  e2e: Lib;
  runs: RunResult[];
  rssMB: number;
  baseRssMB: number;
}

// ---------------------------------------------------------------------------------------------
// Child: one library

/** Subscriber-side bookkeeping shared by both libraries. */
class Tally {
  readonly seen = new Uint8Array(COUNT);
  received = 0;
  dups = 0;
  outOfOrder = 0;
  last = -1;
  t0 = 0;
  t1 = 0;
  done: (() => void) | null = null;
  hit(seq: number): void {
    const now = performance.now();
    if (seq < 0 || seq >= COUNT) return;
    if (this.seen[seq]) {
      this.dups++;
      return;
    }
    this.seen[seq] = 1;
    if (seq < this.last) this.outOfOrder++;
    this.last = seq;
    if (!this.received) this.t0 = now;
    this.t1 = now;
    if (++this.received === COUNT && this.done) this.done();
  }
  cpu0 = process.cpuUsage();
  wall0 = performance.now();
  broker0 = brokerCpuMs();
  result(qos: number, sent: number, errors: string[]): RunResult {
    const ms = this.t1 - this.t0;
    const cpu = process.cpuUsage(this.cpu0);
    return {
      qos, sent, received: this.received, dups: this.dups, outOfOrder: this.outOfOrder, ms: Math.round(ms),
      brokerCpuPct: Math.round(((brokerCpuMs() - this.broker0) / (performance.now() - this.wall0)) * 100),
      cpuUs: this.received ? Math.round(((cpu.user + cpu.system) / this.received) * 100) / 100 : 0,
      rate: this.received > 1 && ms > 0 ? Math.round((this.received * 1000) / ms) : 0,
      complete: this.received === COUNT, errors,
    };
  }
}

/** mosquitto's CPU time so far (user + system, ms) from /proc; the runner passes its pid. */
function brokerCpuMs(): number {
  const pid = process.env.E2E_BROKER_PID;
  const hz = Number(process.env.E2E_CLK_TCK) || 100;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const v = f.slice(f.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return ((Number(v[11]) + Number(v[12])) * 1000) / hz; // utime, stime: fields 14, 15
  } catch {
    return 0;
  }
}

/** Resolves when `t` has everything, or after the timeout. */
function finished(t: Tally, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    t.done = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitUntil(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

async function childOurs(port: number, timeoutMs: number): Promise<RunResult[]> {
  const { MqttClient, ERR_OUTBOX_FULL, CONNECTED } = await import('../../src/index.ts');
  const { NodeTransport, nodeClock } = await import('../../host-sim/node-transport.ts');
  type Client = InstanceType<typeof MqttClient>;
  const errors: string[] = [];
  const opts = {
    host: HOST, port, keepalive: 60, reconnect: false,
    outboxSize: 4 << 20, maxInflight: WINDOW, maxInboundQos2: 4096, rxSize: 4096, txSize: 4096,
  };
  const make = (id: string): Client => {
    const c = new MqttClient(new NodeTransport(), nodeClock, { ...opts, clientId: `e2e-ours-${id}-${process.pid}` });
    c.onError = (e) => errors.push(`${id}: ${e.message}`);
    return c;
  };
  const connect = async (c: Client): Promise<void> => {
    c.connect();
    if (!(await waitUntil(() => c.state === CONNECTED, 5000))) throw new Error('connect failed: ' + errors.join('; '));
  };
  const sub = make('sub');
  const pub = make('pub');
  await connect(sub);
  await connect(pub);

  let tally = new Tally();
  sub.onMessage = (p) => {
    const b = p.buf;
    const o = p.payloadOff;
    tally.hit(((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0);
  };
  const payload = new Uint8Array(PAYLOAD);
  for (let k = 4; k < PAYLOAD; k++) payload[k] = k;

  const runs: RunResult[] = [];
  for (const qos of [0, 1, 2]) {
    const topic = `bench/e2e/ours/${process.pid}/q${qos}`;
    tally = new Tally();
    errors.length = 0;
    let granted = -1;
    sub.subscribe(topic, qos, null, (codes) => (granted = codes[0]));
    if (!(await waitUntil(() => granted >= 0, 5000)) || granted !== qos) throw new Error(`SUBACK ${granted}`);
    const all = finished(tally, timeoutMs);
    let sent = 0;
    let paused = false;
    const publishSome = (): void => {
      paused = false;
      let n = 0;
      while (sent < COUNT && n < SLICE) {
        payload[0] = sent >>> 24;
        payload[1] = (sent >>> 16) & 255;
        payload[2] = (sent >>> 8) & 255;
        payload[3] = sent & 255;
        const r = pub.publish(topic, payload, qos);
        if (r === ERR_OUTBOX_FULL) {
          paused = true; // onDrain resumes
          return;
        }
        if (r) {
          errors.push(`publish returned ${r}`);
          return;
        }
        sent++;
        n++;
      }
      if (sent < COUNT) setImmediate(publishSome);
    };
    pub.onDrain = () => {
      if (paused) publishSome();
    };
    publishSome();
    await all;
    runs.push(tally.result(qos, sent, [...errors]));
    // Let the publisher's acks finish before the next QoS.
    await waitUntil(() => pub.queued === 0, 5000);
    let unsubbed = false;
    sub.unsubscribe(topic, () => (unsubbed = true));
    await waitUntil(() => unsubbed, 5000);
  }
  pub.end();
  sub.end();
  return runs;
}

async function childMqttjs(port: number, timeoutMs: number, windowed: boolean): Promise<RunResult[]> {
  const mqtt = await import('mqtt');
  const errors: string[] = [];
  const connect = async (id: string) => {
    const c = await mqtt.connectAsync(`mqtt://${HOST}:${port}`, {
      clientId: `e2e-mqttjs-${id}-${process.pid}`, protocolVersion: 4, clean: true, reconnectPeriod: 0, keepalive: 60,
    });
    c.on('error', (e) => errors.push(`${id}: ${e.message}`));
    return c;
  };
  const sub = await connect('sub');
  const pub = await connect('pub');
  let tally = new Tally();
  sub.on('message', (_topic, payload) => tally.hit(payload.readUInt32BE(0)));

  const runs: RunResult[] = [];
  for (const qos of [0, 1, 2] as const) {
    const topic = `bench/e2e/mqttjs/${process.pid}/q${qos}`;
    tally = new Tally();
    errors.length = 0;
    const g = await sub.subscribeAsync(topic, { qos });
    if (g[0]?.qos !== qos) throw new Error(`SUBACK ${JSON.stringify(g)}`);
    const all = finished(tally, timeoutMs);
    let sent = 0;
    let acked = 0;
    let paused = false;
    const onDone = (err?: Error): void => {
      if (err) errors.push(err.message);
      acked++;
      if (paused && sent - acked < WINDOW / 2) {
        paused = false;
        setImmediate(publishSome);
      }
    };
    const publishSome = (): void => {
      let n = 0;
      while (sent < COUNT && (n < SLICE || !windowed)) {
        if (windowed && sent - acked >= WINDOW) {
          paused = true; // a callback resumes
          return;
        }
        const payload = Buffer.allocUnsafe(PAYLOAD);
        payload.writeUInt32BE(sent, 0);
        for (let k = 4; k < PAYLOAD; k++) payload[k] = k;
        // Plain loop: no callback, as MQTT.js's README publishes (a callback per QoS 0 message in a
        // plain loop adds a 'drain' listener each and collapses MQTT.js to ~6k msgs/s here).
        if (windowed) pub.publish(topic, payload, { qos }, onDone);
        else pub.publish(topic, payload, { qos });
        sent++;
        n++;
      }
      if (sent < COUNT) setImmediate(publishSome);
    };
    publishSome();
    await all;
    runs.push(tally.result(qos, sent, [...errors]));
    // Let the publisher's acks finish before the next QoS (MQTT.js keeps unacked ones in `outgoing`).
    await waitUntil(() => (windowed ? acked >= sent : Object.keys((pub as unknown as { outgoing: object }).outgoing).length === 0), 5000);
    await sub.unsubscribeAsync(topic);
  }
  await pub.endAsync();
  await sub.endAsync();
  return runs;
}

async function child(lib: Lib, port: number, timeoutMs: number): Promise<void> {
  const baseRssMB = process.memoryUsage().rss / 1048576;
  const runs = lib === 'ours' ? await childOurs(port, timeoutMs) : await childMqttjs(port, timeoutMs, lib === 'mqttjsWindowed');
  const res: ChildResult = { e2e: lib, runs, rssMB: process.resourceUsage().maxRSS / 1024, baseRssMB };
  console.log(JSON.stringify(res));
}

// ---------------------------------------------------------------------------------------------
// Runner

const root = fileURLToPath(new URL('../..', import.meta.url));
const self = fileURLToPath(import.meta.url);

let brokerPid = 0;
let clkTck = '100';
try {
  clkTck = execSync('getconf CLK_TCK').toString().trim();
} catch {
  // 100 on Linux
}

function runChild(lib: Lib, port: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', E2E_BROKER_PID: String(brokerPid), E2E_CLK_TCK: clkTck };
    delete env.DEBUG; // mqtt-packet and MQTT.js log through `debug`: never let a stray DEBUG slow them
    const p = spawn(process.execPath, ['--import', 'tsx', self, lib, String(port), String(RUN_TIMEOUT_MS)], {
      cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 3 * RUN_TIMEOUT_MS + 30_000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trimEnd().split('\n').pop() || '';
      try {
        const r = JSON.parse(last) as ChildResult;
        if (r.e2e !== lib) throw new Error('no result');
        resolve(r);
      } catch {
        reject(new Error(`${lib} child failed (${signal || 'exit ' + code}):\n${out}${err}`));
      }
    });
  });
}

async function runner(): Promise<void> {
  const t0 = performance.now();
  // Imported here, so a child loads nothing it does not measure.
  const { Mosquitto } = await import('../../host-sim/mosquitto.ts');
  const m = await Mosquitto.start({ bin: MOSQUITTO, config: ['max_inflight_messages 0', 'max_queued_messages 0'], tag: 'e2e' });
  const results: Record<Lib, ChildResult[]> = { ours: [], mqttjs: [], mqttjsWindowed: [] };
  try {
    console.log(`e2e bench: ${COUNT.toLocaleString('en-US')} messages x ${PAYLOAD} B per QoS, one publisher + one subscriber ` +
      `per library, mosquitto on ${HOST}:${m.port} (max_inflight_messages 0, max_queued_messages 0), Node ${process.version}`);
    console.log(`ours: MqttClient + NodeTransport, outboxSize 4 MiB, maxInflight ${WINDOW}, maxInboundQos2 4096 (desktop sizes); ` +
      `mqttjs: MQTT.js ${(await import('mqtt')).MQTTJS_VERSION ?? '5'}, publish() in a plain loop; mqttjsWindowed: at most ${WINDOW} unacknowledged`);
    for (const lib of ORDER) {
      brokerPid = m.pid;
      const r = await runChild(lib, m.port);
      results[lib].push(r);
      console.log(`  ${lib.padEnd(6)} #${results[lib].length}: peak RSS ${r.rssMB.toFixed(1)} MB`);
      for (const x of r.runs) {
        console.log(`    qos ${x.qos}: ${x.received}/${COUNT} received in ${x.ms} ms -> ${x.rate.toLocaleString('en-US')} msgs/s` +
          `, client CPU ${x.cpuUs} us/msg, broker CPU ${x.brokerCpuPct}%` +
          `${x.dups ? `, ${x.dups} dups` : ''}${x.outOfOrder ? `, ${x.outOfOrder} out of order` : ''}` +
          `${x.complete ? '' : ' (TIMEOUT)'}${x.errors.length ? ` errors: ${x.errors.slice(0, 3).join('; ')}` : ''}`);
      }
    }
  } finally {
    await m.destroy(1000);
  }
  const median = (a: number[]) => {
    const s = [...a].sort((x, y) => x - y);
    const k = s.length >> 1;
    return s.length & 1 ? s[k] : (s[k - 1] + s[k]) / 2;
  };
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const rate = (lib: Lib, q: number) => Math.round(median(results[lib].map((r) => r.runs[q].rate)));
  const rss = (lib: Lib) => Math.max(...results[lib].map((r) => r.rssMB));
  const cpu = (lib: Lib, q: number) => median(results[lib].map((r) => r.runs[q].cpuUs));
  const rows: string[][] = [['', 'ours', 'min .. max', 'mqttjs', 'min .. max', 'mqttjsWindowed', 'ours/mqttjs', 'ours/windowed',
    'CPU us/msg ours', 'mqttjs', 'windowed']];
  for (const q of [0, 1, 2]) {
    const cells = (lib: Lib) => {
      const rs = results[lib].map((r) => r.runs[q]);
      const lost = rs.filter((x) => !x.complete).map((x) => fmt(x.received));
      const rates = rs.map((x) => x.rate);
      return [`${fmt(rate(lib, q))} msgs/s${lost.length ? ` (incomplete: ${lost.join(', ')} of ${fmt(COUNT)})` : ''}`,
        `${fmt(Math.min(...rates))} .. ${fmt(Math.max(...rates))}`];
    };
    const ratio = (lib: Lib) => (rate(lib, q) ? (rate('ours', q) / rate(lib, q)).toFixed(2) : '-');
    rows.push([`QoS ${q}`, ...cells('ours'), ...cells('mqttjs'), cells('mqttjsWindowed')[0], ratio('mqttjs'), ratio('mqttjsWindowed'),
      cpu('ours', q).toFixed(2), cpu('mqttjs', q).toFixed(2), cpu('mqttjsWindowed', q).toFixed(2)]);
  }
  rows.push(['peak RSS', `${rss('ours').toFixed(1)} MB`, '', `${rss('mqttjs').toFixed(1)} MB`, '', `${rss('mqttjsWindowed').toFixed(1)} MB`,
    (rss('ours') / rss('mqttjs')).toFixed(2), (rss('ours') / rss('mqttjsWindowed')).toFixed(2), '', '', '']);
  rows.push(['RSS at start', `${results.ours[0].baseRssMB.toFixed(1)} MB`, '', `${results.mqttjs[0].baseRssMB.toFixed(1)} MB`, '',
    `${results.mqttjsWindowed[0].baseRssMB.toFixed(1)} MB`, '', '', '', '', '']);
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  console.log('');
  rows.forEach((r, i) => {
    console.log(r.map((v, c) => (c ? v.padStart(w[c]) : v.padEnd(w[c]))).join('  '));
    if (!i) console.log(w.map((n) => '-'.repeat(n)).join('  '));
  });
  console.log(`(median of ${results.ours.length} runs per library; msgs/s at the subscriber, first to last arrival; ` +
    `CPU us/msg = the child's own CPU time (publisher + subscriber) per message received; ` +
    `peak RSS = largest maxRSS of the library's own processes (Node + tsx baseline included: see RSS at start); ` +
    `total ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const q = (i: number) => ({ ours: rate('ours', i), mqttjs: rate('mqttjs', i), mqttjsWindowed: rate('mqttjsWindowed', i) });
  const c = (i: number) => ({ ours: cpu('ours', i), mqttjs: cpu('mqttjs', i), mqttjsWindowed: cpu('mqttjsWindowed', i) });
  const r1 = (n: number) => Math.round(n * 10) / 10;
  const bp = (lib: Lib, i: number) => median(results[lib].map((r) => r.runs[i].brokerCpuPct));
  const bc = (i: number) => ({ ours: bp('ours', i), mqttjs: bp('mqttjs', i), mqttjsWindowed: bp('mqttjsWindowed', i) });
  console.log(JSON.stringify({
    bench: 'e2e', qos0: q(0), qos1: q(1), qos2: q(2),
    rssMB: { ours: r1(rss('ours')), mqttjs: r1(rss('mqttjs')), mqttjsWindowed: r1(rss('mqttjsWindowed')) },
    cpuUsPerMsg: { qos0: c(0), qos1: c(1), qos2: c(2) },
    brokerCpuPct: { qos0: bc(0), qos1: bc(1), qos2: bc(2) },
  }));
}

const [mode, portArg, timeoutArg] = process.argv.slice(2);
if (mode === 'ours' || mode === 'mqttjs' || mode === 'mqttjsWindowed') {
  await child(mode, Number(portArg), Number(timeoutArg));
  process.exit(0);
} else if (mode) {
  console.error('usage: node --import tsx test/bench/e2e.ts [ours|mqttjs|mqttjsWindowed <port> <timeoutMs>]');
  process.exit(2);
} else {
  try {
    await runner();
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
