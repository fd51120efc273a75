// Runs a device bundle on the real XS engine and plays that board's runtime from Node.
//
// The engine is npm @agoric/xsnap: XS built from C, run as a worker process. xsnap evaluates
// scripts, so the bundle is turned into one at load time:
//  - dist/mcu-mqtt.moddable.js (an ES module) is rebundled by rollup as an iife whose external
//    runtime modules ('embedded:io/socket/tcp', 'net', 'socket', 'securesocket', 'timer', 'time')
//    become globals the XS-side prelude defines (host-sim/xs-prelude.js);
//  - dist/mcu-mqtt.espruino.js (CommonJS) is wrapped in a module/exports shim.
// Either way the bundle's exports land in the XS global `__mq`; the minified code is not changed.
//
// Protocol (JSON, UTF-8):
//  - XS -> Node, synchronous: the prelude calls issueCommand(bytes of {op, ...}); Node answers with
//    the JSON of a value, or nothing. ops: tcp {id, kind: '419'|'classic'|'espruino', address|host,
//    port, nodelay}, write {id, d: [bytes]}, close {id} / end {id}, resolve {id, name},
//    timer {id, ms, rep}, clear {id}, ticks (-> Time.ticks), time (-> getTime() seconds),
//    report {data} (the app's results), uncaught {where, message, stack}, ready {hidden, missed}.
//  - Node -> XS, events: worker.issueCommand(bytes of [event, ...]) calls XS's global handleCommand.
//    events: connect {id}, data {id, d: [bytes]} (at most `chunk` bytes each), written {id, n}
//    (bytes handed to the kernel: ECMA-419 onWritable room / classic writable / Espruino 'drain'),
//    close {id, error} (remote close, failure, cut), resolved {id, name, address}, timer {id}.
//    xsnap runs one command at a time, so events arrive in order; XS runs its promise jobs (where
//    written bytes are flushed) before each command returns.
//
// Loopback only: connections and name resolution outside 127.0.0.0/8 are refused. Everything is
// bounded: close() clears the timers, destroys the sockets and ends (or kills) the worker.
// Test infrastructure: allocates freely.
import '@endo/init'; // xsnap needs SES (harden, assert) first
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as dns from 'node:dns';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import tmp from 'tmp';
import { xsnap, type XSnap } from '@agoric/xsnap';
import { rollup } from 'rollup';
import { xsnapAvailable } from './xsnap-bin.ts';

export { xsnapAvailable };

export type Flavor = 'moddable' | 'espruino';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PRELUDE = fileURLToPath(new URL('./xs-prelude.js', import.meta.url));

export const BUNDLES: Record<Flavor, string> = {
  moddable: `${ROOT}dist/mcu-mqtt.moddable.js`,
  espruino: `${ROOT}dist/mcu-mqtt.espruino.js`,
};
/** The other Moddable bundle: the classic socket / SecureSocket transport (flavor 'moddable'). */
export const MODDABLE_SOCKET_BUNDLE = `${ROOT}dist/mcu-mqtt.moddable-socket.js`;
const ALL_BUNDLES = [...Object.values(BUNDLES), MODDABLE_SOCKET_BUNDLE];

/** The Moddable runtime modules the bundle imports, and the XS globals that stand in for them. */
export const MODDABLE_GLOBALS: Record<string, string> = {
  'embedded:io/socket/tcp': '__xs_tcp',
  net: '__xs_net',
  socket: '__xs_socket',
  securesocket: '__xs_securesocket',
  timer: '__xs_timer',
  time: '__xs_time',
};

/** xsnap extras no device has. */
const XSNAP_ONLY = ['issueCommand', 'setImmediate', 'performance', 'harden', 'gc', 'Base64', 'currentMeterLimit', 'resetMeter'];

/** Globals taken away before the bundle loads, so a bundle that leans on them fails here too. */
export const HIDE: Record<Flavor, string[]> = {
  // TextEncoder/TextDecoder are not on every device build (platforms.md).
  moddable: [...XSNAP_ONLY, 'TextEncoder', 'TextDecoder'],
  // platforms.md, seen missing on Espruino 2v29.
  espruino: [...XSNAP_ONLY, 'TextEncoder', 'TextDecoder', 'Map', 'Set', 'WeakMap', 'WeakSet', 'Symbol',
    'Number.isInteger', 'String.prototype.codePointAt', 'Math.imul', 'Math.trunc', 'ArrayBuffer.isView',
    '%TypedArray%.prototype.copyWithin', 'Object.freeze'],
};

