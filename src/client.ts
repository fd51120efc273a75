// The MQTT 3.1.1 client state machine. It talks to the world only through a Transport and a
// Clock (transport.ts); all memory (receive and transmit buffers, outbox ring, subscription and
// inbound-QoS-2 tables) is allocated here, in the constructor, and reused for the client's life.
import {
  CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP, PINGREQ, DISCONNECT,
} from './codec/constants.js';
import { ERR_ARG, ERR_QOS, ERR_TOO_LARGE, ERR_NO_SPACE } from './codec/errors.js';
import { encodeConnect, encodeAck, encodeEmpty, encodeFilters, varintSize, validQos, type Bytes, type Will } from './codec/encode.js';
import { Decoder } from './codec/decoder.js';
import type { PacketView } from './codec/packet-view.js';
import { utf8Length, TOPIC_FILTER } from './codec/utf8.js';
import {
  ERR_OUTBOX_FULL, ERR_STATE, ERR_NO_SLOT, ERR_TX_FULL, ERR_REFUSED_PROTOCOL, ERR_CONNECT_TIMEOUT,
  ERR_PING_TIMEOUT, ERR_INBOUND_FULL, ERR_SUBSCRIBE_REFUSED, ERR_OFFLINE, ERR_PROTOCOL_STATE,
  ERR_CONNECTION,
} from './client-errors.js';
import { Outbox, S_NEW, S_SENT, S_REL, HDR, entryEnd, entryId, findEntry, release, rewind, push } from './outbox.js';
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

/** A pending SUBSCRIBE (QoS list) or UNSUBSCRIBE (null): its filters and callback. */
type Op = [string[], number[] | null, (((codes: number[]) => void) | null)?];

/** Subscription slot: the broker granted it (set on its SUBACK), beside the requested QoS. */
const GRANTED = 4;

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
 * object in RAM (measured in XS: 219 slots for an idle client then, 692 as a closure; 149 now). Members named
 * _x are internal (not `private`: the transport calls the _ ones of TransportEvents): the minifier
 * shortens them, and methods alias `this` to a local, which it also shortens. Fields start undefined where
 * that reads as their zero (false, none).
 */
export class MqttClient implements TransportEvents {
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
  readonly outbox!: Outbox;
  readonly rx!: Decoder;

  _s!: number; // state
  _a!: number; // attempts
  _o!: ClientOptions;
  _t!: Transport;
  _c!: Clock;
  _k!: () => void; // the timer callback
  _tx!: Uint8Array;
  _txR!: number;
  _txW!: number;
  // The outbox packet being written when the transport took only part of it (0: none).
  _wSrc!: Uint8Array | 0;
  _wOff!: number;
  _wEnd!: number;
  /** The entry to release once written (QoS 0), or -1. */
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
  /** The next packet id for publish(); ids 1.._m belong to SUBSCRIBE/UNSUBSCRIBE ops. */
  _id!: number;
  _drain!: boolean;
  /** connect() was called and end() not since (starts undefined: ended). */
  _on!: boolean;
  /** Inbound QoS 2 ids awaiting PUBREL (0: free). */
  _in2!: Uint16Array;
  // Subscription slots (_n of them): filter (null: free), requested QoS | GRANTED, handler.
  _n!: number;
  _sf!: (string | null)[];
  _sq!: Uint8Array;
  _sh!: (MessageHandler | null | undefined)[];
  // SUBSCRIBE/UNSUBSCRIBE ops (_m of them; op k is packet id k + 1; op 0 is the resubscribe):
  // undefined when free.
  _m!: number;
  _ops!: (Op | undefined)[];

