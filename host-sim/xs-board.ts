// One simulated sensor board inside the real XS engine: the Moddable bundle
// (dist/mcu-mqtt.moddable.js) and the example app (boards/app/sensor-app.ts, transpiled here with
// the typescript package) run in an xsnap worker; host-sim/xs-bridge.ts plays the ECMA-419 TCP
// socket and Timer/Time over real Node sockets and timers. The app's log and counters come back
// to Node through report().
import { XsBridge, ensureBundles, xsnapAvailable, BUNDLES } from './xs-bridge.ts'; // first: it loads @endo/init
import * as fs from 'node:fs';
import ts from 'typescript';
import { boardClientOptions, type BoardOptions } from './sim-board.ts';

/** A TypeScript module of this repository as a script that leaves its exports in the XS global `name`. */
function moduleScript(url: URL, name: string): string {
  const file = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  const out = ts.transpileModule(fs.readFileSync(url, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, removeComments: true },
    fileName: file,
    reportDiagnostics: true,
  });
  if (out.diagnostics?.length) throw new Error(`transpiling ${file}: ${ts.flattenDiagnosticMessageText(out.diagnostics[0].messageText, '\n')}`);
  return `(function () {\nvar exports = {}, module = { exports: exports };\n${out.outputText}\n;globalThis.${name} = module.exports;\n})();\n`;
}

/** The example app (`__app`) and the made-up sensors Node boards use too (`__sensors`). */
export function appScript(): string {
  return moduleScript(new URL('../boards/app/sensor-app.ts', import.meta.url), '__app')
    + moduleScript(new URL('./sim-sensors.ts', import.meta.url), '__sensors');
}

/** `host` must be a loopback address: the bridge connects nowhere else. */
export type XsBoardOptions = BoardOptions;

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
    note(`XS engine (xsnap worker) up with dist/mcu-mqtt.moddable.js, boards/app/sensor-app.ts and host-sim/sim-sensors.ts in ${Date.now() - t} ms`);
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
    await this.bridge.run(`
(function () {
  var M = __mq, A = __app, id = ${JSON.stringify(o.id)};
  var opts = ${JSON.stringify(boardClientOptions(o))};
  opts.will = A.sensorWill(id);
  var c = new M.MqttClient(new M.TcpTransport(), M.moddableClock, opts);
  var sensors = new __sensors.DriftingSensors();
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