export interface XsBridgeOptions {
  flavor: Flavor;
  /** The bundle to load (default: dist/mcu-mqtt.<flavor>.js). */
  bundle?: string;
  /** Write space of an ECMA-419 / classic socket, in bytes (default 1024). */
  writeRoom?: number;
  /** Most bytes per data event (default: 536 for Espruino, as on ESP32; 1460 for Moddable). */
  chunk?: number;
  /** Time.ticks at start; it wraps as a signed 32-bit counter (default 0). */
  ticksStart?: number;
  /** Milliseconds before Net.resolve answers (a slow DNS; default 0). */
  resolveDelay?: number;
  /** Globals to take away before the bundle loads (default HIDE[flavor]). */
  hide?: string[];
  /** Each event batch and command, for debugging. */
  trace?: (line: string) => void;
  /** Where XS print() goes (default 'inherit'). */
  stdout?: 'inherit' | 'ignore';
}

interface Conn {
  id: number;
  kind: '419' | 'classic' | 'espruino';
  sock: net.Socket | null;
  /** close()/end() came from XS: report nothing more (except Espruino's 'close'). */
  local: boolean;
  err: string | null;
}

type Ev = Record<string, unknown> & { ev: string };

const enc = new TextEncoder();
const dec = new TextDecoder();
const EMPTY = new Uint8Array(0);

const isLoopback = (a: string | undefined | null): a is string => !!a && (net.isIPv4(a) ? a.startsWith('127.') : a === '::1');

/** Fails with the fix when the xsnap worker binary was not built (npm ran no install script). */

/** Newest modification time of the files a bundle is built from. */
function newestSource(): number {
  let t = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) t = Math.max(t, fs.statSync(p).mtimeMs);
    }
  };
  for (const d of ['src', 'boards']) if (fs.existsSync(ROOT + d)) walk(ROOT + d);
  return t;
}

/**
 * Builds dist/ with rollup when a bundle is missing. A bundle older than src/ or boards/ is used as
 * it is (it is what `npm run build` made), with a printed note.
 */