  constructor(transport: Transport, clock: Clock, o: ClientOptions) {
    const t = this;
    (t as { rx: Decoder }).rx = new Decoder(o.rxSize || 1024);
    (t as { outbox: Outbox }).outbox = new Outbox(o.outboxSize || 2048);
    t._o = o;
    t._t = transport;
    t._c = clock;
    t._tx = new Uint8Array(o.txSize || 256);
    t._in2 = new Uint16Array(o.maxInboundQos2 || 64);
    t._sq = new Uint8Array((t._n = o.maxSubs || 8));
    t._sf = [];
    t._sh = [];
    t._ops = [];
    t._id = (t._m = (o.maxPending || 4) + 1) + 1;
    t._s = t._a = 0;
    // The only per-instance function: what the Clock calls back.
    t._k = () => {
      t._timer = null;
      if (!t._s) {
        if (t._on) t._open();
      } else if (t._s != CONNECTED) t._fail(ERR_CONNECT_TIMEOUT);
      else if (t._ping && !t._recv) t._fail(ERR_PING_TIMEOUT);
      // Held-back QoS 2 messages and the PUBRELs that would empty the table never came.
      else if (t._owed) t._fail(ERR_INBOUND_FULL);
      else {
        // No PINGRESP yet, but bytes keep arriving (it may sit behind a backlog): the link is
        // alive. Otherwise the connection lasted half a keepalive: only now does backoff start
        // again from the minimum, so a broker that accepts and then drops at once cannot cause a
        // storm. Ticks every half keepalive: nothing sent, or nothing received, during a whole
        // half means a PINGREQ is due (the gap between packets never exceeds the keepalive, and
        // a link dead only towards us is noticed even while we keep publishing). The next tick
        // without PINGRESP and without any byte fails.
        // Armed before the PINGREQ: a failure to send it replaces this timer with the reconnect's.
        t._keepalive();
        if (!t._ping) {
          t._a = 0;
          if (!t._sent || !t._recv) t._ping = true, t._control(encodeEmpty(t._tx, t._txW, PINGREQ));
          t._sent = false;
        }
        t._recv = false;
      }
    };
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
    return this.outbox.count;
  }

  /**
   * Opens the connection (and keeps it up, with reconnect). Returns 0, ERR_STATE, or the named
   * reason the CONNECT can never be sent: ERR_ARG (no client id with clean = false, password
   * without user name, bad keepalive, will, host or port), ERR_UTF8, ERR_TOO_LONG, ERR_TX_FULL.
   */
  connect(): number {
    const t = this;
    const o = t._o;
    const port = o.port ?? 1883;
    // Bad options fail here, by name, instead of failing every attempt forever. tx is idle
    // while offline.
    const n = t._s || t._on ? ERR_STATE
      : (!o.clientId && o.clean === false) || typeof o.host != 'string' || !o.host || !port || (port & 65535) !== port ? ERR_ARG
      : encodeConnect(t._tx, 0, o);
    if (n < 0) return n == ERR_NO_SPACE ? ERR_TX_FULL : n;
    t._on = true;
    t._open();
    return 0;
  }

  /**
   * Sends DISCONNECT (the broker then drops the will) and closes; no reconnect. Whatever the
   * outbox still holds stays there for a later connect() and is counted by `queued`.
   */
  end(): void {
    const t = this;
    const was = t._s;
    t._on = false;
    t._clear();
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
    const id = t._id;
    // JavaScript apps can pass anything: NaN is not QoS 0, an ArrayBuffer is not bytes. The
    // encoder reads retain as a truth value.
    const q = qos ?? 0;
    const r = typeof topic != 'string' || !(typeof payload == 'string' || payload instanceof Uint8Array) ? ERR_ARG
      : q === 0 && t._s != CONNECTED && t._o.queueQos0 === false ? ERR_OFFLINE
      : push(t.outbox, topic, payload, q, retain as boolean, id);
    if (r == ERR_OUTBOX_FULL) t._drain = true;
    if (r) return r;
    t._id = id < 65535 ? id + 1 : t._m + 1;
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
    const sf = t._sf;
    const qs = fs.map((_, k) => (typeof qos == 'number' ? qos : qos ? qos[k] : 0));
    const op = t._freeOp();
    const n = notFn(handler) || notFn(done) ? ERR_ARG : check(fs, qs);
    if (n < 0) return n;
    // Connected, it is encoded into tx at once: no room now is a named status, not a dropped link.
    // After a reconnect without a session every subscription goes again in one SUBSCRIBE: one
    // that can never fit the transmit buffer would fail every connection forever.
    // A filter already subscribed keeps its slot (the new SUBSCRIBE replaces it): `all`, every
    // subscription afterwards, must fit the slots too.
    const all = fs.concat(sf.filter((f) => f && fs.indexOf(f) < 0) as string[]);
    if ((t._s == CONNECTED && !t._fits(n, t._txW)) || !t._fits(check(all), 0)) return ERR_TX_FULL;
    if (op < 0 || all.length > t._n) return ERR_NO_SLOT;
    fs.forEach((f, k) => {
      let s = sf.indexOf(f);
      if (s < 0) for (s = 0; sf[s];) s++;
      sf[s] = f;
      t._sq[s] = qs[k];
      t._sh[s] = handler;
    });
    t._ops[op] = [fs, qs, done];
    t._sendOp(op);
    return 0;
  }

