// The MQTT 3.1.1 client state machine. It talks to the world only through a Transport and a
// Clock (transport.ts); all memory (receive and transmit buffers, outbox ring, subscription and
// inbound-QoS-2 tables) is allocated here, in the constructor, and reused for the client's life.
import {
  CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP, PINGREQ, DISCONNECT,
} from './codec/constants.js';
import { ERR_ARG, ERR_QOS, ERR_TOO_LARGE } from './codec/errors.js';
import { encodeConnect, encodeAck, encodeEmpty, encodeSubscribe, encodeUnsubscribe, varintSize, type Bytes, type Will } from './codec/encode.js';
import { Decoder } from './codec/decoder.js';
import { PacketView } from './codec/packet-view.js';
import { utf8Length, TOPIC_FILTER } from './codec/utf8.js';
import { codecErrorName } from './codec/error-names.js';
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
   * Inbound QoS 2 packet ids remembered until PUBREL (default 32). More at once (a broker whose
   * in-flight limit is higher) closes the connection with ERR_INBOUND_FULL: unacknowledged, the
   * message is redelivered after reconnect with a persistent session, never duplicated.
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

function err(code: number, detail?: string): MqttError {
  const name = codecErrorName(code);
  return { code, name, message: detail ? name + ': ' + detail : name };
}

export class MqttClient {
  /** Called after each accepted CONNACK. */
  onConnect: ((sessionPresent: boolean) => void) | null = null;
  /** Every inbound PUBLISH, after the matching subscription handlers. */
  onMessage: MessageHandler | null = null;
  /** Failures: refused CONNACK, timeouts, malformed packets, refused subscriptions. */
  onError: ((e: MqttError) => void) | null = null;
  /** The connection closed: reason 0 after end(), else the error that closed it. */
  onClose: ((reason: number) => void) | null = null;
  /** The outbox has room again after publish() returned ERR_OUTBOX_FULL. */
  onDrain: (() => void) | null = null;

  state = OFFLINE;
  /** Reconnect attempts since the last connection that stayed up for half a keepalive. */
  attempts = 0;
  readonly outbox: Outbox;
  readonly rx: Decoder;

  private readonly o: ClientOptions;
  private readonly t: Transport;
  private readonly c: Clock;
  private readonly ev: TransportEvents;
  private readonly tick: () => void;
  private readonly tx: Uint8Array;
  private txR = 0;
  private txW = 0;
  // The packet being written when the transport took only part of it.
  private wSrc: Uint8Array | null = null;
  private wOff = 0;
  private wEnd = 0;
  private wRel = -1;
  private timer: unknown = null;
  private sent = false;
  private pingOut = false;
  private nextId: number;
  private drain = false;
  private ended = true;
  private readonly maxInflight: number;
  private readonly in2: Uint16Array;
  // Subscription table: filter, requested QoS, handler, state, pending op.
  private readonly sf: (string | null)[] = [];
  private readonly sq: Uint8Array;
  private readonly sh: (MessageHandler | null)[] = [];
  private readonly ss: Uint8Array;
  private readonly so: Uint8Array;
  /** Position of the slot's filter within its SUBSCRIBE (SUBACK codes come in that order). */
  private readonly sk: Uint8Array;
  // Pending SUBSCRIBE/UNSUBSCRIBE ops; op k uses packet id k + 1. Op 0 is the resubscribe.
  private readonly ok: Uint8Array;
  private readonly oc: (((codes: number[]) => void) | null)[] = [];

  constructor(transport: Transport, clock: Clock, options: ClientOptions) {
    const o = options;
    this.o = o;
    this.t = transport;
    this.c = clock;
    this.rx = new Decoder(o.rxSize || 1024);
    this.tx = new Uint8Array(o.txSize || 256);
    this.outbox = new Outbox(o.outboxSize || 2048);
    this.maxInflight = o.maxInflight || 8;
    this.in2 = new Uint16Array(o.maxInboundQos2 || 32);
    const subs = o.maxSubs || 8;
    this.sq = new Uint8Array(subs);
    this.ss = new Uint8Array(subs);
    this.so = new Uint8Array(subs);
    this.sk = new Uint8Array(subs);
    for (let i = 0; i < subs; i++) {
      this.sf.push(null);
      this.sh.push(null);
    }
    const ops = (o.maxPending || 4) + 1;
    this.ok = new Uint8Array(ops);
    for (let i = 0; i < ops; i++) this.oc.push(null);
    // Publish ids start above the op ids so the two never collide.
    this.nextId = ops + 1;
    // Created once: nothing per message or per timer tick.
    this.tick = () => this.onTick();
    this.ev = {
      onOpen: () => this.opened(),
      onReadable: () => this.readable(),
      onWritable: () => this.pump(),
      onClose: (reason, detail) => this.closed(reason, detail),
    };
  }

