// The MQTT 3.1.1 client state machine. It talks to the world only through a Transport and a
// Clock (transport.ts); all memory (receive and transmit buffers, outbox ring, subscription and
// inbound-QoS-2 tables) is allocated here, in the constructor, and reused for the client's life.
import {
  CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP, PINGREQ, DISCONNECT,
} from './codec/constants.js';
import { ERR_ARG, ERR_QOS, ERR_TOO_LARGE, ERR_NO_SPACE } from './codec/errors.js';
import { encodeConnect, encodeAck, encodeEmpty, encodeSubscribe, encodeUnsubscribe, varintSize, type Bytes, type Will } from './codec/encode.js';
import { Decoder } from './codec/decoder.js';
import type { PacketView } from './codec/packet-view.js';
import { utf8Length, TOPIC_FILTER } from './codec/utf8.js';
import {
  ERR_OUTBOX_FULL, ERR_STATE, ERR_NO_SLOT, ERR_TX_FULL, ERR_REFUSED_PROTOCOL, ERR_CONNECT_TIMEOUT,
  ERR_PING_TIMEOUT, ERR_INBOUND_FULL, ERR_SUBSCRIBE_REFUSED, ERR_OFFLINE, ERR_PROTOCOL_STATE,
  ERR_CONNECTION,
} from './client-errors.js';
import { Outbox, S_DONE, S_SENT, S_REL, HDR } from './outbox.js';
import { topicMatch } from './topic-match.js';
import type { Transport, TransportEvents, Clock } from './transport.js';

/** Receives each inbound PUBLISH. The view is reused: copy what you keep (see PacketView). */
export type MessageHandler = (msg: PacketView) => void;

/** A failure reported through onError / onClose. */
export interface MqttError {
  /** Negative status code (codec/errors.ts, client-errors.ts). */
  code: number;
  /** The code's name, e.g. "ERR_REFUSED_CREDENTIALS". */
  name: string;
  /** Name plus detail. Never contains credentials. */
  message: string;
}

export interface ClientOptions {
  host: string;
  port?: number;
  /** May be empty only with clean = true [MQTT-3.1.3-7]. */
  clientId: string;
  /** Start without a stored session (default true). */
  clean?: boolean;
  /** Seconds (default 60); 0 turns keepalive off. */
  keepalive?: number;
  username?: string;
  password?: Bytes;
  will?: Will;
  /** Receive buffer bytes: the largest inbound packet (default 1024). */
  rxSize?: number;
  /** Transmit buffer for control packets: CONNECT, acks, SUBSCRIBE... (default 256). */
  txSize?: number;
  /** Outbox ring bytes: every PUBLISH waits here until written (QoS 0) or acknowledged (default 2048). */
  outboxSize?: number;
  /** Most QoS 1/2 messages in flight at once (default 8). */
  maxInflight?: number;
  /** Subscription table size (default 8). */
  maxSubs?: number;
  /**
   * Inbound QoS 2 packet ids remembered until PUBREL (default 64, 2 bytes each). A new QoS 2
   * message while all are taken (mosquitto sends its backlog ahead of the PUBRELs) is neither
   * delivered nor acknowledged; once the PUBRELs have emptied the table (or at the next keepalive
   * tick) the client reports ERR_INBOUND_FULL, sends DISCONNECT (no will) and reconnects after
   * reconnectMin, and a persistent session redelivers what was held back: never duplicated, never
   * lost. With clean = true the broker drops those messages at that reconnect.
   */
  maxInboundQos2?: number;
  /** SUBSCRIBE/UNSUBSCRIBE calls awaiting their ack at once (default 4). */
  maxPending?: number;
  /** Reconnect after a failure (default true); backoff doubles from min to max with jitter. */
  reconnect?: boolean;
  reconnectMin?: number;
  reconnectMax?: number;
  /** Milliseconds from opening the transport to CONNACK (default 10000). */
  connectTimeout?: number;
  /** Subscribe again after a reconnect without a session (default true). */
  resubscribe?: boolean;
  /** Queue QoS 0 publishes while offline (default true); otherwise they return ERR_OFFLINE. */
  queueQos0?: boolean;
}


