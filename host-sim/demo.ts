// `npm start` with one board: a broker, one simulated ESP32 sensor board running the example app
// (on Node, or inside XS with --engine xs), and an operator (MQTT.js) that watches the board's
// status and sends it commands. Every event is one line (sim-log.ts); the end prints a summary.
import * as fs from 'node:fs';
import mqtt, { type MqttClient as MqttJs, type IClientOptions } from 'mqtt';
import { sensorTopics } from '../boards/app/sensor-app.ts';
import { openBroker, type SimBroker } from './sim-broker.ts';
import { NodeBoard, ESP32, type BoardEvents, type BoardFigures } from './sim-board.ts';
import { FaultProxy } from './fault-proxy.ts';
import { EventLog } from './sim-log.ts';
import type { StartArgs } from './start-args.ts';
import type { XsBoard } from './xs-board.ts';

interface Board {
  readonly id: string;
  start(): Promise<void> | void;
  cut(): void;
  figures(): Promise<BoardFigures>;
  stop(): Promise<void>;
}

export async function runDemo(a: StartArgs, stopSignal: Promise<string>): Promise<number> {
  const log = new EventLog();
  const id = a.id || `esp32-${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0')}`;
  const interval = a.interval || (a.chaos ? 1000 : 2000);
  const topics = sensorTopics(id);
  const cleanup: (() => Promise<void> | void)[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const after = (ms: number, fn: () => void) => {
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
  };

  const broker: SimBroker = await openBroker(a.broker);
  cleanup.push(() => broker.stop());
  log.note('broker', `${broker.label} on ${broker.url}`);
  if (a.engine === 'xs' && broker.tls) throw new Error('--engine xs: the XS bridge plays plain TCP only (no mqtts://)');
  if (a.chaos && broker.tls) throw new Error('--chaos: the fault link passes plain TCP only (no mqtts://)');
  const tlsOpts = broker.tls ? { rejectUnauthorized: !a.insecure, ...(a.ca ? { ca: fs.readFileSync(a.ca) } : {}) } : undefined;

  let ok = false;
  try {
    // The board reaches the broker through the fault proxy when there is one (XS: to count its
    // packets on the wire).
    let link: FaultProxy | null = null;
    if (a.chaos || a.engine === 'xs') {
      link = await FaultProxy.create(0, broker.host, broker.port);
      cleanup.unshift(() => link!.close());
      if (a.chaos) log.note('chaos', `fault link on 127.0.0.1:${link.port} -> ${broker.url}: cuts, outages and stalls on a schedule`);
    }
    const host = link ? '127.0.0.1' : broker.host;
    const port = link ? link.port : broker.port;

    // ---- operator: watches status, replies and telemetry; sends commands
    const op: MqttJs = await mqtt.connectAsync(`${broker.tls ? 'mqtts' : 'mqtt'}://${broker.host}:${broker.port}`, {
      protocolVersion: 4, clientId: `operator-${id}`, reconnectPeriod: 1000, connectTimeout: 5000, keepalive: 30,
      username: broker.username, password: broker.password, ...(tlsOpts as IClientOptions | undefined),
    });
    cleanup.unshift(() => op.endAsync(true).then(() => {}, () => {}));
    op.on('error', (e) => log.note('operator', e.message, '!!'));
    const opStats = { commands: 0, replies: 0, telemetry: 0, online: 0, offline: 0 };
    const pending = new Map<string, number>(); // command -> time sent
    op.on('message', (topic, payload, packet) => {
      const text = payload.toString();
      if (topic === topics.telemetry) return void opStats.telemetry++;
      if (topic === topics.status) {
        if (text === 'online') opStats.online++;
        else if (text === 'offline') opStats.offline++;
        return log.event('operator', '<-', topic, `${text}${packet.retain ? '  (retained)' : ''}`);
      }
      if (topic.startsWith(topics.reply)) {
        opStats.replies++;
        const cmd = topic.slice(topics.reply.length);
        const t = pending.get(cmd);
        pending.delete(cmd);
        return log.event('operator', '<-', topic, t === undefined ? text : `${text}  (round trip ${Math.round(performance.now() - t)} ms)`);
      }
    });
    await op.subscribeAsync([topics.status, topics.reply + '#', topics.telemetry], { qos: 1 });
    log.note('operator', `MQTT.js client watching ${topics.status}, ${topics.reply}# and telemetry`);
    const command = (name: string, payload: string) => {
      opStats.commands++;
      pending.set(name, performance.now());
      log.event('operator', '->', topics.commands.slice(0, -1) + name, payload || '(empty)');
      op.publish(topics.commands.slice(0, -1) + name, payload, { qos: 1 });
    };

    // ---- the board
    let peakQueued = 0;
    let peakUsed = 0;
    const ev: BoardEvents = {
      log: (dir, topic, text) => log.event('board', dir === '>' ? '->' : dir === '<' ? '<-' : '!!', topic, text || '(empty)'),
      error: (e) => log.note('board', e.message, '!!'),
    };
    const opts = { ...ESP32 };
    let board: Board;
    let firstConnect: () => void = () => {};
    const connected = new Promise<void>((r) => (firstConnect = r));
    let connects = 0;
    ev.connect = (sp) => {
      connects++;
      log.note('board', `${connects === 1 ? 'connected' : `reconnected (#${connects - 1})`}, ${sp ? 'session present: the broker kept its subscription and queued commands' : 'new session'}`);
      firstConnect();
    };
    const optText = `rx ${opts.rxSize} B, tx ${opts.txSize} B, outbox ${opts.outboxSize} B, keepalive ${opts.keepalive} s, persistent session`;
    if (a.engine === 'xs') {
      const { XsBoard } = await import('./xs-board.ts');
      const xb: XsBoard = await XsBoard.create({ id, host, port, interval, qos: a.qos, client: opts, clean: false, events: ev }, (s) => log.note('xs', s));
      let xbStopped = false;
      const stopXs = async () => {
        if (xbStopped) return;
        await xb.refresh().catch(() => {});
        xbStopped = true;
        await xb.stop();
      };
      cleanup.unshift(stopXs);
      const figures = async (): Promise<BoardFigures> => {
        const k = xbStopped ? xb.last : await xb.refresh().catch(() => xb.last);
        const o = link!.packets.up;
        const i = link!.packets.down;
        return {
          sent: o[3], received: i[3], acknowledged: i[4] + i[7], reconnects: Math.max(0, k.connects - 1), published: k.sent,
          refused: k.refused, queued: k.queued, used: k.used, connected: k.state === 3,
        };
      };
      board = { id, start: () => xb.start(), cut: () => xb.cut(), figures, stop: stopXs };
      log.note('board', `${id}: ESP32 options (${optText}) inside XS, ECMA-419 TcpTransport + moddableClock`);
    } else {
      const nb = new NodeBoard({
        id, host, port, interval, qos: a.qos, client: opts, username: broker.username, password: broker.password,
        // A persistent session: commands sent while the board is offline wait at the broker.
        clean: false, tls: tlsOpts, events: ev,
      });
      let nbStopped = false;
      const stopNode = async () => {
        if (!nbStopped) nb.stop();
        nbStopped = true;
      };
      cleanup.unshift(stopNode);
      board = { id, start: () => nb.start(), cut: () => nb.cut(), figures: async () => nb.figures(), stop: stopNode };
      log.note('board', `${id}: ESP32 options (${optText}) on Node, NodeTransport + nodeClock`);
    }
    log.note('board', `telemetry every ${interval} ms at QoS ${a.qos} to ${topics.telemetry}; commands on ${topics.commands}; will: ${topics.status} = offline (retained)`);

    // Outbox sampling: peaks for the summary; under --chaos every change is shown.
    let shownQueued = -1;
    const outboxBar = (q: number, used: number) => {
      const size = opts.outboxSize!;
      const w = 20;
      const fill = Math.min(w, Math.ceil((used / size) * w));
      return `outbox ${String(q).padStart(3)} msgs ${String(used).padStart(5)} B [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] of ${size} B`;
    };
    const sample = async () => {
      const f = await board.figures();
      if (f.queued > peakQueued) peakQueued = f.queued;
      if (f.used > peakUsed) peakUsed = f.used;
      if (a.chaos && f.queued !== shownQueued) {
        shownQueued = f.queued;
        log.note('board', `${outboxBar(f.queued, f.used)}${f.connected ? '' : '  (offline)'}`, '##');
      }
    };
    let sampling = false;
    const sampler = setInterval(() => {
      if (sampling) return;
      sampling = true;
      sample().finally(() => (sampling = false));
    }, a.engine === 'xs' ? 100 : 50);
    cleanup.unshift(() => clearInterval(sampler));

    await board.start();
    const stopped = Promise.race([
      stopSignal,
      // Counted from the board's start (the XS engine takes a moment to load).
      a.duration ? new Promise<string>((r) => after(a.duration! * 1000, () => r(`--duration ${a.duration}`))) : new Promise<string>(() => {}),
    ]);
    const first = await Promise.race([connected.then(() => true), stopped.then(() => false)]);

    if (first) {
      // ---- the operator's script, from the first connection
      const half = Math.max(100, Math.round(interval / 2));
      after(1000, () => command('ping', ''));
      after(1500, () => command('relay', 'toggle'));
      after(2200, () => command('interval', String(half)));
      if (!a.chaos) {
        after(3000, () => {
          log.note('board', 'network drop (simulated): socket reset, no DISCONNECT: the broker publishes the will', '!!');
          board.cut();
        });
      }
      after(6000, () => command('interval', String(interval)));
      after(7000, () => command('relay', 'off'));
      // Then a ping now and then, to show the round trip stays short.
      const pinger = setInterval(() => command('ping', ''), 15_000);
      cleanup.unshift(() => clearInterval(pinger));
      if (a.chaos) {
        const link2 = link!;
        const cycle = () => {
          after(5000, () => {
            log.note('chaos', `link down for 4 s: ${link2.setOutage(true)} connection(s) reset, new ones refused`, '!!');
            after(4000, () => {
              link2.setOutage(false);
              log.note('chaos', `link up again (${link2.stats.refused} connection attempts refused so far)`);
              after(5000, () => {
                link2.stall('both');
                const held = link2.stats;
                log.note('chaos', 'link stalled for 3 s: bytes held in both directions', '!!');
                after(3000, () => {
                  link2.unstall();
                  // The held bytes (in the socket buffers) go on in order: counted as they cross.
                  after(200, () => {
                    const now = link2.stats;
                    log.note('chaos', `stall over: ${now.bytesUp + now.bytesDown - held.bytesUp - held.bytesDown} bytes forwarded in order in the first 200 ms`);
                  });
                  after(5000, () => {
                    log.note('chaos', `cut: ${link2.cutNow()} connection(s) reset`, '!!');
                    cycle();
                  });
                });
              });
            });
          });
        };
        cycle();
      }
    }

    const why = await stopped;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    if (link) link.reset();
    log.note('--', `stopping (${why}): the board publishes a retained "offline" and disconnects`);
    await sample();
    await board.stop();
    await new Promise((r) => setTimeout(r, 300)); // the operator sees the last status
    const f = await board.figures().catch(() => null);
    const secs = log.elapsed.toFixed(1);
    log.raw('');
    log.raw(`--- ${id} after ${secs} s (${a.engine === 'xs' ? 'XS engine' : 'Node'}, ${broker.label})`);
    if (f) {
      log.raw(`summary: sent ${f.sent}, received ${f.received}, acknowledged ${f.acknowledged}, reconnects ${f.reconnects}, outbox peak ${peakQueued} (${peakUsed} B)`);
      log.raw(`  board: ${f.published} messages published (${f.refused} refused: outbox full), ${f.sent} PUBLISH packets on the wire (resends included),`);
      log.raw(`         ${f.acknowledged} acknowledged by the broker, ${f.received} commands received, ${f.reconnects} reconnect(s),`);
      log.raw(`         outbox peak ${peakQueued} messages / ${peakUsed} of ${opts.outboxSize} B, ${f.queued} still queued at exit`);
    }
    log.raw(`  operator: ${opStats.commands} commands sent, ${opStats.replies} replies, ${opStats.telemetry} telemetry messages, status online ${opStats.online}x / offline ${opStats.offline}x`);
    if (link && a.chaos) log.raw(`  chaos link: ${link.stats.connections} connections carried, ${link.stats.refused} refused, ${link.stats.cuts} cut`);
    ok = true;
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const c of cleanup) {
      try { await c(); } catch (e) { if (ok) log.note('--', `cleanup: ${(e as Error).message}`, '!!'); }
    }
  }
  return 0;
}