  /** Opens the connection (and keeps it up, with reconnect). Returns 0 or ERR_ARG / ERR_STATE. */
  connect(): number {
    const o = this.o;
    if (this.state !== OFFLINE || !this.ended) return ERR_STATE;
    if (!o.clientId && o.clean === false) return ERR_ARG;
    // Bad options (client id too long for the transmit buffer, U+0000, keepalive...) fail here,
    // by name, instead of failing every attempt forever. tx is idle while offline.
    const n = this.encodeConnect();
    if (n < 0) return n === -1 ? ERR_TX_FULL : n;
    this.ended = false;
    this.open();
    return 0;
  }

  private encodeConnect(): number {
    const o = this.o;
    return encodeConnect(this.tx, 0, {
      clientId: o.clientId, clean: o.clean, keepalive: o.keepalive, username: o.username,
      password: o.password, will: o.will,
    });
  }

  /**
   * Sends DISCONNECT (the broker then drops the will) and closes; no reconnect. Whatever the
   * outbox still holds stays there for a later connect() and is counted by `queued`.
   */
  end(): void {
    this.ended = true;
    this.clearTimer();
    if (this.state === CONNECTED) {
      const n = encodeEmpty(this.tx, this.txW, DISCONNECT);
      if (n > 0) this.txW += n;
      this.flush();
    }
    const was = this.state;
    this.state = OFFLINE;
    if (was !== OFFLINE) {
      this.t.close();
      this.onClose && this.onClose(0);
    }
  }

  /** Messages in the outbox: queued, in flight, or waiting for PUBCOMP. */
  get queued(): number {
    let n = 0;
    const ob = this.outbox;
    for (let k = 0, p = ob.head; k < ob.count; k++, p = ob.next(p)) if (ob.buf[p] !== S_DONE) n++;
    return n;
  }

  /**
   * Publishes a message. Returns 0 once it is in the outbox (it goes out in order, resent until
   * acknowledged for QoS 1/2), or a negative status: ERR_TOPIC, ERR_QOS, ERR_UTF8, ERR_TOO_LONG
   * (can never fit the outbox), ERR_OUTBOX_FULL (wait for onDrain), ERR_OFFLINE. Offline, and
   * before connect(), messages wait in the outbox. Allocates nothing.
   */
  publish(topic: string, payload: Bytes, qos?: number, retain?: boolean): number {
    // JavaScript apps can pass anything: NaN is not QoS 0, an ArrayBuffer is not bytes.
    const q = qos == null ? 0 : qos;
    if (typeof topic !== 'string' || !(typeof payload === 'string' || payload instanceof Uint8Array)) return ERR_ARG;
    if (q === 0 && this.state !== CONNECTED && this.o.queueQos0 === false) return ERR_OFFLINE;
    const r = this.outbox.push(topic, payload, q, !!retain);
    if (r === ERR_OUTBOX_FULL) this.drain = true;
    if (r) return r;
    this.pump();
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
    const fs = typeof filters === 'string' ? [filters] : filters instanceof Array ? filters : [];
    const n = fs.length;
    if (!n) return ERR_ARG;
    let rem = 2;
    for (let k = 0; k < n; k++) {
      // The same filter twice would take two slots: each message delivered twice.
      if (typeof fs[k] !== 'string' || fs.indexOf(fs[k]) < k) return ERR_ARG;
      const e = utf8Length(fs[k], TOPIC_FILTER);
      if (e < 0) return e;
      const q = typeof qos === 'number' ? qos : qos ? qos[k] : 0;
      if (!(q === 0 || q === 1 || q === 2)) return ERR_QOS;
      rem += 3 + e;
    }
    // After a reconnect without a session every subscription goes again in one SUBSCRIBE: one
    // that can never fit the transmit buffer would fail every connection forever.
    for (let i = 0; i < this.ss.length; i++) {
      const f = this.sf[i];
      if (this.ss[i] !== SUB_FREE && f !== null && fs.indexOf(f) < 0) rem += 3 + utf8Length(f, TOPIC_FILTER);
    }
    if (1 + varintSize(rem) + rem > this.tx.length) return ERR_TX_FULL;
    const op = this.freeOp();
    // Slots: the one already holding the same filter (a new SUBSCRIBE replaces it), else a free one.
    const slots: number[] = [];
    for (let k = 0; k < n; k++) {
      let s = this.sf.indexOf(fs[k]);
      if (s >= 0 && slots.indexOf(s) >= 0) return ERR_ARG; // the same filter twice in one call
      if (s < 0) for (let i = 0; i < this.ss.length && s < 0; i++) if (this.ss[i] === SUB_FREE && slots.indexOf(i) < 0) s = i;
      if (s < 0 || op < 0) return ERR_NO_SLOT;
      slots.push(s);
    }
    for (let k = 0; k < n; k++) {
      const s = slots[k];
      this.sk[s] = k;
      this.sf[s] = fs[k];
      this.sq[s] = typeof qos === 'number' ? qos : qos ? qos[k] : 0;
      this.sh[s] = handler || null;
      this.ss[s] = SUB_PENDING;
      this.so[s] = op;
    }
    this.ok[op] = 1;
    this.oc[op] = done || null;
    if (this.state === CONNECTED) this.sendOp(op);
    return 0;
  }

