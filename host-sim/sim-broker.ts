// The broker `npm start` talks to: Aedes in this process (the default: nothing to install),
// mosquitto spawned on a free loopback port with its own config (`--broker mosquitto`), or an
// external broker given by URL. Credentials in a URL are kept out of every printed address.
import * as net from 'node:net';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { Aedes } from 'aedes';

export const LOOPBACK = '127.0.0.1';

export interface SimBroker {
  kind: 'aedes' | 'mosquitto' | 'external';
  host: string;
  port: number;
  tls: boolean;
  username?: string;
  password?: string;
  /** For printing: scheme, host and port, never credentials. */
  url: string;
  /** A short description for the first output line. */
  label: string;
  stop(): Promise<void>;
}

/** Aedes in-process on a free loopback port. */
export async function embeddedAedes(): Promise<SimBroker> {
  const broker = await Aedes.createBroker();
  const socks = new Set<net.Socket>();
  const server = net.createServer((s) => {
    socks.add(s);
    s.setNoDelay(true); // else Nagle and delayed ACKs add ~40 ms to every round trip
    s.on('close', () => socks.delete(s));
    broker.handle(s);
  });
  await new Promise<void>((r, j) => server.once('error', j).listen(0, LOOPBACK, r));
  const { port } = server.address() as net.AddressInfo;
  return {
    kind: 'aedes', host: LOOPBACK, port, tls: false, url: `mqtt://${LOOPBACK}:${port}`, label: 'embedded Aedes (in-process)',
    async stop() {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}

const MOSQ_BINS = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/bin/mosquitto', '/opt/homebrew/sbin/mosquitto'];

export function mosquittoBin(): string | null {
  if (process.env.MOSQUITTO_BIN) return fs.existsSync(process.env.MOSQUITTO_BIN) ? process.env.MOSQUITTO_BIN : null;
  for (const b of MOSQ_BINS) if (fs.existsSync(b)) return b;
  const w = spawnSync('sh', ['-c', 'command -v mosquitto'], { encoding: 'utf8' });
  return w.status === 0 && w.stdout.trim() ? w.stdout.trim() : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, LOOPBACK, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * mosquitto on a free loopback port, config in a temp dir: anonymous, no persistence, no limit on
 * connections, and (through the shell) as many file descriptors as the system allows, so a fleet
 * of thousands of boards fits.
 */
export async function spawnMosquitto(): Promise<SimBroker> {
  const bin = mosquittoBin();
  if (!bin) throw new Error('mosquitto not found (apt-get install mosquitto, or set MOSQUITTO_BIN)');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcu-mqtt-start-'));
  const port = await freePort();
  const conf = [
    `listener ${port} ${LOOPBACK}`, 'allow_anonymous true', 'persistence false', 'max_connections -1',
    'log_dest stderr', 'log_type error', 'log_type warning', 'connection_messages false',
  ];
  // As root, mosquitto switches to user "mosquitto", who cannot read this private temp dir.
  if (process.getuid && process.getuid() === 0) conf.push('user root');
  const cf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(cf, conf.join('\n') + '\n');
  // Raise the soft limit to the hard one (or 65536 where allowed) for mosquitto only.
  const child = spawn('sh', ['-c', 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" -c "$1"', bin, cf], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => (log = (log + d).slice(-2000)));
  let exited: string | null = null;
  child.on('exit', (code, sig) => (exited = `mosquitto exited (${sig || code}): ${log.trim()}`));
  const kill = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
  process.on('exit', kill);
  const end = Date.now() + 5000;
  for (;;) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect({ host: LOOPBACK, port }, () => { s.destroy(); r(true); });
      s.once('error', () => { s.destroy(); r(false); });
    });
    if (up) break;
    if (exited || Date.now() > end) {
      kill();
      fs.rmSync(dir, { recursive: true, force: true });
      throw new Error(exited || `mosquitto did not listen on ${port} within 5 s`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const ver = spawnSync(bin, ['-h'], { encoding: 'utf8' }).stdout.match(/mosquitto version (\S+)/)?.[1];
  return {
    kind: 'mosquitto', host: LOOPBACK, port, tls: false, url: `mqtt://${LOOPBACK}:${port}`,
    label: `mosquitto ${ver || ''} (spawned, pid ${child.pid})`.replace('  ', ' '),
    async stop() {
      process.off('exit', kill);
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(kill, 3000);
        await gone;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** mqtt://[user[:password]@]host[:port] or mqtts://...; nothing to start or stop. */
export function externalBroker(url: string): SimBroker {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--broker: not a URL: ${url.replace(/\/\/[^@/]*@/, '//***@')}`);
  }
  const tls = u.protocol === 'mqtts:';
  if (!tls && u.protocol !== 'mqtt:') throw new Error(`--broker: scheme must be mqtt:// or mqtts://, got ${u.protocol}`);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!host) throw new Error('--broker: no host');
  const port = u.port ? Number(u.port) : tls ? 8883 : 1883;
  const shown = `${u.protocol}//${u.hostname}:${port}`;
  return {
    kind: 'external', host, port, tls, url: shown, label: 'external broker',
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    async stop() {},
  };
}

export async function openBroker(spec: string | undefined): Promise<SimBroker> {
  if (!spec) return embeddedAedes();
  if (spec === 'mosquitto') return spawnMosquitto();
  if (spec === 'aedes') return embeddedAedes();
  return externalBroker(spec);
}