  /**
   * Unsubscribes (only while connected: the broker holds the subscription). Local handlers stop at
   * once; `done` runs on UNSUBACK. Allocates.
   */
  unsubscribe(filters: string | string[], done?: (() => void) | null): number {
    const t = this;
    const fs = list(filters);
    const op = t._freeOp();
    let n = notFn(done) ? ERR_ARG : check(fs);
    // check() measures a SUBSCRIBE: an UNSUBSCRIBE has no QoS byte per filter.
    n = n < 0 ? n : t._s != CONNECTED ? ERR_STATE : op < 0 ? ERR_NO_SLOT : t._fits(n - fs.length, t._txW) ? 0 : ERR_TX_FULL;
    if (n) return n;
    for (const f of fs) t._free(f);
    t._ops[op] = [fs, null, done];
    t._sendOp(op);
    return 0;
  }

  // ---- connection lifecycle ----

  _open(): void {
    const t = this;
    const o = t._o;
    t._s = OPENING;
    t.rx.reset();
    t._wSrc = t._txR = t._txW = 0;
    t._ping = t._prog = t._owed = false;
    t._arm(o.connectTimeout || 10000);
    try {
      t._t.open(o.host, o.port || 1883, t.rx, t);
    } catch {
      // A platform that throws instead of reporting (a socket it cannot make): a failed attempt.
      t._fail(ERR_CONNECTION);
    }
  }

