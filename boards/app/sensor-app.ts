// The example sensor app every board runs (ESP32, ESP8266, the simulator, and `npm start` on Node):
// telemetry at a fixed interval, a retained online/offline status backed by the will, and a
// command subscription answered on a reply topic. It sees only the public client API and a Clock,
// so the same code runs over any shim. Written in ES5-friendly TypeScript (Espruino). Payloads are
// formatted into one reused byte buffer (no strings built per message; one subarray view each).
import type { MqttClient } from '../../src/client.js';
import type { Will } from '../../src/codec/encode.js';
import type { PacketView } from '../../src/codec/packet-view.js';
import type { Clock } from '../../src/transport.js';

/** What the board measures and switches. Real boards read a sensor; simulators make numbers up. */
export interface Sensors {
  /** Degrees Celsius. */
  temperature(): number;
  /** Relative humidity, percent. */
  humidity(): number;
  /** Drives the relay output, if the board has one. */
  relay?(on: boolean): void;
}

export interface SensorAppOptions {
  /** Device id: topics live under devices/<id>/. ASCII letters, digits, '-' and '_'. */
  id: string;
  /** Milliseconds between telemetry messages (default 2000; a command can change it). */
  interval?: number;
  /** QoS of telemetry (default 1). */
  qos?: number;
  /**
   * One call per event: dir is '>' (sent), '<' (received), '!' (a problem). Formatting the text
   * allocates, so boards that count bytes leave this out.
   */
  log?: (dir: string, topic: string, text: string) => void;
}

/** Topics of one device. */
export interface SensorTopics {
  telemetry: string;
  status: string;
  /** Subscription filter for commands: devices/<id>/cmd/# */
  commands: string;
  /** Replies go to devices/<id>/reply/<command>. */
  reply: string;
}

export function sensorTopics(id: string): SensorTopics {
  const base = 'devices/' + id;
  return { telemetry: base + '/telemetry', status: base + '/status', commands: base + '/cmd/#', reply: base + '/reply/' };
}

/** The will to put in ClientOptions: retained "offline" on the status topic, published by the
 *  broker if the board vanishes without DISCONNECT. */
export function sensorWill(id: string): Will {
  return { topic: sensorTopics(id).status, payload: ascii('offline'), qos: 1, retain: true };
}

/** Counters for a summary. */
export interface SensorStats {
  /** Telemetry and replies accepted by publish(). */
  sent: number;
  /** Publishes refused because the outbox was full (the reading is skipped, not queued twice). */
  refused: number;
  /** Commands received. */
  commands: number;
  /** Connections made (the first one included). */
  connects: number;
}

const MIN_INTERVAL = 100;

export class SensorApp {
  readonly topics: SensorTopics;
  readonly stats: SensorStats = { sent: 0, refused: 0, commands: 0, connects: 0 };
  interval: number;
  relayOn = false;

  private readonly client: MqttClient;
  private readonly clock: Clock;
  private readonly sensors: Sensors;
  private readonly qos: number;
  private readonly log: SensorAppOptions['log'];
  /** Clock reading at the last uptime() call, and milliseconds counted up to it. */
  private last: number;
  private upMs = 0;
  /** One reused payload buffer; publish() copies it into the outbox. */
  private readonly out = new Uint8Array(96);
  /** Byte length of "devices/<id>/cmd/": the command name follows it. */
  private readonly cmdOff: number;
  private readonly replyInterval: string;
  private readonly replyRelay: string;
  private readonly replyPing: string;
  private readonly replyError: string;
  private timer: unknown = null;
  private running = false;

  constructor(client: MqttClient, clock: Clock, sensors: Sensors, opts: SensorAppOptions) {
    this.client = client;
    this.clock = clock;
    this.sensors = sensors;
    this.qos = opts.qos === undefined ? 1 : opts.qos;
    this.interval = opts.interval || 2000;
    this.log = opts.log;
    this.topics = sensorTopics(opts.id);
    this.cmdOff = this.topics.commands.length - 1;
    this.replyInterval = this.topics.reply + 'interval';
    this.replyRelay = this.topics.reply + 'relay';
    this.replyPing = this.topics.reply + 'ping';
    this.replyError = this.topics.reply + 'error';
    this.last = clock.now();
  }

  /** Wires the client's callbacks, subscribes to commands, connects and starts telemetry. */
  start(): void {
    const c = this.client;
    this.running = true;
    c.onConnect = () => {
      this.stats.connects++;
      this.send(this.topics.status, this.text('online'), 1, true);
    };
    c.subscribe(this.topics.commands, 1, (m) => this.command(m), (codes) => {
      if (codes[0] === 0x80 && this.log) this.log('!', this.topics.commands, 'subscription refused');
    });
    c.connect();
    this.schedule();
  }

  /** Publishes a retained "offline", then ends the connection (DISCONNECT: the will is dropped). */
  stop(): void {
    this.running = false;
    if (this.timer !== null) this.clock.clear(this.timer);
    this.timer = null;
    this.send(this.topics.status, this.text('offline'), 1, true);
    this.client.end();
  }

