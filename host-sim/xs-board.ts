// One simulated sensor board inside the real XS engine: the Moddable bundle
// (dist/mcu-mqtt.moddable.js) and the example app (boards/app/sensor-app.ts, transpiled here with
// the typescript package) run in an xsnap worker; host-sim/xs-bridge.ts plays the ECMA-419 TCP
// socket and Timer/Time over real Node sockets and timers. The app's log and counters come back
// to Node through report().
import { XsBridge, ensureBundles, xsnapAvailable, BUNDLES } from './xs-bridge.ts'; // first: it loads @endo/init
import * as fs from 'node:fs';
import ts from 'typescript';
import type { BoardEvents } from './sim-board.ts';
import type { ClientOptions } from '../src/index.ts';

const APP = new URL('../boards/app/sensor-app.ts', import.meta.url);

/** sensor-app.ts as a script that leaves its exports in the XS global `__app`. */
export function appScript(): string {
  const src = fs.readFileSync(APP, 'utf8');
  const out = ts.transpileModule(src, {
    compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, removeComments: true },
    fileName: 'sensor-app.ts',
    reportDiagnostics: true,
  });
  if (out.diagnostics?.length) throw new Error(`transpiling sensor-app.ts: ${ts.flattenDiagnosticMessageText(out.diagnostics[0].messageText, '\n')}`);
  return `(function () {\nvar exports = {}, module = { exports: exports };\n${out.outputText}\n;globalThis.__app = module.exports;\n})();\n`;
}

export interface XsBoardOptions {
  id: string;
  /** Must be a loopback address: the bridge connects nowhere else. */
  host: string;
  port: number;
  interval: number;
  qos: number;
  client: Partial<ClientOptions>;
  clean?: boolean;
  events?: BoardEvents;
}

interface Counters { sent: number; refused: number; commands: number; connects: number; queued: number; used: number; state: number }

export class XsBoard {
  readonly id: string;
  last: Counters = { sent: 0, refused: 0, commands: 0, connects: 0, queued: 0, used: 0, state: 0 };
  private poller: NodeJS.Timeout | null = null;
  private constructor(readonly bridge: XsBridge, private readonly o: XsBoardOptions) {
    this.id = o.id;
  }

  /** Builds dist/ if missing, starts the worker, loads bundle and app. */
  static async create(o: XsBoardOptions, note: (s: string) => void): Promise<XsBoard> {
    const av = xsnapAvailable();
    if (!av.ok) throw new Error(av.why);
    const t = Date.now();
    if (!fs.existsSync(BUNDLES.moddable)) note('dist/mcu-mqtt.moddable.js missing: building it (npx rollup -c, as npm run build does)...');
    ensureBundles();
    const bridge = await XsBridge.start({ flavor: 'moddable', stdout: 'ignore' });
    note(`XS engine (xsnap worker) up with dist/mcu-mqtt.moddable.js and boards/app/sensor-app.ts in ${Date.now() - t} ms`);
    const b = new XsBoard(bridge, o);
    try {
      await bridge.run(appScript());
    } catch (e) {
      await bridge.close();
      throw e;
    }
    return b;
  }

  async start(): Promise<void> {
    const o = this.o;
    this.hook();
    const opts = { ...o.client, host: o.host, port: o.port, clientId: o.id, clean: o.clean !== false };
    await this.bridge.run(`
(function () {
  var M = __mq, A = __app, id = ${JSON.stringify(o.id)};
  var opts = ${JSON.stringify(opts)};
  opts.will = A.sensorWill(id);
  var c = new M.MqttClient(new M.TcpTransport(), M.moddableClock, opts);
  // Made-up readings, drifting like a room's.
  var t = 19 + Math.random() * 5, h = 35 + Math.random() * 20, t0 = t, h0 = h;
  var sensors = {
    temperature: function () { t += (Math.random() - 0.5) * 0.2 + (t0 - t) * 0.1; return Math.round(t * 100) / 100; },
    humidity: function () { h += (Math.random() - 0.5) * 0.6 + (h0 - h) * 0.05; return Math.round(h * 100) / 100; },
    relay: function (on) {}
  };
  function counters() {
    var s = app.stats;
    return { sent: s.sent, refused: s.refused, commands: s.commands, connects: s.connects, queued: c.queued, used: c.outbox.used(), state: c.state };
  }
  var app = new A.SensorApp(c, M.moddableClock, sensors, { id: id, interval: ${o.interval}, qos: ${o.qos},
    log: function (dir, topic, text) { report({ t: 'log', dir: dir, topic: topic, text: text, k: counters() }); } });
  app.start();
  var appConnect = c.onConnect;
  c.onConnect = function (sp) { appConnect(sp); report({ t: 'connect', sp: sp, k: counters() }); };
  c.onError = function (e) { report({ t: 'error', code: e.code, name: e.name, message: e.message }); };
  globalThis.board = { app: app, c: c, counters: counters };
})();`);
  }

  /**
   * The app's reports are handled the moment XS makes them (the bridge pushes each onto
   * `reports`), so board and operator lines interleave in true order. They are not kept.
   */
  private hook(): void {
    const reports = this.bridge.reports;
    const push = reports.push.bind(reports);
    reports.push = (...items: Record<string, unknown>[]) => {
      for (const r of items) {
        if (r.t === 'log' || r.t === 'connect' || r.t === 'error') this.handle(r);
        else push(r);
      }
      return reports.length;
    };
    this.poller = setInterval(() => {
      for (const e of this.bridge.errors.splice(0)) this.o.events?.error?.({ code: 0, name: 'XS', message: e });
    }, 100);
  }

  private handle(r: Record<string, unknown>): void {
    const ev = this.o.events || {};
    if (r.k) this.last = r.k as Counters;
    if (r.t === 'log') ev.log?.(r.dir as string, r.topic as string, r.text as string);
    else if (r.t === 'connect') ev.connect?.(r.sp as boolean);
    else ev.error?.({ code: r.code as number, name: r.name as string, message: r.message as string });
  }

  /** The app's counters and the outbox, read from XS now. */
  async refresh(): Promise<Counters> {
    this.last = await this.bridge.value<Counters>('board.counters()');
    return this.last;
  }

  /** A network failure: the bridge resets the socket; the broker publishes the will. */
  cut(): void {
    this.bridge.cut();
  }

  /** Retained "offline", DISCONNECT, then the worker ends. */
  async stop(): Promise<void> {
    try {
      await this.bridge.run('board.app.stop();');
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      if (this.poller) clearInterval(this.poller);
      await this.bridge.close();
    }
  }
}