  /**
   * Unsubscribes (only while connected: the broker holds the subscription). Local handlers stop at
   * once; `done` runs on UNSUBACK. Allocates.
   */
  unsubscribe(filters: string | string[], done?: (() => void) | null): number {
    const fs = typeof filters === 'string' ? [filters] : filters instanceof Array ? filters : [];
    if (!fs.length) return ERR_ARG;
    for (let k = 0; k < fs.length; k++) {
      if (typeof fs[k] !== 'string') return ERR_ARG;
      const e = utf8Length(fs[k], TOPIC_FILTER);
      if (e < 0) return e;
    }
    if (this.state !== CONNECTED) return ERR_STATE;
    const op = this.freeOp();
    if (op < 0) return ERR_NO_SLOT;
    const n = encodeUnsubscribe(this.tx, this.txW, op + 1, fs);
    if (n < 0) return n === -1 ? ERR_TX_FULL : n;
    for (let k = 0; k < fs.length; k++) {
      const s = this.sf.indexOf(fs[k]);
      if (s >= 0) {
        this.ss[s] = SUB_UNSUB;
        this.so[s] = op;
      }
    }
    this.ok[op] = 2;
    // UNSUBACK carries no codes: the callback ignores the (empty) array it is given.
    this.oc[op] = done || null;
    this.txW += n;
    this.pump();
    return 0;
  }

  // ---- connection lifecycle ----

  private open(): void {
    this.state = OPENING;
    this.rx.reset();
    this.txR = this.txW = 0;
    this.wSrc = null;
    this.wEnd = this.wOff = 0;
    this.wRel = -1;
    this.pingOut = false;
    this.arm(this.o.connectTimeout || 10000);
    this.t.open(this.o.host, this.o.port || 1883, this.rx, this.ev);
  }

  private opened(): void {
    if (this.state !== OPENING) return;
    const n = this.encodeConnect();
    if (n < 0) return this.fail(n === -1 ? ERR_TX_FULL : n);
    this.txW = n;
    this.state = CONNACK_WAIT;
    this.flush();
  }

  /** The transport is gone: report, then reconnect unless end() was called. */
  private closed(reason: number, detail?: string): void {
    this.fail(reason || ERR_CONNECTION, detail);
  }

  /** Closes the connection because of `code`; reconnect follows from closed(). */
  private fail(code: number, detail?: string): void {
    if (this.state === OFFLINE) return;
    this.report(code, detail);
    this.state = OFFLINE;
    this.clearTimer();
    this.t.close();
    this.onClose && this.onClose(code);
    if (!this.ended) this.schedule();
  }