  /**
   * Milliseconds since the app was made. Summed from wrap-safe differences, so it keeps counting
   * past the 24.8 days after which a signed 32-bit tick counter (Moddable's Time.ticks) wraps, as
   * long as it is read more often than that (every telemetry message reads it).
   */
  uptime(): number {
    const n = this.clock.now();
    this.upMs += (n - this.last) | 0;
    this.last = n;
    return this.upMs;
  }

  private schedule(): void {
    this.timer = this.clock.set(() => {
      this.timer = null;
      if (!this.running) return;
      this.telemetry();
      this.schedule();
    }, this.interval);
  }

  /** {"temp":21.53,"hum":40.12,"up":12} with up in seconds. */
  private telemetry(): void {
    const s = this.sensors;
    let n = this.put(0, '{"temp":');
    n = this.num(n, s.temperature());
    n = this.put(n, ',"hum":');
    n = this.num(n, s.humidity());
    n = this.put(n, ',"up":');
    n = this.num(n, Math.floor(this.uptime() / 1000));
    n = this.put(n, '}');
    this.send(this.topics.telemetry, n, this.qos, false);
  }

  /** Commands: interval <ms>, relay on|off|toggle, ping. Each answers on reply/<command>. */
  private command(m: PacketView): void {
    this.stats.commands++;
    const b = m.buf;
    const nameOff = m.topicOff + this.cmdOff;
    const nameLen = m.topicLen - this.cmdOff;
    if (this.log) this.log('<', this.topics.commands.slice(0, this.cmdOff) + str(b, nameOff, nameLen), str(b, m.payloadOff, m.payloadLen));
    if (is(b, nameOff, nameLen, 'interval')) {
      const v = int(b, m.payloadOff, m.payloadLen);
      if (v >= MIN_INTERVAL) {
        this.interval = v;
        if (this.timer !== null) this.clock.clear(this.timer);
        this.schedule();
        this.send(this.replyInterval, this.num(0, v), 1, false);
      } else this.send(this.replyError, this.text('bad interval'), 1, false);
    } else if (is(b, nameOff, nameLen, 'relay')) {
      const p = m.payloadOff;
      const l = m.payloadLen;
      if (is(b, p, l, 'on')) this.relayOn = true;
      else if (is(b, p, l, 'off')) this.relayOn = false;
      else if (is(b, p, l, 'toggle')) this.relayOn = !this.relayOn;
      else {
        this.send(this.replyError, this.text('bad relay'), 1, false);
        return;
      }
      if (this.sensors.relay) this.sensors.relay(this.relayOn);
      this.send(this.replyRelay, this.text(this.relayOn ? 'on' : 'off'), 1, false);
    } else if (is(b, nameOff, nameLen, 'ping')) {
      this.send(this.replyPing, this.text('pong'), 1, false);
    } else {
      this.send(this.replyError, this.text('unknown command'), 1, false);
    }
  }

  private send(topic: string, len: number, qos: number, retain: boolean): void {
    const r = this.client.publish(topic, this.out.subarray(0, len), qos, retain);
    if (r === 0) this.stats.sent++;
    else this.stats.refused++;
    if (this.log) this.log(r === 0 ? '>' : '!', topic, r === 0 ? str(this.out, 0, len) : 'publish refused (' + r + ')');
  }

  private text(s: string): number {
    return this.put(0, s);
  }

  /** Writes ASCII `s` at `n`; returns the new end. */
  private put(n: number, s: string): number {
    const o = this.out;
    for (let k = 0; k < s.length && n < o.length; k++) o[n++] = s.charCodeAt(k);
    return n;
  }

  /** Writes v with at most two decimals, without making a string. */
  private num(n: number, v: number): number {
    const o = this.out;
    if (v !== v) return this.put(n, 'null');
    if (v < 0) {
      o[n++] = 45; // '-'
      v = -v;
    }
    let c = Math.round(v * 100);
    let i = Math.floor(c / 100);
    c -= i * 100;
    // Integer digits, most significant first.
    let d = 1;
    while (d * 10 <= i) d *= 10;
    for (; d >= 1 && n < o.length; d = Math.floor(d / 10)) {
      const q = Math.floor(i / d);
      o[n++] = 48 + q;
      i -= q * d;
    }
    if (c && n + 3 <= o.length) {
      o[n++] = 46; // '.'
      o[n++] = 48 + Math.floor(c / 10);
      if (c % 10) o[n++] = 48 + (c % 10);
    }
    return n;
  }
}

/** True when b[off, off+len) is the ASCII string s. */
function is(b: Uint8Array, off: number, len: number, s: string): boolean {
  if (len !== s.length) return false;
  for (let k = 0; k < len; k++) if (b[off + k] !== s.charCodeAt(k)) return false;
  return true;
}

/** Decimal digits as an integer; -1 when empty or not all digits. */
function int(b: Uint8Array, off: number, len: number): number {
  if (!len || len > 9) return -1;
  let v = 0;
  for (let k = 0; k < len; k++) {
    const c = b[off + k] - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** For logs only (allocates): bytes as text, ASCII assumed, cut at 60 characters. */
function str(b: Uint8Array, off: number, len: number): string {
  let s = '';
  const n = len < 60 ? len : 60;
  for (let k = 0; k < n; k++) s += String.fromCharCode(b[off + k]);
  return len > n ? s + '...' : s;
}

function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let k = 0; k < s.length; k++) b[k] = s.charCodeAt(k);
  return b;
}
