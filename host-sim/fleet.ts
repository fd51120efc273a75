// `npm start -- --boards N`: N simulated sensor boards in this process, each its own MqttClient
// with ESP8266-sized fixed buffers, its own socket and the example app, started at a steady ramp.
// A monitor client (MQTT.js) counts the telemetry the broker delivers and pings random boards.
// Progress is one line updated in place on a terminal, plain lines otherwise; the end reports
// rates and memory per board: (RSS - baseline) / N and (heapUsed - baseline) / N after a GC.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { spawnSync } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { openBroker } from './sim-broker.ts';
import { NodeBoard, ESP8266 } from './sim-board.ts';
import { packetCounts } from './wire-counter.ts';
import { rng } from './rng.ts';
import type { StartArgs } from './start-args.ts';

const MB = 1024 * 1024;

/** A real full GC: --expose-gc when given, else switched on at run time. */
function gcFn(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

/** File descriptors this process may open (Node raises its soft limit to the hard one). */
function fdLimit(): number {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const n = Number(r.stdout.trim());
  return r.status === 0 && Number.isFinite(n) ? n : Infinity;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export async function runFleet(a: StartArgs, stopSignal: Promise<string>): Promise<number> {
  const N = a.boards!;
  const interval = a.interval || 10_000;
  const prefix = a.id || `fleet-${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0')}`;
  const tty = !!process.stdout.isTTY;
  const out = (s: string) => process.stdout.write(s + '\n');
  const t0 = performance.now();
  const secs = () => (performance.now() - t0) / 1000;
  const stamp = () => `${secs().toFixed(1).padStart(6)}s`;

  const limit = fdLimit();
  if (N + 64 > limit) {
    throw new Error(`${N} boards need ${N + 64} file descriptors; this process may open ${limit}. `
      + `Raise it first (ulimit -n ${N + 1024}, as root or within the hard limit).`);
  }
  const broker = await openBroker(a.broker);
  const lag = monitorEventLoopDelay({ resolution: 20 });
  const timers: NodeJS.Timeout[] = [];
  let boards: NodeBoard[] = [];
  let monitor: Awaited<ReturnType<typeof mqtt.connectAsync>> | null = null;
  try {
    out(`${stamp()}  fleet    -- ${broker.label} on ${broker.url}`);
    if (broker.kind === 'aedes' && N > 2000) out(`${stamp()}  fleet    -- note: for thousands of boards use --broker mosquitto (Aedes shares this process)`);
    const o = ESP8266;
    out(`${stamp()}  fleet    -- ${fmt(N)} boards ${prefix}-00000.., ESP8266 options (rx ${o.rxSize} B, tx ${o.txSize} B, outbox ${o.outboxSize} B, inflight ${o.maxInflight}, keepalive ${o.keepalive} s), telemetry every ${interval} ms at QoS ${a.qos}, ${a.ramp} boards/s`);

    // ---- monitor: counts telemetry the broker delivers, pings boards
    let seen = 0;
    let online = 0;
    let pings = 0;
    let pongs = 0;
    const pfx = `devices/${prefix}-`;
    monitor = await mqtt.connectAsync(`${broker.tls ? 'mqtts' : 'mqtt'}://${broker.host}:${broker.port}`, {
      protocolVersion: 4, clientId: `monitor-${prefix}`, reconnectPeriod: 1000, keepalive: 60,
      username: broker.username, password: broker.password, rejectUnauthorized: !a.insecure,
    });
    monitor.on('error', () => {});
    monitor.on('message', (topic, payload) => {
      if (!topic.startsWith(pfx)) return;
      if (topic.endsWith('/telemetry')) seen++;
      else if (topic.endsWith('/status')) { if (payload.length === 6 && payload.toString() === 'online') online++; }
      else if (topic.endsWith('/reply/ping')) pongs++;
    });
    await monitor.subscribeAsync(['devices/+/telemetry', 'devices/+/status', 'devices/+/reply/ping'], { qos: 0 });

    // ---- baseline, then the boards
    const gc = gcFn();
    gc();
    const base = process.memoryUsage();
    out(`${stamp()}  fleet    -- baseline before boards: rss ${(base.rss / MB).toFixed(1)} MB, heapUsed ${(base.heapUsed / MB).toFixed(1)} MB`);
    const outCounts = packetCounts();
    const inCounts = packetCounts();
    const errors = new Map<string, number>();
    let up = 0;
    let reconnects = 0;
    let allAt = 0;
    let tRamp = 0;
    // Set once every board has connected: the steady-state window starts here.
    let steady: { t: number; sent: number; acked: number; seen: number } | null = null;
    const allConnected = () => {
      const t = secs();
      allAt = t - tRamp;
      steady = { t, sent: outCounts[3], acked: inCounts[4] + inCounts[7], seen };
      if (tty) process.stdout.write('\r\x1b[K');
      out(`${stamp()}  fleet    -- all ${fmt(N)} boards connected, ${allAt.toFixed(1)} s after the first started`);
    };
    const rand = rng(0x5eed);
    boards = new Array(N);
    let made = 0;
    lag.enable();
    const per = Math.max(1, Math.round(a.ramp / 50));
    tRamp = secs();
    const ramp = setInterval(() => {
      for (let k = 0; k < per && made < N; k++, made++) {
        const i = made;
        let first = true;
        const b = new NodeBoard({
          id: `${prefix}-${String(i).padStart(5, '0')}`, host: broker.host, port: broker.port, interval, qos: a.qos, client: o,
          username: broker.username, password: broker.password, tls: broker.tls ? { rejectUnauthorized: !a.insecure } : undefined,
          outCounts, inCounts, rand,
          events: {
            connect: () => {
              if (!first) return void reconnects++;
              first = false;
              if (++up === N) allConnected();
            },
            error: (e) => errors.set(e.name, (errors.get(e.name) || 0) + 1),
          },
        });
        boards[i] = b;
        b.start();
      }
      if (made >= N) clearInterval(ramp);
    }, 20);
    timers.push(ramp);

    // ---- progress
    const connectedNow = () => {
      let n = 0;
      for (let i = 0; i < made; i++) if (boards[i].connected) n++;
      return n;
    };
    let last = { t: secs(), sent: 0, acked: 0, seen: 0 };
    let lastPlain = 0;
    const progress = (final = false) => {
      const t = secs();
      const sent = outCounts[3];
      const acked = inCounts[4] + inCounts[7];
      const dt = Math.max(0.001, t - last.t);
      const conn = connectedNow();
      const line = `${stamp()}  fleet    connected ${fmt(conn)}/${fmt(N)}  sent ${fmt((sent - last.sent) / dt)}/s  acked ${fmt((acked - last.acked) / dt)}/s`
        + `  monitor ${fmt((seen - last.seen) / dt)}/s  reconnects ${reconnects}  rss ${fmt(process.memoryUsage.rss() / MB)} MB`
        + `  loop lag p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms`;
      if (tty && !final) {
        process.stdout.write(`\r\x1b[K${line}`);
        last = { t, sent, acked, seen };
      } else if (final || t - lastPlain >= 4.5 || made < N) {
        // Plain lines come every 5 s: their rates cover the whole 5 s.
        lastPlain = t;
        out(line);
        last = { t, sent, acked, seen };
      }
    };
    timers.push(setInterval(progress, 1000));
    // A ping to a random connected board every second: the command path works at scale too.
    timers.push(setInterval(() => {
      if (!made) return;
      const b = boards[Math.floor(Math.random() * made)];
      if (!b.connected) return;
      pings++;
      monitor!.publish(`devices/${b.id}/cmd/ping`, '', { qos: 1 });
    }, 1000));

    const why = await Promise.race([
      stopSignal,
      a.duration ? new Promise<string>((r) => timers.push(setTimeout(() => r(`--duration ${a.duration}`), a.duration! * 1000))) : new Promise<string>(() => {}),
    ]);
    for (const t of timers) { clearInterval(t); clearTimeout(t); }
    lag.disable();
    if (tty) process.stdout.write('\r\x1b[K');
    progress(true);

    // ---- figures, measured before anything is torn down
    const t = secs();
    const conn = connectedNow();
    const s0: { t: number; sent: number; acked: number; seen: number } = steady ?? { t: 0, sent: 0, acked: 0, seen: 0 };
    const win = Math.max(0.001, t - s0.t);
    const sent = outCounts[3];
    const acked = inCounts[4] + inCounts[7];
    const seenAt = seen;
    gc();
    const mem = process.memoryUsage();
    const rssPer = (mem.rss - base.rss) / N;
    const heapPer = (mem.heapUsed - base.heapUsed) / N;
    out(`${stamp()}  fleet    -- stopping (${why}): ${fmt(made)} boards publish a retained "offline" and disconnect`);
    for (let i = 0; i < made; i++) boards[i].stop();
    await new Promise((r) => setTimeout(r, Math.min(3000, 500 + made / 10)));

    out('');
    out(`--- fleet of ${fmt(N)} after ${t.toFixed(1)} s (${broker.label}, ${o.outboxSize} B outbox per board)`);
    out(`fleet: boards ${N}, connected ${conn}, ever connected ${up}, all connected after ${allAt ? allAt.toFixed(1) + ' s' : 'never'}, reconnects ${reconnects}`);
    out(`traffic: sent ${sent}, acknowledged ${acked}, monitor received ${seenAt} telemetry; `
      + `steady ${allAt && win >= 1 ? `${fmt((sent - s0.sent) / win)} sent/s, ${fmt((acked - s0.acked) / win)} acked/s, ${fmt((seenAt - s0.seen) / win)} seen/s over the last ${win.toFixed(1)} s` : 'n/a'}`);
    out(`commands: ${pings} pings sent, ${pongs} pongs received; status online seen ${online}x`);
    out(`memory: rss ${(mem.rss / MB).toFixed(1)} MB (baseline ${(base.rss / MB).toFixed(1)} MB), heapUsed ${(mem.heapUsed / MB).toFixed(1)} MB (baseline ${(base.heapUsed / MB).toFixed(1)} MB)`);
    out(`per board: rss ${(rssPer / 1024).toFixed(1)} KB, heap ${(heapPer / 1024).toFixed(1)} KB${broker.kind === 'aedes' ? ' (Aedes shares this process: its per-client state is included)' : ''}`);
    if (errors.size) out(`errors: ${[...errors].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    return conn === N ? 0 : 1;
  } finally {
    for (const t of timers) { clearInterval(t); clearTimeout(t); }
    for (const b of boards) if (b && b.client.state !== 0) b.client.end();
    if (monitor) await monitor.endAsync(true).catch(() => {});
    await broker.stop();
  }
}