/** Client states. */
export const OFFLINE = 0;
export const OPENING = 1;
export const CONNACK_WAIT = 2;
export const CONNECTED = 3;

// Subscription slot states.
const SUB_FREE = 0;
const SUB_ACTIVE = 1;
const SUB_PENDING = 2;
const SUB_UNSUB = 3;

// Error names come from a table that device bundles leave out: src/index.ts installs
// codecErrorName; without it an error is named by its code, e.g. "ERR-28".
let nameOf = (code: number): string => 'ERR' + code;

/** Sets how MqttError names are made from codes (src/index.ts passes codecErrorName). */
export function useErrorNames(f: (code: number) => string): void {
  nameOf = f;
}

/**
 * The client. A class, not a closure: its methods live once on the prototype (in flash when the
 * module is preloaded on XS), where a closure would make every method a per-instance function
 * object in RAM (measured in XS: 218 slots for an idle client, 692 as a closure). Members named
 * _x are internal (not `private` only so that Events below can reach them): the minifier shortens
 * them, and methods that touch many of them alias `this` to a local, which it also shortens.
 */
export class MqttClient {
  /** Called after each accepted CONNACK. */
  onConnect!: ((sessionPresent: boolean) => void) | null;
  /** Every inbound PUBLISH, after the matching subscription handlers. */
  onMessage!: MessageHandler | null;
  /** Failures: refused CONNACK, timeouts, malformed packets, refused subscriptions. */
  onError!: ((e: MqttError) => void) | null;
  /** The connection closed: reason 0 after end(), else the error that closed it. */
  onClose!: ((reason: number) => void) | null;
  /** The outbox has room again after publish() returned ERR_OUTBOX_FULL. */
  onDrain!: (() => void) | null;
  readonly outbox: Outbox;
  readonly rx: Decoder;

  _s!: number; // state
  _a!: number; // attempts
  _o!: ClientOptions;
  _t!: Transport;
  _c!: Clock;
  _ev!: TransportEvents;
  _k!: () => void; // the timer callback
  _tx!: Uint8Array;
  _txR!: number;
  _txW!: number;
  // The packet being written when the transport took only part of it.
  _wSrc!: Uint8Array | null;
  _wOff!: number;
  _wEnd!: number;
  _wRel!: number;
  _timer!: unknown;
  // Something was sent / received during this half keepalive.
  _sent!: boolean;
  _recv!: boolean;
  /** This connection took a new inbound QoS 2 message or freed an id: ERR_INBOUND_FULL is then flow control. */
  _prog!: boolean;
  /** A QoS 2 message was held back (table full): reconnect once the table is empty. */
  _owed!: boolean;
  _ping!: boolean;
  _id!: number;
  _drain!: boolean;
  _ended!: boolean;
  _in2!: Uint16Array;
  // Subscription table: filter, requested QoS, handler, state, pending op, and the slot's
  // position within its SUBSCRIBE (SUBACK codes come in that order).
  _sf!: (string | null)[];
  _sq!: Uint8Array;
  _sh!: (MessageHandler | null)[];
  _ss!: Uint8Array;
  _so!: Uint8Array;
  _sk!: Uint8Array;
  // Pending SUBSCRIBE/UNSUBSCRIBE ops: kind (1 sub, 2 unsub, 3 resubscribe) and callback; op k
  // uses packet id k + 1. Op 0 is the resubscribe.
  _ok!: Uint8Array;
  _oc!: (((codes: number[]) => void) | null)[];

