// mosquitto as a child process on a loopback port, with its own config in a temp dir: the one
// launcher for `npm start --broker mosquitto` (sim-broker.ts), the tests (test/helpers/brokers.ts),
// the soak (restarted on the same port with its persistence) and the e2e bench. Node only.
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const LOOPBACK = '127.0.0.1';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A loopback port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, LOOPBACK, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connection to host:port succeeds now (it is closed at once). */
export function canConnect(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((r) => {
    const s = net.connect({ host, port });
    s.once('connect', () => { s.destroy(); r(true); });
    s.once('error', () => { s.destroy(); r(false); });
  });
}

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/bin/mosquitto', '/opt/homebrew/sbin/mosquitto'];

/** The mosquitto binary: $MOSQUITTO_BIN, a usual place, or the PATH; `why` says why not. */
export function findMosquitto(): { bin: string | null; why: string } {
  const env = process.env.MOSQUITTO_BIN;
  if (env !== undefined) return fs.existsSync(env) ? { bin: env, why: '' } : { bin: null, why: `MOSQUITTO_BIN=${env} does not exist` };
  for (const c of CANDIDATES) if (fs.existsSync(c)) return { bin: c, why: '' };
  const w = spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' });
  const p = w.status === 0 ? w.stdout.trim() : '';
  return p ? { bin: p, why: '' } : { bin: null, why: 'mosquitto not found (apt-get install mosquitto, or set MOSQUITTO_BIN)' };
}

export interface MosquittoOptions {
  /** The binary (default: findMosquitto()). */
  bin?: string;
  /** Anonymous clients allowed (default true). */
  anonymous?: boolean;
  /** Persistence on, its file in the temp dir (kept across stop() and start()). */
  persistence?: boolean;
  /** More config lines; a function gets the temp dir first (for password or ACL files). */
  config?: string[] | ((dir: string) => string[]);
  /** Log connections too (default: error, warning, notice and information). */
  verbose?: boolean;
  /** Raise the soft limit on file descriptors (to 65536, or the hard limit) for mosquitto only. */
  raiseFdLimit?: boolean;
  /** Each log line as it comes (they are also kept in `log`, the last 2,000). */
  onLine?: (line: string) => void;
  /** Temp dir name prefix. */
  tag?: string;
}

const live = new Set<ChildProcess>();
/** Kills every mosquitto this process started (for signal handlers; 'exit' does it already). */
export function killAllMosquitto(): void {
  for (const c of live) {
    try { c.kill('SIGCONT'); c.kill('SIGKILL'); } catch { /* gone */ }
  }
}
process.on('exit', killAllMosquitto);

/**
 * Kills `pid` and removes `dir` once this process is gone, whatever way it went (SIGKILL from a
 * runner's timeout, a blocked event loop): a detached shell polls both. It leaves a broker that
 * exits first (a restart) alone.
 */
function watchdog(pid: number, dir: string): void {
  spawn('sh', ['-c',
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 0.5; done; `
    + `kill -0 ${process.pid} 2>/dev/null && exit 0; kill -CONT ${pid} 2>/dev/null; kill -KILL ${pid} 2>/dev/null; sleep 0.2; rm -rf "$0"`, dir,
  ], { stdio: 'ignore', detached: true }).unref();
}

export class Mosquitto {
  readonly host = LOOPBACK;
  readonly dir: string;
  /** Log lines, the last 2,000. */
  readonly log: string[] = [];
  /** From its start-up line, e.g. "2.0.11". */
  version = '';
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private exitText: string | null = null;
  private frozen = false;
  private ready = false;

  private constructor(readonly bin: string, public port: number, private readonly o: MosquittoOptions) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `mcu-mqtt-${o.tag || 'mosq'}-`));
  }

  /**
   * Starts mosquitto on `port`, or on a free port: one can be taken by someone else between
   * probing and binding, then mosquitto exits and another is tried (3 attempts).
   */
  static async start(o: MosquittoOptions = {}, port?: number): Promise<Mosquitto> {
    const bin = o.bin || findMosquitto().bin;
    if (!bin) throw new Error(findMosquitto().why);
    for (let attempt = 1; ; attempt++) {
      const m = new Mosquitto(bin, port || (await freePort()), o);
      try {
        await m.start();
        return m;
      } catch (e) {
        await m.destroy();
        if (port || attempt >= 3) throw e;
      }
    }
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  private writeConfig(): string {
    const o = this.o;
    const conf = [
      `listener ${this.port} ${LOOPBACK}`,
      `allow_anonymous ${o.anonymous === false ? 'false' : 'true'}`,
      `persistence ${o.persistence ? 'true' : 'false'}`,
      'log_dest stderr', 'log_timestamp false',
      // "information" has the start-up line start() waits for.
      'log_type error', 'log_type warning', 'log_type notice', 'log_type information',
      `connection_messages ${o.verbose ? 'true' : 'false'}`,
    ];
    if (o.persistence) conf.push(`persistence_location ${this.dir}/`);
    // As root, mosquitto drops to user "mosquitto", who cannot read this private temp dir.
    if (process.getuid && process.getuid() === 0) conf.push('user root');
    conf.push(...(typeof o.config === 'function' ? o.config(this.dir) : o.config || []));
    const cf = path.join(this.dir, 'mosquitto.conf');
    fs.writeFileSync(cf, conf.join('\n') + '\n');
    return cf;
  }

  /** (Re)starts it on its port with its config and persistence; resolves once it listens. */
  async start(): Promise<void> {
    if (this.running) return;
    const cf = this.writeConfig();
    const child = this.o.raiseFdLimit
      ? spawn('sh', ['-c', 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" -c "$1"', this.bin, cf], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(this.bin, ['-c', cf], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exitText = null;
    this.frozen = false;
    this.ready = false;
    live.add(child);
    if (child.pid) watchdog(child.pid, this.dir);
    let partial = '';
    const onData = (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line) continue;
        this.log.push(line);
        if (this.log.length > 2000) this.log.splice(0, 1000);
        const v = /mosquitto version (\S+) running/.exec(line);
        if (v) {
          this.version = v[1];
          this.ready = true;
        }
        this.o.onLine?.(line);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exited = new Promise((r) => child.once('exit', (code, sig) => {
      this.exitText = `mosquitto exited (${sig || `code ${code}`}): ${this.log.slice(-5).join(' | ')}`;
      live.delete(child);
      r();
    }));
    // Bound and running (its start-up line), not merely: something accepts on this port.
    const end = Date.now() + 5000;
    for (;;) {
      if (this.exitText) throw new Error(this.exitText);
      if (this.ready && (await canConnect(this.port))) return;
      if (Date.now() > end) {
        child.kill('SIGKILL');
        await this.exited;
        throw new Error(`mosquitto did not listen on ${this.port} within 5 s: ${this.log.slice(-5).join(' | ')}`);
      }
      await sleep(20);
    }
  }

  /** Stops it answering without closing anything (SIGSTOP); thaw() resumes. */
  freeze(): void {
    if (!this.running) return;
    this.frozen = true;
    this.child!.kill('SIGSTOP');
  }

  thaw(): void {
    if (!this.frozen || !this.running) return;
    this.frozen = false;
    this.child!.kill('SIGCONT');
  }

  /** A clean shutdown (SIGTERM: it writes its persistence file), SIGKILL after `ms`. */
  async stop(ms = 5000): Promise<void> {
    const c = this.child;
    if (!c || !this.running) return;
    this.thaw();
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(t);
  }

  /** stop(), then the temp dir (config, persistence) is removed. */
  async destroy(ms?: number): Promise<void> {
    await this.stop(ms);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
