// One simulated sensor board on Node: the example app (boards/app/sensor-app.ts) over MqttClient,
// a NodeTransport (wrapped to count packets on the wire) and nodeClock: the same code and the
// same Transport/Clock interfaces a Moddable or Espruino board uses, with made-up sensors.
import { MqttClient, CONNECTED, type ClientOptions, type MqttError } from '../src/index.ts';
import { SensorApp, sensorWill, type SensorAppOptions } from '../boards/app/sensor-app.ts';
import { nodeClock } from './node-transport.ts';
import { CountingTransport } from './counting-transport.ts';
import { DriftingSensors } from './sim-sensors.ts';
import type { PacketCounts } from './wire-counter.ts';
import type * as tls from 'node:tls';

/** Buffers and timings of an ESP32-class board (tens of KB to spare). */
export const ESP32: Partial<ClientOptions> = {
  keepalive: 30, rxSize: 1024, txSize: 256, outboxSize: 4096, maxInflight: 8, maxSubs: 4,
  maxInboundQos2: 8, maxPending: 2, reconnectMin: 300, reconnectMax: 2000, connectTimeout: 5000,
};

/** An ESP8266-class board: a few hundred bytes per buffer. Used for fleets. */
export const ESP8266: Partial<ClientOptions> = {
  keepalive: 60, rxSize: 256, txSize: 128, outboxSize: 512, maxInflight: 2, maxSubs: 1,
  maxInboundQos2: 2, maxPending: 1, reconnectMin: 1000, reconnectMax: 30000, connectTimeout: 20000,
};

/** What a summary needs from a board, whichever engine runs it. */
export interface BoardFigures {
  /** PUBLISH packets the board put on the wire (resends included). */
  sent: number;
  /** PUBLISH packets it received (commands). */
  received: number;
  /** PUBACK + PUBCOMP it received: its QoS 1/2 messages the broker confirmed. */
  acknowledged: number;
  /** Connections after the first. */
  reconnects: number;
  /** Messages publish() accepted, and refused (outbox full). */
  published: number;
  refused: number;
  /** Messages in the outbox now, and its bytes in use. */
  queued: number;
  used: number;
  connected: boolean;
}

export interface BoardEvents {
  /** The app's own log: dir '>' sent, '<' received, '!' a problem. */
  log?: (dir: string, topic: string, text: string) => void;
  connect?: (sessionPresent: boolean) => void;
  error?: (e: MqttError) => void;
}

/** What every board is given, whichever engine runs it. */
export interface BoardOptions {
  id: string;
  host: string;
  port: number;
  /** Telemetry period, ms, and its QoS. */
  interval: number;
  qos: number;
  /** Buffers and timings (ESP32, ESP8266). */
  client: Partial<ClientOptions>;
  /** Start without a stored session (default true). */
  clean?: boolean;
  events?: BoardEvents;
}

/** The client options of a board: its buffers, its broker, its id as client id. */
export function boardClientOptions(o: BoardOptions): Partial<ClientOptions> & Pick<ClientOptions, 'host' | 'port' | 'clientId' | 'clean'> {
  return { ...o.client, host: o.host, port: o.port, clientId: o.id, clean: o.clean !== false };
}

export interface NodeBoardOptions extends BoardOptions {
  username?: string;
  password?: string;
  tls?: tls.ConnectionOptions;
  /** Shared packet counters (fleet totals); per board by default. */
  outCounts?: PacketCounts;
  inCounts?: PacketCounts;
  /** Random source of the sensors. */
  rand?: () => number;
}

export class NodeBoard {
  readonly id: string;
  readonly client: MqttClient;
  readonly app: SensorApp;
  readonly transport: CountingTransport;
  readonly sensors: DriftingSensors;

  constructor(o: NodeBoardOptions) {
    this.id = o.id;
    const co = o.client;
    // The staging buffer only needs to hold what one tick writes: the outbox plus control packets.
    this.transport = new CountingTransport({ tls: o.tls, stage: (co.outboxSize || 2048) + (co.txSize || 256) }, o.outCounts, o.inCounts);
    this.client = new MqttClient(this.transport, nodeClock, {
      ...boardClientOptions(o), will: sensorWill(o.id), username: o.username, password: o.password,
    });
    this.sensors = new DriftingSensors(o.rand);
    const ev = o.events || {};
    const ao: SensorAppOptions = { id: o.id, interval: o.interval, qos: o.qos };
    if (ev.log) ao.log = ev.log;
    this.app = new SensorApp(this.client, nodeClock, this.sensors, ao);
    if (ev.error) this.client.onError = ev.error;
    this.onConnect = ev.connect;
  }

  private readonly onConnect?: (sessionPresent: boolean) => void;

  start(): void {
    this.app.start();
    // The app took onConnect in start(): chain after it (connecting takes at least a tick).
    const connect = this.onConnect;
    const appConnect = this.client.onConnect;
    if (connect) {
      this.client.onConnect = (sp) => {
        if (appConnect) appConnect(sp);
        connect(sp);
      };
    }
  }

  get connected(): boolean {
    return this.client.state === CONNECTED;
  }

  figures(): BoardFigures {
    const o = this.transport.out.counts;
    const i = this.transport.in.counts;
    const s = this.app.stats;
    return {
      sent: o[3], received: i[3], acknowledged: i[4] + i[7], reconnects: Math.max(0, s.connects - 1),
      published: s.sent, refused: s.refused, queued: this.client.queued, used: this.client.outbox.used(),
      connected: this.connected,
    };
  }

  /** A network failure: the socket drops without DISCONNECT, the broker publishes the will. */
  cut(): void {
    this.transport.cut();
  }

  /** Retained "offline", DISCONNECT (no will), close. */
  stop(): void {
    this.app.stop();
  }
}