  constructor(transport: Transport, clock: Clock, options: ClientOptions) {
    const t = this;
    const o = options;
    this.rx = new Decoder(o.rxSize || 1024);
    this.outbox = new Outbox(o.outboxSize || 2048);
    const nSubs = o.maxSubs || 8;
    const nOps = (o.maxPending || 4) + 1;
    t.onConnect = t.onMessage = t.onError = t.onClose = t.onDrain = null;
    t._o = o;
    t._t = transport;
    t._c = clock;
    t._tx = new Uint8Array(o.txSize || 256);
    t._in2 = new Uint16Array(o.maxInboundQos2 || 64);
    t._sq = new Uint8Array(nSubs);
    t._ss = new Uint8Array(nSubs);
    t._so = new Uint8Array(nSubs);
    t._sk = new Uint8Array(nSubs);
    t._sf = [];
    t._sh = [];
    for (let i = 0; i < nSubs; i++) t._sf.push(null), t._sh.push(null);
    t._ok = new Uint8Array(nOps);
    t._oc = [];
    for (let i = 0; i < nOps; i++) t._oc.push(null);
    // Publish ids start above the op ids so the two never collide.
    t._id = nOps + 1;
    t._s = t._a = t._txR = t._txW = t._wOff = t._wEnd = 0;
    t._wRel = -1;
    t._wSrc = t._timer = null;
    t._sent = t._recv = t._ping = t._drain = t._prog = t._owed = false;
    t._ended = true;
    // The only per-instance function: what the Clock calls back.
    t._k = () => {
      const s = t._s;
      t._timer = null;
      if (!s) {
        if (!t._ended) t._open();
      } else if (s !== CONNECTED) {
        t._fail(ERR_CONNECT_TIMEOUT);
      } else if (t._ping && !t._recv) {
        t._fail(ERR_PING_TIMEOUT);
      } else if (t._owed) {
        // Held-back QoS 2 messages and the PUBRELs that would empty the table never came.
        t._fail(ERR_INBOUND_FULL);
      } else if (t._ping) {
        // No PINGRESP yet, but bytes keep arriving (it may sit behind a backlog): the link is alive.
        t._recv = false;
        t._keepalive();
      } else {
        // The connection lasted half a keepalive: only now does backoff start again from the
        // minimum, so a broker that accepts and then drops at once cannot cause a storm.
        t._a = 0;
        // Ticks every half keepalive. Nothing sent, or nothing received, during a whole half means
        // a PINGREQ is due: the gap between packets never exceeds the keepalive, and a link dead
        // only towards us is noticed even while we keep publishing. The next tick without
        // PINGRESP fails.
        if (!t._sent || !t._recv) {
          t._ping = true;
          t._control(encodeEmpty(t._tx, t._txW, PINGREQ));
        }
        t._sent = t._recv = false;
        t._keepalive();
      }
    };
    t._ev = new Events(t);
  }

  /** OFFLINE, OPENING, CONNACK_WAIT or CONNECTED. */
  get state(): number {
    return this._s;
  }

  /** Reconnect attempts since the last connection that stayed up for half a keepalive. */
  get attempts(): number {
    return this._a;
  }

  /** Messages in the outbox: queued, in flight, or waiting for PUBCOMP. */
  get queued(): number {
    const ob = this.outbox;
    let n = 0;
    for (let k = 0, p = ob.head; k < ob.count; k++, p = ob.next(p)) if (ob.buf[p] !== S_DONE) n++;
    return n;
  }

  /**
   * Opens the connection (and keeps it up, with reconnect). Returns 0, ERR_STATE, or the named
   * reason the CONNECT can never be sent: ERR_ARG (no client id with clean = false, password
   * without user name, bad keepalive or will), ERR_UTF8, ERR_TOO_LONG, ERR_TX_FULL.
   */
  connect(): number {
    const t = this;
    const o = t._o;
    if (t._s || !t._ended) return ERR_STATE;
    if (!o.clientId && o.clean === false) return ERR_ARG;
    const port = o.port === undefined ? 1883 : o.port;
    if (typeof o.host !== 'string' || !o.host || port !== (port | 0) || port < 1 || port > 65535) return ERR_ARG;
    // Bad options fail here, by name, instead of failing every attempt forever. tx is idle
    // while offline.
    const n = t._connect();
    if (n < 0) return n;
    t._ended = false;
    t._open();
    return 0;
  }

  /**
   * Sends DISCONNECT (the broker then drops the will) and closes; no reconnect. Whatever the
   * outbox still holds stays there for a later connect() and is counted by `queued`.
   */
  end(): void {
    const t = this;
    t._ended = true;
    t._clear();
    const was = t._s;
    t._bye();
    if (was) {
      t._t.close();
      t.onClose && t.onClose(0);
    }
  }