  /** Sends DISCONNECT if connected (best effort: no error from here) and goes OFFLINE. */
  _bye(): void {
    const t = this;
    if (t._s == CONNECTED) {
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
    // Too many inbound QoS 2 ids at once is flow control, not a broken link: a clean DISCONNECT
    // (no will), and back after the minimum delay without growing the backoff, as long as the
    // connection made progress (took a new message or a PUBREL); otherwise (a broker resending
    // what the full table already holds) it backs off like any failure.
    // With a session the broker redelivers what was not acknowledged.
    const flow = code == ERR_INBOUND_FULL;
    let d = o.reconnectMin || 1000;
    if (!t._s) return;
    if (flow) t._bye();
    // OFFLINE before any callback: an app that calls end() or connect() from onError or onClose
    // gets a consistent client, and nothing below undoes what it did.
    t._s = OFFLINE;
    t._clear();
    t._t.close();
    t._report(code, detail);
    t.onClose && t.onClose(code);
    if (!t._on || t._s) return;
    if (o.reconnect === false) {
      t._on = false;
      return;
    }
    // Doubling from the minimum up to the maximum (2 ** a past 1023 is Infinity: the maximum),
    // then a random half to full of it, so a fleet that lost its broker at once spreads out.
    if (!flow || !t._prog) d = Math.min(d * 2 ** t._a++, o.reconnectMax || 60000) * (1 + Math.random()) / 2;
    t._arm(d | 0);
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
    if (t._timer != null) t._c.clear(t._timer);
    t._timer = null;
  }

  /** Connected: the next keepalive tick (none with keepalive 0). Before anything is sent. */
  _keepalive(): void {
    const k = this._o.keepalive ?? 60;
    k ? this._arm(k * 500) : this._clear();
  }

  // ---- receiving ----

  /** Handles packet type n in p; `big` (PUBLISH only): too large for rx, acknowledged but not delivered. */
  _packet(n: number, p: PacketView, big?: boolean): void {
    const t = this;
    const id = p.id;
    const ob = t.outbox;
    const ring = ob.buf;
    const in2 = t._in2;
    let k = 0;
    let e: number;
    if (t._s == CONNACK_WAIT) {
      // Refused: count it as a failed attempt so backoff grows (no reconnect storm).
      if (n != CONNACK || p.returnCode) return t._fail(n != CONNACK ? ERR_PROTOCOL_STATE : ERR_REFUSED_PROTOCOL + 1 - p.returnCode);
      const sp = p.sessionPresent;
      t._s = CONNECTED;
      t._keepalive();
      if (!sp) {
        // Everything the broker held is gone: every granted subscription goes again, in one
        // SUBSCRIBE, and pending UNSUBSCRIBEs are done (below).
        in2.fill(0);
        if (t._o.resubscribe !== false) {
          const fs: string[] = [];
          const qs: number[] = [];
          for (; k < t._n; k++) if (t._sq[k] & GRANTED) fs.push(t._sf[k] as string), qs.push(t._sq[k] & 3);
          t._ops[0] = fs[0] ? [fs, qs] : undefined;
        }
      }
      rewind(ob, sp);
      for (k = 0; k < t._m; k++) {
        const o = t._ops[k];
        if (!sp && o && !o[1]) t._finish(k, p);
        t._sendOp(k);
      }
      t._sent = t._recv = false;
      t.onConnect && t.onConnect(sp);
      t._pump();
    } else if (n == PUBLISH) {
      if (p.qos < 2) {
        big || t._deliver(p);
        if (p.qos) t._ack(PUBACK, id);
      } else {
        // Exactly once: a re-sent PUBLISH whose id awaits PUBREL is not delivered again.
        if (in2.indexOf(id) < 0) {
          // No room to remember it: not delivered, not acknowledged. The broker keeps it in
          // flight; the reconnect that follows once the table empties brings it again. A big
          // one is acknowledged anyway: it is never delivered, so there is nothing to duplicate.
          k = in2.indexOf(0);
          if (k >= 0) in2[k] = id, t._prog = true;
          else if (!big) return void (t._owed = true);
          big || t._deliver(p);
        }
        t._ack(PUBREC, id);
      }
    } else if (n == PUBREL) {
      k = in2.indexOf(id);
      if (k >= 0) in2[k] = 0, t._prog = true;
      // PUBCOMP even for an unknown id: the broker may have lost our earlier PUBCOMP.
      t._ack(PUBCOMP, id);
      // find(Boolean): the first id taken (ids are never 0); no allocation.
      if (t._owed && !in2.find(Boolean)) t._fail(ERR_INBOUND_FULL);
    } else if (n > PUBLISH && n <= PUBCOMP) {
      // PUBACK, PUBREC or PUBCOMP (PUBREL is above). Only the matching stage counts: PUBACK for a
      // sent QoS 1 entry (QoS bits 2), PUBREC for a sent QoS 2 one (4), PUBCOMP after PUBREC.
      // No entry (-1): ring[-1] is no stage.
      e = findEntry(ob, id);
      if (n == PUBCOMP ? ring[e] == S_REL : ring[e] == S_SENT && (ring[e + HDR] & 6) == n * 2 - 6) {
        if (n == PUBREC) ring[e] = S_REL;
        else release(ob, e), t._pump();
      }
      // PUBREL also for a repeated or unknown PUBREC, so the broker can finish its side.
      if (n == PUBREC && (e < 0 || ring[e] == S_REL)) t._ack(PUBREL, id);
    } else if (n == SUBACK || n == UNSUBACK) {
      // An op that is not pending (any id beyond the table too) or of the other kind: ignored.
      const o = t._ops[id - 1];
      if (o && !o[1] == (n == UNSUBACK)) t._finish(id - 1, p);
    } else if (n == PINGRESP) t._ping = false;
    else t._fail(ERR_PROTOCOL_STATE);
  }

  _deliver(p: PacketView): void {
    const t = this;
    // A slot with a handler has a filter (_free clears both).
    for (let i = 0; i < t._n; i++) {
      const h = t._sh[i];
      if (h && topicMatch(t._sf[i] as string, p.buf, p.topicOff, p.topicLen)) h(p);
    }
    t.onMessage && t.onMessage(p);
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE ops ----

  _freeOp(): number {
    for (let k = 1; k < this._m; k++) if (!this._ops[k]) return k;
    return -1;
  }

  /** Sends op k if it is pending and the client connected. */
  _sendOp(k: number): void {
    const t = this;
    const o = t._ops[k];
    if (o && t._s == CONNECTED) t._control(encodeFilters(t._tx, t._txW, k + 1, o[0], o[1]));
  }

  /** The SUBSCRIBE payload `rem` (remaining length) fits in tx from `at`. */
  _fits(rem: number, at: number): boolean {
    return 1 + varintSize(rem) + rem <= this._tx.length - at;
  }

  /** Frees filter f's slot, if it has one. */
  _free(f: string): void {
    const t = this;
    const i = t._sf.indexOf(f);
    if (i >= 0) t._sq[i] = 0, t._sf[i] = t._sh[i] = null;
  }

  /** Op k is acknowledged (SUBACK `p`) or void (an UNSUBSCRIBE the broker no longer needs). */
  _finish(k: number, p: PacketView): void {
    const t = this;
    const o = t._ops[k] as Op;
    const codes = o[1] ? o[0].map((f, j) => {
      const c = j < p.count ? p.buf[p.listOff + j] : 0x80;
      const s = t._sf.indexOf(f);
      if (c & 0x80) t._report(ERR_SUBSCRIBE_REFUSED, f), t._free(f);
      else if (s >= 0) t._sq[s] |= GRANTED;
      return c;
    }) : [];
    t._ops[k] = undefined;
    if (o[2]) o[2](codes);
  }

  // ---- sending ----

  _ack(type: number, id: number): void {
    this._control(encodeAck(this._tx, this._txW, type, id));
  }

  /** Queues an encoded control packet (n bytes at txW, or an encoder error) and flushes. */
  _control(n: number): void {
    const t = this;
    if (n < 0) return t._fail(n == ERR_NO_SPACE ? ERR_TX_FULL : n);
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
      t._sent = true;
      if ((t._wOff += tr.write(t._wSrc, t._wOff, t._wEnd - t._wOff)) < t._wEnd) return false;
      t._wSrc = 0;
      if (t._wRel >= 0) release(t.outbox, t._wRel);
    }
    if (t._txR < t._txW) {
      t._sent = true;
      if ((t._txR += tr.write(t._tx, t._txR, t._txW - t._txR)) < t._txW) return false;
      t._txR = t._txW = 0;
    }
    return true;
  }

  /** Sends outbox entries in order while the window and the transport allow. */
  _pump(): void {
    const t = this;
    const ob = t.outbox;
    const ring = ob.buf;
    while (t._flush() && t._s == CONNECTED && ob.send != ob.tail) {
      const p = ob.send;
      const s = ring[p];
      const q = ring[p + HDR] & 6;
      if (s == S_NEW && q) {
        if (ob.inflight >= (t._o.maxInflight || 8)) break;
        ring[p] = S_SENT;
        ob.inflight++;
      } else if (s == S_SENT) ring[p + HDR] |= 8; // DUP on redelivery
      ob.send = ob.next(p);
      // Resend after reconnect with session: PUBREL in the message's place [MQTT-4.4.0-1].
      if (s == S_REL) t._ack(PUBREL, entryId(ring, p));
      else if (s) {
        t._wSrc = ring;
        t._wOff = p + HDR;
        t._wEnd = entryEnd(ring, p);
        t._wRel = q ? -1 : p;
      }
    }
    if (t._drain && ob.used() * 2 <= ring.length) {
      t._drain = false;
      t.onDrain && t.onDrain();
    }
  }

  // ---- what the transport reports (TransportEvents) ----

  _opened(): void {
    const t = this;
    if (t._s == OPENING) {
      t._s = CONNACK_WAIT;
      t._control(encodeConnect(t._tx, 0, t._o));
    }
  }

  _readable(): void {
    const t = this;
    const rx = t.rx;
    const p = rx.pkt;
    for (let n; t._s > OPENING && (n = rx.next()); ) {
      const d = n == ERR_TOO_LARGE ? p.length + ' bytes' : '';
      t._recv = true;
      if (n > 0) t._packet(n, p);
      // Only a PUBLISH in session may outgrow the buffer; any other packet that large is
      // malformed (their sizes are fixed or bounded by our own SUBSCRIBE).
      else if (n != ERR_TOO_LARGE || p.type != PUBLISH || t._s != CONNECTED) return t._fail(n, d);
      else {
        // A PUBLISH larger than the receive buffer cannot be delivered. It is acknowledged anyway
        // (and reported): refusing the ack would make a persistent session redeliver it forever.
        // A QoS 2 one is remembered when there is room (a resend is then not reported twice).
        // Only a QoS 1/2 one has an id.
        t._report(n, d);
        if (p.id) t._packet(PUBLISH, p, true);
      }
    }
  }

  _writable(): void {
    this._pump();
  }

  // The transport is gone: report, then reconnect unless end() was called.
  _lost(reason: number, detail?: string): void {
    this._fail(reason || ERR_CONNECTION, detail);
  }
}


/** The filters of a subscribe/unsubscribe call as a new list (anything else as a list of it). */
function list(filters: string | string[]): string[] {
  return ([] as string[]).concat(filters);
}

/** A callback argument that is given but cannot be called (it would throw later, on network input). */
function notFn(f: unknown): boolean {
  return f != null && typeof f != 'function';
}

/**
 * ERR_ARG for an empty list, a filter that is not a string or (subscribe, given qs) comes twice
 * (it would take two slots: each message delivered twice), else the first bad filter's (or
 * requested QoS's) error, else the SUBSCRIBE remaining length of the filters.
 */
function check(fs: string[], qs?: number[]): number {
  let rem = fs.length ? 2 : ERR_ARG;
  fs.forEach((f, k) => {
    const e = typeof f != 'string' || (qs && fs.indexOf(f) < k) ? ERR_ARG : utf8Length(f, TOPIC_FILTER);
    if (rem > 0) rem = e < 0 ? e : qs && !validQos(qs[k]) ? ERR_QOS : rem + 3 + e;
  });
  return rem;
}