  private report(code: number, detail?: string): void {
    this.onError && this.onError(err(code, detail));
  }

  private schedule(): void {
    const o = this.o;
    if (o.reconnect === false) {
      this.ended = true;
      return;
    }
    const min = o.reconnectMin || 1000;
    const max = o.reconnectMax || 60000;
    let d = min * Math.pow(2, this.attempts < 20 ? this.attempts : 20);
    if (d > max) d = max;
    this.attempts++;
    this.arm(Math.floor(d / 2 + (Math.random() * d) / 2));
  }

  private arm(ms: number): void {
    this.clearTimer();
    this.timer = this.c.set(this.tick, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.c.clear(this.timer);
    this.timer = null;
  }

  private onTick(): void {
    this.timer = null;
    const s = this.state;
    if (s === OFFLINE) {
      if (!this.ended) this.open();
    } else if (s !== CONNECTED) {
      this.fail(ERR_CONNECT_TIMEOUT);
    } else if (this.pingOut) {
      this.fail(ERR_PING_TIMEOUT);
    } else {
      // The connection lasted half a keepalive: only now does backoff start again from the
      // minimum, so a broker that accepts and then drops at once cannot cause a storm.
      this.attempts = 0;
      // Ticks every half keepalive: nothing sent during a whole half means a PINGREQ is due, so
      // the gap between packets never exceeds the keepalive. The next tick without PINGRESP fails.
      if (!this.sent) {
        this.pingOut = true;
        this.control(encodeEmpty(this.tx, this.txW, PINGREQ));
      }
      this.sent = false;
      this.armKeepalive();
    }
  }

  private armKeepalive(): void {
    const ka = this.o.keepalive === undefined ? 60 : this.o.keepalive;
    if (ka && this.state === CONNECTED) this.arm(ka * 500);
  }

  // ---- receiving ----

  private readable(): void {
    const d = this.rx;
    for (let t = d.next(); t && this.state > OPENING; t = d.next()) {
      if (t < 0) {
        if (t === ERR_TOO_LARGE) this.tooLarge(d.pkt);
        else return this.fail(t);
      } else this.packet(t, d.pkt);
    }
  }

  /**
   * A PUBLISH larger than the receive buffer cannot be delivered. It is acknowledged anyway (and
   * reported): refusing the ack would make a persistent session redeliver it forever.
   */
  private tooLarge(p: PacketView): void {
    this.report(ERR_TOO_LARGE, 'inbound packet of ' + p.length + ' bytes dropped');
    if (p.type === PUBLISH && p.id) {
      if (p.qos === 1) this.control(encodeAck(this.tx, this.txW, PUBACK, p.id));
      else if (p.qos === 2 && (this.in2.indexOf(p.id) >= 0 || this.remember(p.id))) this.control(encodeAck(this.tx, this.txW, PUBREC, p.id));
    }
  }

  private packet(t: number, p: PacketView): void {
    const ob = this.outbox;
    if (this.state === CONNACK_WAIT) {
      if (t !== CONNACK) return this.fail(ERR_PROTOCOL_STATE, 'packet type ' + t + ' before CONNACK');
      if (p.returnCode) {
        // Refused: count it as a failed attempt so backoff grows (no reconnect storm).
        return this.fail(ERR_REFUSED_PROTOCOL - p.returnCode + 1);
      }
      this.state = CONNECTED;
      this.clearTimer();
      const sp = p.sessionPresent;
      if (!sp) {
        this.in2.fill(0);
        // Everything the broker held is gone: every subscription is sent again.
        if (this.o.resubscribe !== false) {
          for (let i = 0; i < this.ss.length; i++) {
            if (this.ss[i] === SUB_ACTIVE) {
              this.ss[i] = SUB_PENDING;
              this.so[i] = 0;
              this.ok[0] = 3;
            }
          }
        }
        for (let i = 0; i < this.ss.length; i++) {
          if (this.ss[i] === SUB_UNSUB) this.ss[i] = SUB_FREE;
        }
        for (let k = 0; k < this.ok.length; k++) if (this.ok[k] === 2) this.finishOp(k, null);
      }
      ob.rewind(sp);
      for (let k = 0; k < this.ok.length; k++) if (this.ok[k]) this.sendOp(k);
      this.sent = false;
      this.armKeepalive();
      this.onConnect && this.onConnect(sp);
      this.pump();
      return;
    }
    switch (t) {
      case PUBLISH: {
        const q = p.qos;
        if (q === 2) {
          // Exactly once: a re-sent PUBLISH whose id awaits PUBREL is not delivered again.
          if (this.in2.indexOf(p.id) < 0) {
            if (!this.remember(p.id)) return this.fail(ERR_INBOUND_FULL);
            this.deliver(p);
          }
          this.control(encodeAck(this.tx, this.txW, PUBREC, p.id));
        } else {
          this.deliver(p);
          if (q) this.control(encodeAck(this.tx, this.txW, PUBACK, p.id));
        }
        return;
      }
      case PUBREL: {
        const i = this.in2.indexOf(p.id);
        if (i >= 0) this.in2[i] = 0;
        // PUBCOMP even for an unknown id: the broker may have lost our earlier PUBCOMP.
        this.control(encodeAck(this.tx, this.txW, PUBCOMP, p.id));
        return;
      }
      case PUBACK:
      case PUBCOMP: {
        const e = ob.find(p.id);
        // Only the matching stage counts: PUBACK for a QoS 1 entry, PUBCOMP after PUBREC.
        if (e >= 0 && (t === PUBACK ? ob.buf[e] === S_SENT && (ob.buf[e + HDR] & 6) === 2 : ob.buf[e] === S_REL)) {
          ob.release(e);
          this.pump();
        }
        return;
      }
      case PUBREC: {
        const e = ob.find(p.id);
        if (e >= 0 && ob.buf[e] === S_SENT && (ob.buf[e + HDR] & 6) === 4) ob.buf[e] = S_REL;
        // PUBREL also for a repeated or unknown PUBREC, so the broker can finish its side.
        if (e < 0 || ob.buf[e] === S_REL) this.control(encodeAck(this.tx, this.txW, PUBREL, p.id));
        return;
      }
      case SUBACK:
      case UNSUBACK: {
        const k = p.id - 1;
        if (k >= 0 && k < this.ok.length && this.ok[k] && (this.ok[k] === 2) === (t === UNSUBACK)) {
          this.finishOp(k, t === SUBACK ? p : null);
        }
        return;
      }
      case PINGRESP:
        this.pingOut = false;
        return;
    }
    this.fail(ERR_PROTOCOL_STATE, 'unexpected packet type ' + t);
  }

  private remember(id: number): boolean {
    const i = this.in2.indexOf(0);
    if (i < 0) return false;
    this.in2[i] = id;
    return true;
  }

  private deliver(p: PacketView): void {
    const b = p.buf;
    for (let i = 0; i < this.ss.length; i++) {
      const s = this.ss[i];
      const h = this.sh[i];
      if ((s === SUB_ACTIVE || s === SUB_PENDING) && h && topicMatch(this.sf[i] as string, b, p.topicOff, p.topicLen)) h(p);
    }
    this.onMessage && this.onMessage(p);
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE ops ----

  private freeOp(): number {
    for (let k = 1; k < this.ok.length; k++) if (!this.ok[k]) return k;
    return -1;
  }

  private sendOp(k: number): void {
    const fs: string[] = [];
    const qs: number[] = [];
    const want = this.ok[k] === 2 ? SUB_UNSUB : SUB_PENDING;
    let n = 0;
    for (let i = 0; i < this.ss.length; i++) {
      if (this.ss[i] === want && this.so[i] === k) {
        // The resubscribe op collects its filters in slot order.
        const at = k ? this.sk[i] : (this.sk[i] = n);
        fs[at] = this.sf[i] as string;
        qs[at] = this.sq[i];
        n++;
      }
    }
    if (!fs.length) {
      // An UNSUBSCRIBE for filters with no local slot cannot be rebuilt: finish it.
      if (this.ok[k] === 2) this.finishOp(k, null);
      else this.ok[k] = 0;
      return;
    }
    this.control(want === SUB_UNSUB
      ? encodeUnsubscribe(this.tx, this.txW, k + 1, fs)
      : encodeSubscribe(this.tx, this.txW, k + 1, fs, qs));
  }

  private finishOp(k: number, suback: PacketView | null): void {
    const kind = this.ok[k];
    const cb = this.oc[k];
    this.ok[k] = 0;
    this.oc[k] = null;
    const codes: number[] = [];
    for (let i = 0; i < this.ss.length; i++) {
      if (this.so[i] !== k) continue;
      if (kind === 2 && this.ss[i] === SUB_UNSUB) {
        this.ss[i] = SUB_FREE;
        this.sf[i] = null;
        this.sh[i] = null;
      } else if (kind !== 2 && this.ss[i] === SUB_PENDING && suback) {
        const j = this.sk[i];
        const c = j < suback.count ? suback.buf[suback.listOff + j] : 0x80;
        codes[j] = c;
        if (c === 0x80) {
          this.report(ERR_SUBSCRIBE_REFUSED, this.sf[i] as string);
          this.ss[i] = SUB_FREE;
          this.sf[i] = null;
          this.sh[i] = null;
        } else this.ss[i] = SUB_ACTIVE;
      }
    }
    if (cb) cb(codes);
  }

  // ---- sending ----

  /** Queues an encoded control packet (n bytes at txW, or an encoder error) and flushes. */
  private control(n: number): void {
    if (n < 0) return this.fail(n === -1 ? ERR_TX_FULL : n);
    this.txW += n;
    this.flush();
  }

  /**
   * Writes what is waiting, in order: the rest of a partly written packet, then the control
   * packets in tx. Returns true when everything went out.
   */
  private flush(): boolean {
    const t = this.t;
    // Nothing goes to a closed transport; a half-written packet starts over on the next connection.
    if (this.state === OFFLINE) return false;
    if (this.wSrc) {
      const k = t.write(this.wSrc, this.wOff, this.wEnd - this.wOff);
      this.sent = true;
      this.wOff += k;
      if (this.wOff < this.wEnd) return false;
      this.wSrc = null;
      if (this.wRel >= 0) {
        this.outbox.release(this.wRel);
        this.wRel = -1;
      }
    }
    if (this.txR < this.txW) {
      const k = t.write(this.tx, this.txR, this.txW - this.txR);
      this.sent = true;
      this.txR += k;
      if (this.txR < this.txW) return false;
      this.txR = this.txW = 0;
    }
    return true;
  }

  /** Sends outbox entries in order while the window and the transport allow. */
  private pump(): void {
    const ob = this.outbox;
    const b = ob.buf;
    while (this.flush() && this.state === CONNECTED && ob.send !== ob.tail) {
      const p = ob.send;
      const st = b[p];
      if (st === S_REL) {
        // Resend after reconnect with session: PUBREL in the message's place [MQTT-4.4.0-1].
        ob.send = ob.next(p);
        this.control(encodeAck(this.tx, this.txW, PUBREL, ob.id(p)));
        continue;
      }
      if (st === S_DONE) {
        ob.send = ob.next(p);
        continue;
      }
      const qos = (b[p + HDR] >> 1) & 3;
      if (st === S_SENT) {
        b[p + HDR] |= 8; // DUP on redelivery
      } else if (qos) {
        if (ob.inflight >= this.maxInflight) break;
        let id = this.nextId;
        // Ids go up in send order, so only the oldest in-flight entry can hold the next one.
        if (ob.head !== ob.send && ob.id(ob.head) === id) break;
        this.nextId = id >= 65535 ? this.ok.length + 1 : id + 1;
        b[p] = S_SENT;
        b[p + 1] = id >> 8;
        b[p + 2] = id & 255;
        const at = ob.idPos(p);
        b[at] = id >> 8;
        b[at + 1] = id & 255;
        ob.inflight++;
      }
      ob.send = ob.next(p);
      this.wSrc = b;
      this.wOff = p + HDR;
      this.wEnd = p + HDR + ob.packetLen(p);
      this.wRel = qos ? -1 : p;
    }
    if (this.drain && ob.used() * 2 <= b.length) {
      this.drain = false;
      this.onDrain && this.onDrain();
    }
  }
}