  /**
   * Publishes a message. Returns 0 once it is in the outbox (it goes out in order, resent until
   * acknowledged for QoS 1/2), or a negative status: ERR_ARG (topic not a string, payload not a
   * string or Uint8Array), ERR_TOPIC, ERR_QOS, ERR_UTF8, ERR_TOO_LONG (can never fit the outbox),
   * ERR_OUTBOX_FULL (wait for onDrain), ERR_OFFLINE. Offline, and before connect(), messages wait
   * in the outbox. Allocates nothing.
   */
  publish(topic: string, payload: Bytes, qos?: number, retain?: boolean): number {
    const t = this;
    // JavaScript apps can pass anything: NaN is not QoS 0, an ArrayBuffer is not bytes.
    const q = qos == null ? 0 : qos;
    if (typeof topic !== 'string' || !(typeof payload === 'string' || payload instanceof Uint8Array)) return ERR_ARG;
    if (q === 0 && t._s !== CONNECTED && t._o.queueQos0 === false) return ERR_OFFLINE;
    const r = t.outbox.push(topic, payload, q, !!retain);
    if (r === ERR_OUTBOX_FULL) t._drain = true;
    if (r) return r;
    t._pump();
    return 0;
  }

  /**
   * Subscribes to one or more filters at the requested QoS. `handler` gets matching messages;
   * `done` gets the SUBACK return codes in filter order (0..2 granted, 0x80 refused). While offline
   * the subscription is sent on connect. Allocates (a rare call).
   */
  subscribe(
    filters: string | string[], qos?: number | number[], handler?: MessageHandler | null,
    done?: ((codes: number[]) => void) | null,
  ): number {
    const t = this;
    const fs = list(filters);
    const n = fs.length;
    const sf = t._sf;
    const ss = t._ss;
    const q = (k: number) => (typeof qos === 'number' ? qos : qos ? qos[k] : 0);
    if (notFn(handler) || notFn(done)) return ERR_ARG;
    let rem = check(fs, q);
    if (rem < 0) return rem;
    // Connected, it is encoded into tx at once: no room now is a named status, not a dropped link.
    if (t._s === CONNECTED && 1 + varintSize(rem) + rem > t._tx.length - t._txW) return ERR_TX_FULL;
    // After a reconnect without a session every subscription goes again in one SUBSCRIBE: one
    // that can never fit the transmit buffer would fail every connection forever.
    for (let i = 0; i < ss.length; i++) {
      const f = sf[i];
      if (ss[i] && f !== null && fs.indexOf(f) < 0) rem += 3 + utf8Length(f, TOPIC_FILTER);
    }
    if (1 + varintSize(rem) + rem > t._tx.length) return ERR_TX_FULL;
    const op = t._freeOp();
    // Slots: the one already holding the same filter (a new SUBSCRIBE replaces it), else a free one.
    const slots: number[] = [];
    for (let k = 0; k < n; k++) {
      let s = sf.indexOf(fs[k]);
      for (let i = 0; i < ss.length && s < 0; i++) if (!ss[i] && slots.indexOf(i) < 0) s = i;
      if (s < 0 || op < 0) return ERR_NO_SLOT;
      slots.push(s);
    }
    for (let k = 0; k < n; k++) {
      const s = slots[k];
      t._sk[s] = k;
      sf[s] = fs[k];
      t._sq[s] = q(k);
      t._sh[s] = handler || null;
      ss[s] = SUB_PENDING;
      t._so[s] = op;
    }
    t._ok[op] = 1;
    t._oc[op] = done || null;
    if (t._s === CONNECTED) t._sendOp(op);
    return 0;
  }

  /**
   * Unsubscribes (only while connected: the broker holds the subscription). Local handlers stop at
   * once; `done` runs on UNSUBACK. Allocates.
   */
  unsubscribe(filters: string | string[], done?: (() => void) | null): number {
    const t = this;
    const fs = list(filters);
    if (notFn(done)) return ERR_ARG;
    const e = check(fs);
    if (e < 0) return e;
    if (t._s !== CONNECTED) return ERR_STATE;
    const op = t._freeOp();
    if (op < 0) return ERR_NO_SLOT;
    const n = encodeUnsubscribe(t._tx, t._txW, op + 1, fs);
    if (n < 0) return n === ERR_NO_SPACE ? ERR_TX_FULL : n;
    for (let k = 0; k < fs.length; k++) {
      const s = t._sf.indexOf(fs[k]);
      if (s >= 0) {
        t._ss[s] = SUB_UNSUB;
        t._so[s] = op;
      }
    }
    t._ok[op] = 2;
    // UNSUBACK carries no codes: the callback ignores the (empty) array it is given.
    t._oc[op] = done || null;
    t._txW += n;
    t._pump();
    return 0;
  }

