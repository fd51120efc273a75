// Command line of `npm start` (host-sim/start.ts): parsing and the help text.

export interface StartArgs {
  /** undefined: embedded Aedes; 'mosquitto': spawn one; else mqtt:// or mqtts:// URL. */
  broker?: string;
  id?: string;
  /** Milliseconds between telemetry messages. */
  interval?: number;
  qos: number;
  /** Seconds; undefined runs until Ctrl-C. */
  duration?: number;
  engine: 'node' | 'xs';
  chaos: boolean;
  /** Fleet mode when set. */
  boards?: number;
  /** Fleet: boards started per second. */
  ramp: number;
  /** mqtts: accept a certificate that does not verify (self-signed test brokers). */
  insecure: boolean;
  /** mqtts: CA file (PEM). */
  ca?: string;
  help: boolean;
}

export const USAGE = `npm start -- [options]      (or: npx tsx host-sim/start.ts [options])

Runs simulated sensor boards (boards/app/sensor-app.ts on mcu-mqtt) against a broker.
With no options: an embedded broker (Aedes, in this process), one ESP32-sized board and an
operator client that sends it commands. Ctrl-C stops and prints a summary.

  --broker URL       mqtt://[user:pass@]host[:port] or mqtts://... instead of the embedded
                     broker; "mosquitto" spawns /usr/sbin/mosquitto on a free loopback port
  --id ID            device id (default esp32-XXXX); in fleet mode the prefix of the ids
  --interval T       telemetry period: "2s", "500ms", "1.5s" or plain milliseconds "2000"
                     (default 2s, fleet 10s); at least 100 ms
  --qos 0|1|2        telemetry QoS (default 1)
  --duration S       stop after S seconds (default: run until Ctrl-C)
  --engine node|xs   xs runs the board inside the XS engine (npm @agoric/xsnap) from
                     dist/mcu-mqtt.moddable.js (built first if missing)
  --chaos            a fault link between board and broker: cuts, outages and stalls, with
                     the outbox filling and draining live
  --boards N         fleet mode: N boards in this process (ESP8266-sized buffers)
  --ramp R           fleet mode: boards started per second (default 500)
  --ca FILE          mqtts: CA certificate (PEM)
  --insecure         mqtts: do not verify the broker's certificate
  --help`;

/** Milliseconds from "2s", "1.5s", "500ms" or "2000". */
export function parseInterval(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(v.trim());
  if (!m) throw new Error(`--interval: expected e.g. 2s, 500ms or 2000, got "${v}"`);
  const ms = Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1));
  if (ms < 100) throw new Error(`--interval: at least 100 ms, got ${ms} ms${m[2] ? '' : ` (did you mean ${v}s?)`}`);
  return ms;
}

export function parseArgs(argv: string[]): StartArgs {
  const a: StartArgs = { qos: 1, engine: 'node', chaos: false, ramp: 500, insecure: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${k} needs a value`);
      return v;
    };
    const num = (min: number, max: number): number => {
      const s = val();
      const n = Number(s);
      if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${k}: expected a number from ${min} to ${max}, got "${s}"`);
      return n;
    };
    switch (k) {
      case '--broker': a.broker = val(); break;
      case '--id': {
        a.id = val();
        if (!/^[A-Za-z0-9_-]{1,64}$/.test(a.id)) throw new Error('--id: letters, digits, "-" and "_" only (1-64)');
        break;
      }
      case '--interval': a.interval = parseInterval(val()); break;
      case '--qos': a.qos = num(0, 2) | 0; break;
      case '--duration': a.duration = num(0.1, 1e7); break;
      case '--engine': {
        const e = val();
        if (e !== 'node' && e !== 'xs') throw new Error(`--engine: node or xs, got "${e}"`);
        a.engine = e;
        break;
      }
      case '--chaos': a.chaos = true; break;
      case '--boards': a.boards = num(1, 1e6) | 0; break;
      case '--ramp': a.ramp = num(1, 1e6); break;
      case '--ca': a.ca = val(); break;
      case '--insecure': a.insecure = true; break;
      case '--help': case '-h': a.help = true; break;
      default: throw new Error(`unknown option ${k} (--help lists them)`);
    }
  }
  if (a.boards !== undefined && a.engine === 'xs') throw new Error('--boards runs on Node only (--engine xs runs one board)');
  if (a.boards !== undefined && a.chaos) throw new Error('--chaos works with one board');
  return a;
}
