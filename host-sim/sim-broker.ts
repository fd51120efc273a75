// The broker `npm start` talks to: Aedes in this process (the default: nothing to install),
// mosquitto spawned on a free loopback port with its own config (`--broker mosquitto`), or an
// external broker given by URL. Credentials in a URL are kept out of every printed address.
import * as net from 'node:net';
import { Aedes } from 'aedes';
import { Mosquitto, LOOPBACK } from './mosquitto.ts';

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

/**
 * mosquitto on a free loopback port, config in a temp dir (mosquitto.ts): anonymous, no
 * persistence, no limit on connections, and as many file descriptors as the system allows, so a
 * fleet of thousands of boards fits.
 */
export async function spawnMosquitto(): Promise<SimBroker> {
  const m = await Mosquitto.start({ config: ['max_connections -1'], raiseFdLimit: true, tag: 'start' });
  return {
    kind: 'mosquitto', host: m.host, port: m.port, tls: false, url: `mqtt://${m.host}:${m.port}`,
    label: `mosquitto ${m.version} (spawned, pid ${m.pid})`,
    stop: () => m.destroy(3000),
  };
}

/** mqtt://[user[:password]@]host[:port] or mqtts://...; nothing to start or stop. */
export function externalBroker(url: string): SimBroker {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not echoed when it may hold credentials: a bad URL is not parsed, so they cannot be cut out.
    throw new Error(`--broker: not a URL: ${url.indexOf('@') >= 0 ? '(not shown: it holds a user part)' : url}`);
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