  // ---- connection lifecycle ----

  /** Encodes CONNECT at the start of tx: its length, or the named reason it cannot be. */
  _connect(): number {
    const n = encodeConnect(this._tx, 0, this._o);
    return n === ERR_NO_SPACE ? ERR_TX_FULL : n;
  }

  _open(): void {
    const t = this;
    const o = t._o;
    t._s = OPENING;
    t.rx.reset();
    t._txR = t._txW = t._wEnd = t._wOff = 0;
    t._wSrc = null;
    t._wRel = -1;
    t._ping = t._prog = t._owed = false;
    t._arm(o.connectTimeout || 10000);
    try {
      t._t.open(o.host, o.port || 1883, t.rx, t._ev);
    } catch (e) {
      // A platform that throws instead of reporting (a socket it cannot make): a failed attempt.
      t._fail(ERR_CONNECTION, 'open failed');
    }
  }

  /** Sends DISCONNECT if connected (best effort: no error from here) and goes OFFLINE. */
  _bye(): void {
    const t = this;
    if (t._s === CONNECTED) {
      const n = encodeEmpty(t._tx, t._txW, DISCONNECT);
      if (n > 0) t._txW += n;
      t._flush();
    }
    t._s = OFFLINE;
  }

  /** Closes the connection because of `code`; reconnects unless end() was called. */
  _fail(code: number, detail?: string): void {
    const t = this;
    const o = t._o;
    if (!t._s) return;
    // Too many inbound QoS 2 ids at once is flow control, not a broken link: a clean DISCONNECT
    // (no will), and back after the minimum delay without growing the backoff, as long as the
    // connection made progress (took a new message or a PUBREL); otherwise (a broker resending
    // what the full table already holds) it backs off like any failure.
    // With a session the broker redelivers what was not acknowledged.
    const flow = code === ERR_INBOUND_FULL && t._prog;
    if (code === ERR_INBOUND_FULL) t._bye();
    // OFFLINE before any callback: an app that calls end() or connect() from onError or onClose
    // gets a consistent client, and nothing below undoes what it did.
    t._s = OFFLINE;
    t._clear();
    t._t.close();
    t._report(code, detail);
    t.onClose && t.onClose(code);
    if (t._ended || t._s) return;
    if (o.reconnect === false) {
      t._ended = true;
      return;
    }
    const max = o.reconnectMax || 60000;
    let d = o.reconnectMin || 1000;
    if (!flow) {
      d *= Math.pow(2, t._a < 20 ? t._a : 20);
      if (d > max) d = max;
      t._a++;
      d = Math.floor(d / 2 + (Math.random() * d) / 2);
    }
    t._arm(d);
  }

  _report(code: number, detail?: string): void {
    const name = nameOf(code);
    this.onError && this.onError({ code, name, message: detail ? name + ': ' + detail : name });
  }

  _arm(ms: number): void {
    const t = this;
    t._clear();
    t._timer = t._c.set(t._k, ms);
  }

  _clear(): void {
    const t = this;
    if (t._timer !== null) t._c.clear(t._timer);
    t._timer = null;
  }

  _keepalive(): void {
    const ka = this._o.keepalive;
    const k = ka === undefined ? 60 : ka;
    if (k && this._s === CONNECTED) this._arm(k * 500);
  }

  // ---- receiving ----