export function ensureBundles(): void {
  if (ALL_BUNDLES.every((f) => fs.existsSync(f))) {
    const src = newestSource();
    for (const f of ALL_BUNDLES) {
      if (fs.statSync(f).mtimeMs < src) console.log(`note: ${f.slice(ROOT.length)} is older than src/ or boards/: testing it as built (npm run build to refresh)`);
    }
    return;
  }
  const r = spawnSync('npx', ['rollup', '-c'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`npx rollup -c failed (${r.status}): ${r.stderr || r.error}`);
  for (const f of ALL_BUNDLES) if (!fs.existsSync(f)) throw new Error(`${f} missing after npx rollup -c`);
}

/**
 * The bundle as a script for xsnap, exporting into the global `__mq`. The Moddable ES module is
 * rebundled by rollup as an iife over the prelude's module globals; its code stays as built.
 */
export async function bundleScript(flavor: Flavor, file = BUNDLES[flavor]): Promise<string> {
  if (flavor === 'espruino') {
    const code = await fsp.readFile(file, 'utf8');
    return `(function () {\nvar module = { exports: {} }, exports = module.exports;\n${code}\n;globalThis.__mq = module.exports;\n})();\n`;
  }
  const external = Object.keys(MODDABLE_GLOBALS);
  const b = await rollup({
    input: file,
    external,
    treeshake: false,
    onwarn: (w) => {
      // The Node built-in warning is about 'net', which here is Moddable's module, not Node's.
      if (w.code === 'MISSING_NODE_BUILTINS') return;
      throw new Error(`rollup: ${w.message}`);
    },
  });
  try {
    const { output } = await b.generate({ format: 'iife', name: '__mq', globals: MODDABLE_GLOBALS, interop: 'esModule' });
    return output[0].code;
  } finally {
    await b.close();
  }
}

export class XsBridge {
  readonly flavor: Flavor;
  /** Everything the app passed to report(), in order. */
  readonly reports: Record<string, unknown>[] = [];
  /** Exceptions thrown by XS-side callbacks (the device would print them), and bridge failures. */
  readonly errors: string[] = [];
  /** Connection attempts from XS, and those refused while blocked. */
  opens = 0;
  refused = 0;
  /** Sockets cut by cut(). */
  cuts = 0;
  /** What the prelude hid ({hidden, missed}). */
  ready: { hidden: number; missed: string[] } | null = null;

  private w!: XSnap;
  private readonly o: Required<Omit<XsBridgeOptions, 'bundle' | 'trace' | 'hide'>> & Pick<XsBridgeOptions, 'trace'>;
  private readonly hide: string[];
  private readonly conns = new Map<number, Conn>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly t0 = performance.now();
  private pending: Ev[] = [];
  private scheduled = false;
  private last: Promise<void> = Promise.resolve();
  private closing = false;
  private blocked = false;
  private ticksBase: number;

  private constructor(o: XsBridgeOptions) {
    this.flavor = o.flavor;
    this.o = {
      flavor: o.flavor,
      writeRoom: o.writeRoom ?? 1024,
      chunk: o.chunk ?? (o.flavor === 'espruino' ? 536 : 1460),
      ticksStart: o.ticksStart ?? 0,
      resolveDelay: o.resolveDelay ?? 0,
      stdout: o.stdout ?? 'inherit',
      trace: o.trace,
    };
    this.hide = o.hide ?? HIDE[o.flavor];
    this.ticksBase = this.o.ticksStart;
  }

  /** Starts a worker, installs the prelude, loads the bundle (exports in the XS global `__mq`). */
  static async start(o: XsBridgeOptions): Promise<XsBridge> {
    const av = xsnapAvailable();
    if (!av.ok) throw new Error(av.why);
    const b = new XsBridge(o);
    const script = await bundleScript(o.flavor, o.bundle);
    b.w = await xsnap({
      name: `xs-bridge-${o.flavor}`,
      os: os.type(),
      spawn,
      fs: { ...fsp, createReadStream: fs.createReadStream, tmpName: tmp.tmpName },
      handleCommand: async (req: Uint8Array) => b.command(req),
      meteringLimit: 0,
      stdout: b.o.stdout,
      stderr: 'inherit',
    });
    try {
      const prelude = (await fsp.readFile(PRELUDE, 'utf8')).trim();
      const cfg = { flavor: o.flavor, writeRoom: b.o.writeRoom, hide: b.hide };
      await b.run(`${prelude}(globalThis, ${JSON.stringify(cfg)});`);
      if (!b.ready) throw new Error('the XS prelude did not report ready');
      if (b.ready.missed.length) throw new Error(`could not hide from XS: ${b.ready.missed.join(', ')}`);
      await b.run(script);
      await b.run(`if (typeof __mq !== 'object' || typeof __mq.MqttClient !== 'function') throw new Error('bundle exports missing');`);
    } catch (e) {
      await b.close();
      throw e;
    }
    return b;
  }

  /**
   * Evaluates a script in XS (after the events queued before it). Rejects with XS's exception; a
   * worker that does not answer within `ms` is killed.
   */
  async run(code: string, ms = 10_000): Promise<void> {
    this.o.trace?.(`eval ${code.length > 120 ? code.slice(0, 120) + '...' : code}`);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, rej) => (timer = setTimeout(() => {
      void this.w.terminate();
      rej(new Error(`XS did not finish a script within ${ms} ms (worker killed): ${code.slice(0, 80)}`));
    }, ms)));
    try {
      await Promise.race([this.w.evaluate(code), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs XS's garbage collector, then returns the slots in use that xsnap reports after it
   * (meterUsage.currentHeapCount; a slot is 16 bytes on a 32-bit MCU, 32 in 64-bit xsnap).
   * Byte data (ArrayBuffers, strings, bytecode) lives in chunks, which xsnap does not report.
   */
  async heap(): Promise<number> {
    const r = await this.w.evaluate('__xs_gc();');
    const n = (r.meterUsage as { currentHeapCount?: number } | undefined)?.currentHeapCount;
    if (typeof n !== 'number') throw new Error('xsnap reported no currentHeapCount');
    return n;
  }

  /** The bundle's export names, as XS sees them. */
  async exportNames(): Promise<string[]> {
    const n = this.reports.length;
    await this.run(`report({ t: '__exports', names: Object.keys(__mq).sort() });`);
    return this.reports[n].names as string[];
  }

  /** Evaluates `expr` in XS and returns its value (through JSON). */
  async value<T = unknown>(expr: string): Promise<T> {
    const n = this.reports.length;
    await this.run(`report({ t: '__value', v: (${expr}) });`);
    const r = this.reports.slice(n).find((x) => x.t === '__value');
    if (!r) throw new Error(`no value for ${expr}`);
    return r.v as T;
  }

  reportsOf(t: string): Record<string, unknown>[] {
    return this.reports.filter((r) => r.t === t);
  }

  /** Polls `pred` every 5 ms until truthy; throws after `ms` naming `what` (and XS's errors). */
  async waitFor(pred: () => unknown, ms: number, what: string | (() => string)): Promise<void> {
    const end = Date.now() + ms;
    for (;;) {
      if (pred()) return;
      if (Date.now() > end) {
        const w = typeof what === 'string' ? what : what();
        throw new Error(`timed out after ${ms} ms waiting for ${w}${this.errors.length ? ` (XS errors: ${this.errors.join(' | ')})` : ''}`);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  /** Open sockets XS holds. */
  get open(): number {
    return this.conns.size;
  }

  /**
   * Drops every connection abruptly, as a network failure would: a TCP reset, no DISCONNECT.
   * The broker sees a lost client (and publishes its will); XS gets the failure event.
   */
  cut(): number {
    let n = 0;
    for (const c of this.conns.values()) {
      if (!c.sock || c.local) continue;
      c.err = 'ECONNRESET (cut by the bridge)';
      c.sock.resetAndDestroy();
      n++;
    }
    this.cuts += n;
    return n;
  }

  /** Sets Time.ticks to `v` now (it keeps counting from there, wrapping as signed 32-bit). */
  setTicks(v: number): void {
    this.ticksBase = v - (performance.now() - this.t0);
  }

  /** While blocked, connection attempts from XS fail at once (as with no route to the broker). */
  block(on: boolean): void {
    this.blocked = on;
  }

  /** Clears timers, destroys sockets, ends the worker (kills it if it does not end within 3 s). */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const c of this.conns.values()) c.sock?.destroy();
    this.conns.clear();
    this.pending = [];
    if (!this.w) return;
    // Let the batch XS is busy with finish (bounded: a wedged worker is killed below).
    await Promise.race([this.last, new Promise((r) => setTimeout(r, 1000).unref())]);
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      this.w.close().then(() => true, () => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 3000))),
    ]);
    clearTimeout(timer);
    if (!ended) await this.w.terminate();
  }

  // ---------------------------------------------------------------- XS -> Node

  private command(req: Uint8Array): Uint8Array {
    let m: Record<string, any>;
    try {
      m = JSON.parse(dec.decode(req));
    } catch (e) {
      this.errors.push(`bridge: bad command from XS: ${(e as Error).message}`);
      return EMPTY;
    }
    let r: unknown;
    try {
      r = this.dispatch(m);
    } catch (e) {
      this.errors.push(`bridge: ${m.op} failed: ${(e as Error).message}`);
    }
    return r === undefined ? EMPTY : enc.encode(JSON.stringify(r));
  }

  private dispatch(m: Record<string, any>): unknown {
    switch (m.op) {
      case 'ticks': return Math.floor((performance.now() - this.t0) + this.ticksBase) | 0;
      case 'time': return (performance.timeOrigin + performance.now()) / 1000;
      case 'write': {
        const c = this.conns.get(m.id);
        if (!c || !c.sock || c.sock.destroyed) return undefined;
        const n = m.d.length as number;
        c.sock.write(Buffer.from(m.d as number[]), (err) => {
          if (!err && this.conns.get(c.id) === c) this.send({ ev: 'written', id: c.id, n });
        });
        return undefined;
      }
      case 'report':
        this.reports.push(m.data);
        this.o.trace?.(`report ${JSON.stringify(m.data)}`);
        return undefined;
      case 'timer': {
        const fire = () => this.send({ ev: 'timer', id: m.id });
        const ms = Math.max(0, Number(m.ms) || 0);
        if (m.rep) {
          const t = setTimeout(() => {
            fire();
            this.timers.set(m.id, setInterval(fire, Math.max(1, m.rep)));
          }, ms);
          this.timers.set(m.id, t);
        } else {
          this.timers.set(m.id, setTimeout(() => { this.timers.delete(m.id); fire(); }, ms));
        }
        return undefined;
      }
      case 'clear': {
        const t = this.timers.get(m.id);
        if (t) { clearTimeout(t); clearInterval(t); this.timers.delete(m.id); }
        return undefined;
      }
      case 'tcp': return this.connect(m);
      case 'close':
      case 'end': {
        const c = this.conns.get(m.id);
        if (!c) return undefined;
        c.local = true;
        if (c.kind !== 'espruino') this.conns.delete(c.id);
        if (c.sock) {
          const s = c.sock;
          s.end(); // after what was written: a DISCONNECT goes out before the FIN
          setTimeout(() => s.destroy(), 2000).unref();
        }
        return undefined;
      }
      case 'resolve':
        dns.lookup(String(m.name), { family: 4 }, (err, address) => {
          const answer = () => this.send({ ev: 'resolved', id: m.id, name: m.name, address: !err && isLoopback(address) ? address : null });
          if (this.o.resolveDelay) this.timers.set(-m.id, setTimeout(() => { this.timers.delete(-m.id); answer(); }, this.o.resolveDelay));
          else answer();
        });
        return undefined;
      case 'uncaught':
        this.errors.push(`XS ${m.where}: ${m.message}${m.stack ? `\n${m.stack}` : ''}`);
        this.o.trace?.(`uncaught in ${m.where}: ${m.message}`);
        return undefined;
      case 'ready':
        this.ready = { hidden: m.hidden, missed: m.missed };
        return undefined;
      default:
        this.errors.push(`bridge: unknown op ${m.op}`);
        return undefined;
    }
  }

  private connect(m: Record<string, any>): void {
    const c: Conn = { id: m.id, kind: m.kind, sock: null, local: false, err: null };
    this.conns.set(c.id, c);
    this.opens++;
    const fail = (why: string) => {
      // Asynchronous, as on the device: the failure follows the constructor's return.
      setImmediate(() => {
        if (this.conns.get(c.id) !== c) return; // closed by XS (ECMA-419, classic) or by close()
        this.conns.delete(c.id);
        if (!c.local || c.kind === 'espruino') this.send({ ev: 'close', id: c.id, error: why });
      });
    };
    if (this.blocked) {
      this.refused++;
      return fail('ECONNREFUSED (blocked by the bridge)');
    }
    const go = (address: string) => {
      if (this.conns.get(c.id) !== c || this.closing) return;
      if (c.local) { // Espruino end() before the name resolved
        this.conns.delete(c.id);
        this.send({ ev: 'close', id: c.id, error: null });
        return;
      }
      const s = net.connect({ host: address, port: Number(m.port) });
      c.sock = s;
      s.setNoDelay(!!m.nodelay);
      s.on('connect', () => this.send({ ev: 'connect', id: c.id }));
      s.on('data', (buf: Buffer) => {
        if (c.local && c.kind !== 'espruino') return;
        for (let i = 0; i < buf.length; i += this.o.chunk) {
          this.send({ ev: 'data', id: c.id, d: Array.from(buf.subarray(i, i + this.o.chunk)) });
        }
      });
      s.on('error', (e: Error & { code?: string }) => (c.err = c.err || e.code || e.message));
      s.on('close', () => {
        if (this.conns.get(c.id) !== c) return;
        this.conns.delete(c.id);
        if (c.local && c.kind !== 'espruino') return;
        this.send({ ev: 'close', id: c.id, error: c.err });
      });
    };
    const host = String(m.address ?? m.host);
    if (net.isIP(host)) {
      if (!isLoopback(host)) return fail(`EHOSTUNREACH (${host} is not loopback: the bridge is loopback only)`);
      go(host);
    } else {
      dns.lookup(host, { family: 4 }, (err, address) => {
        if (err) return fail(`ENOTFOUND ${host}`);
        if (!isLoopback(address)) return fail(`EHOSTUNREACH (${host} is ${address}, not loopback)`);
        go(address);
      });
    }
  }

  // ---------------------------------------------------------------- Node -> XS

  private send(ev: Ev): void {
    if (this.closing) return;
    this.pending.push(ev);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    const evs = this.pending;
    this.pending = [];
    if (!evs.length || this.closing) return;
    this.o.trace?.(`events ${JSON.stringify(evs)}`);
    this.last = this.w.issueCommand(enc.encode(JSON.stringify(evs))).then(
      () => {},
      (e: Error) => {
        if (!this.closing) this.errors.push(`bridge: event delivery failed: ${e.message}`);
      },
    );
  }
}