  _packet(n: number, p: PacketView): void {
    const t = this;
    const id = p.id;
    const ob = t.outbox;
    const ring = ob.buf;
    const ss = t._ss;
    const ok = t._ok;
    if (t._s === CONNACK_WAIT) {
      if (n !== CONNACK) return t._fail(ERR_PROTOCOL_STATE, 'packet type ' + n + ' before CONNACK');
      // Refused: count it as a failed attempt so backoff grows (no reconnect storm).
      if (p.returnCode) return t._fail(ERR_REFUSED_PROTOCOL - p.returnCode + 1);
      t._s = CONNECTED;
      t._clear();
      const sp = p.sessionPresent;
      if (!sp) {
        t._in2.fill(0);
        for (let i = 0; i < ss.length; i++) {
          // Everything the broker held is gone: every subscription is sent again.
          if (ss[i] === SUB_ACTIVE && t._o.resubscribe !== false) {
            ss[i] = SUB_PENDING;
            t._so[i] = 0;
            ok[0] = 3;
          }
          if (ss[i] === SUB_UNSUB) t._freeSlot(i);
        }
        for (let k = 0; k < ok.length; k++) if (ok[k] === 2) t._finishOp(k, null);
      }
      ob.rewind(sp);
      for (let k = 0; k < ok.length; k++) if (ok[k]) t._sendOp(k);
      t._sent = t._recv = false;
      t._keepalive();
      t.onConnect && t.onConnect(sp);
      t._pump();
      return;
    }
    if (n === PUBLISH) {
      const q = p.qos;
      if (q === 2) {
        // Exactly once: a re-sent PUBLISH whose id awaits PUBREL is not delivered again.
        if (t._in2.indexOf(id) < 0) {
          if (!t._remember(id)) {
            // No room to remember it: not delivered, not acknowledged. The broker keeps it in
            // flight; the reconnect that follows once the table empties brings it again.
            t._owed = true;
            return;
          }
          t._deliver(p);
        }
        t._ack(PUBREC, id);
      } else {
        t._deliver(p);
        if (q) t._ack(PUBACK, id);
      }
    } else if (n === PUBREL) {
      const in2 = t._in2;
      const i = in2.indexOf(id);
      if (i >= 0) {
        in2[i] = 0;
        t._prog = true;
      }
      // PUBCOMP even for an unknown id: the broker may have lost our earlier PUBCOMP.
      t._ack(PUBCOMP, id);
      if (t._owed) {
        let k = 0;
        while (k < in2.length && !in2[k]) k++;
        if (k === in2.length) t._fail(ERR_INBOUND_FULL);
      }
    } else if (n === PUBACK || n === PUBCOMP) {
      const e = ob.find(id);
      // Only the matching stage counts: PUBACK for a QoS 1 entry, PUBCOMP after PUBREC.
      if (e >= 0 && (n === PUBACK ? ring[e] === S_SENT && (ring[e + HDR] & 6) === 2 : ring[e] === S_REL)) {
        ob.release(e);
        t._pump();
      }
    } else if (n === PUBREC) {
      const e = ob.find(id);
      if (e >= 0 && ring[e] === S_SENT && (ring[e + HDR] & 6) === 4) ring[e] = S_REL;
      // PUBREL also for a repeated or unknown PUBREC, so the broker can finish its side.
      if (e < 0 || ring[e] === S_REL) t._ack(PUBREL, id);
    } else if (n === SUBACK || n === UNSUBACK) {
      const k = id - 1;
      if (k < ok.length && ok[k] && (ok[k] === 2) === (n === UNSUBACK)) t._finishOp(k, n === SUBACK ? p : null);
    } else if (n === PINGRESP) {
      t._ping = false;
    } else t._fail(ERR_PROTOCOL_STATE, 'unexpected packet type ' + n);
  }

  _remember(id: number): boolean {
    const in2 = this._in2;
    const i = in2.indexOf(0);
    if (i >= 0) {
      in2[i] = id;
      this._prog = true;
    }
    return i >= 0;
  }

  _deliver(p: PacketView): void {
    const t = this;
    const ss = t._ss;
    for (let i = 0; i < ss.length; i++) {
      const h = t._sh[i];
      if ((ss[i] === SUB_ACTIVE || ss[i] === SUB_PENDING) && h && topicMatch(t._sf[i] as string, p.buf, p.topicOff, p.topicLen)) h(p);
    }
    t.onMessage && t.onMessage(p);
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE ops ----

  _freeOp(): number {
    const ok = this._ok;
    for (let k = 1; k < ok.length; k++) if (!ok[k]) return k;
    return -1;
  }

  _sendOp(k: number): void {
    const t = this;
    const ss = t._ss;
    const fs: string[] = [];
    const qs: number[] = [];
    const unsub = t._ok[k] === 2;
    let n = 0;
    for (let i = 0; i < ss.length; i++) {
      if (ss[i] === (unsub ? SUB_UNSUB : SUB_PENDING) && t._so[i] === k) {
        // The resubscribe op collects its filters in slot order.
        const at = k ? t._sk[i] : (t._sk[i] = n++);
        fs[at] = t._sf[i] as string;
        qs[at] = t._sq[i];
      }
    }
    if (!fs.length) {
      // An UNSUBSCRIBE for filters with no local slot cannot be rebuilt: finish it.
      if (unsub) t._finishOp(k, null);
      else t._ok[k] = 0;
      return;
    }
    t._control(unsub ? encodeUnsubscribe(t._tx, t._txW, k + 1, fs) : encodeSubscribe(t._tx, t._txW, k + 1, fs, qs));
  }

  _freeSlot(i: number): void {
    const t = this;
    t._ss[i] = SUB_FREE;
    t._sf[i] = t._sh[i] = null;
  }

  _finishOp(k: number, suback: PacketView | null): void {
    const t = this;
    const ss = t._ss;
    const kind = t._ok[k];
    const cb = t._oc[k];
    t._ok[k] = 0;
    t._oc[k] = null;
    const codes: number[] = [];
    for (let i = 0; i < ss.length; i++) {
      if (t._so[i] !== k) continue;
      if (kind === 2 && ss[i] === SUB_UNSUB) t._freeSlot(i);
      else if (kind !== 2 && ss[i] === SUB_PENDING && suback) {
        const j = t._sk[i];
        const code = j < suback.count ? suback.buf[suback.listOff + j] : 0x80;
        codes[j] = code;
        if (code === 0x80) {
          t._report(ERR_SUBSCRIBE_REFUSED, t._sf[i] as string);
          t._freeSlot(i);
        } else ss[i] = SUB_ACTIVE;
      }
    }
    if (cb) cb(codes);
  }

  // ---- sending ----

  _ack(type: number, id: number): void {
    this._control(encodeAck(this._tx, this._txW, type, id));
  }

  /** Queues an encoded control packet (n bytes at txW, or an encoder error) and flushes. */
  _control(n: number): void {
    const t = this;
    if (n < 0) return t._fail(n === ERR_NO_SPACE ? ERR_TX_FULL : n);
    t._txW += n;
    t._flush();
  }

  /**
   * Writes what is waiting, in order: the rest of a partly written packet, then the control
   * packets in tx. Returns true when everything went out.
   */
  _flush(): boolean {
    const t = this;
    const tr = t._t;
    // Nothing goes to a closed transport; a half-written packet starts over on the next connection.
    if (!t._s) return false;
    if (t._wSrc) {
      t._wOff += tr.write(t._wSrc, t._wOff, t._wEnd - t._wOff);
      t._sent = true;
      if (t._wOff < t._wEnd) return false;
      t._wSrc = null;
      if (t._wRel >= 0) t.outbox.release(t._wRel);
    }
    if (t._txR < t._txW) {
      t._txR += tr.write(t._tx, t._txR, t._txW - t._txR);
      t._sent = true;
      if (t._txR < t._txW) return false;
      t._txR = t._txW = 0;
    }
    return true;
  }

  /** Sends outbox entries in order while the window and the transport allow. */
  _pump(): void {
    const t = this;
    const ob = t.outbox;
    const ring = ob.buf;
    while (t._flush() && t._s === CONNECTED && ob.send !== ob.tail) {
      const p = ob.send;
      const s = ring[p];
      const qos = (ring[p + HDR] >> 1) & 3;
      if (s === S_REL) {
        // Resend after reconnect with session: PUBREL in the message's place [MQTT-4.4.0-1].
        ob.send = ob.next(p);
        t._ack(PUBREL, ob.id(p));
        continue;
      }
      if (s === S_SENT) {
        ring[p + HDR] |= 8; // DUP on redelivery
      } else if (s && qos) {
        if (ob.inflight >= (t._o.maxInflight || 8)) break;
        const id = t._id;
        // Ids go up in send order, so only the oldest in-flight entry can hold the next one.
        if (ob.head !== p && ob.id(ob.head) === id) break;
        t._id = id >= 65535 ? t._ok.length + 1 : id + 1;
        ring[p] = S_SENT;
        const at = ob.idPos(p);
        ring[p + 1] = ring[at] = id >> 8;
        ring[p + 2] = ring[at + 1] = id & 255;
        ob.inflight++;
      }
      ob.send = ob.next(p);
      if (s) {
        t._wSrc = ring;
        t._wOff = p + HDR;
        t._wEnd = t._wOff + ob.packetLen(p);
        t._wRel = qos ? -1 : p;
      }
    }
    if (t._drain && ob.used() * 2 <= ring.length) {
      t._drain = false;
      t.onDrain && t.onDrain();
    }
  }
}

/**
 * What the transport calls, one per client. A class too, so its methods are shared on the
 * prototype: an object literal of arrow functions would cost four function objects per client.
 */
class Events implements TransportEvents {
  constructor(private _c: MqttClient) {}

  onOpen(): void {
    const t = this._c;
    if (t._s !== OPENING) return;
    t._s = CONNACK_WAIT;
    t._control(t._connect());
  }

  onReadable(): void {
    const t = this._c;
    const rx = t.rx;
    for (let n = rx.next(); n && t._s > OPENING; n = rx.next()) {
      const p = rx.pkt;
      t._recv = true;
      if (n > 0) t._packet(n, p);
      else if (n !== ERR_TOO_LARGE) return t._fail(n);
      // Only a PUBLISH in session may outgrow the buffer; any other packet that large is
      // malformed (their sizes are fixed or bounded by our own SUBSCRIBE).
      else if (p.type !== PUBLISH || t._s !== CONNECTED) return t._fail(n, 'packet type ' + p.type + ' of ' + p.length + ' bytes');
      else {
        // A PUBLISH larger than the receive buffer cannot be delivered. It is acknowledged anyway
        // (and reported): refusing the ack would make a persistent session redeliver it forever.
        t._report(ERR_TOO_LARGE, 'inbound packet of ' + p.length + ' bytes dropped');
        if (p.id) {
          if (p.qos === 1) t._ack(PUBACK, p.id);
          else if (p.qos === 2) {
            // Remembered when there is room (a resend is then not reported twice); PUBREC either
            // way: it is never delivered, so there is nothing to duplicate.
            if (t._in2.indexOf(p.id) < 0) t._remember(p.id);
            t._ack(PUBREC, p.id);
          }
        }
      }
    }
  }

  onWritable(): void {
    this._c._pump();
  }

  // The transport is gone: report, then reconnect unless end() was called.
  onClose(reason: number, detail?: string): void {
    this._c._fail(reason || ERR_CONNECTION, detail);
  }
}

/** The filters of a subscribe/unsubscribe call as a list (anything else as an empty one). */
function list(filters: string | string[]): string[] {
  return typeof filters === 'string' ? [filters] : filters instanceof Array ? filters : [];
}

/**
 * ERR_ARG for an empty list, a filter that is not a string or (subscribe, given q) comes twice
 * (it would take two slots: each message delivered twice), else the first bad filter's (or
 * requested QoS's) error, else the SUBSCRIBE payload length of the filters.
 */
/** A callback argument that is given but cannot be called (it would throw later, on network input). */
function notFn(f: unknown): boolean {
  return f != null && typeof f !== 'function';
}

function check(fs: string[], q?: (k: number) => number): number {
  let rem = 2;
  if (!fs.length) return ERR_ARG;
  for (let k = 0; k < fs.length; k++) {
    if (typeof fs[k] !== 'string' || (q && fs.indexOf(fs[k]) < k)) return ERR_ARG;
    const e = utf8Length(fs[k], TOPIC_FILTER);
    if (e < 0) return e;
    if (q && !(q(k) === 0 || q(k) === 1 || q(k) === 2)) return ERR_QOS;
    rem += 3 + e;
  }
  return rem;
}
