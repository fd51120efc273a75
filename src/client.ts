// The MQTT 3.1.1 client state machine. It talks to the world only through a Transport and a
// Clock (transport.ts); all memory (receive and transmit buffers, outbox ring, subscription and
// inbound-QoS-2 tables) is allocated here, in the constructor, and reused for the client's life.
// Written as one closure rather than a class: its state lives in local variables, which the
// minifier shortens to one letter, where `this.name` would cost every access (device bundles
// have an 8 KB budget). `new MqttClient(...)` works as with a class.
import {
  CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP, PINGREQ, DISCONNECT,
} from './codec/constants.js';
import { ERR_ARG, ERR_QOS, ERR_TOO_LARGE, ERR_NO_SPACE } from './codec/errors.js';
import { encodeConnect, encodeAck, encodeEmpty, encodeSubscribe, encodeUnsubscribe, type Bytes, type Will } from './codec/encode.js';
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

// Error names come from a table that device bundles leave out: src/index.ts installs
// codecErrorName; without it an error is named by its code, e.g. "ERR-28".
let nameOf = (code: number): string => 'ERR' + code;

/** Sets how MqttError names are made from codes (src/index.ts passes codecErrorName). */
export function useErrorNames(f: (code: number) => string): void {
  nameOf = f;
}

export interface MqttClient {
  /** Called after each accepted CONNACK. */
  onConnect: ((sessionPresent: boolean) => void) | null;
  /** Every inbound PUBLISH, after the matching subscription handlers. */
  onMessage: MessageHandler | null;
  /** Failures: refused CONNACK, timeouts, malformed packets, refused subscriptions. */
  onError: ((e: MqttError) => void) | null;
  /** The connection closed: reason 0 after end(), else the error that closed it. */
  onClose: ((reason: number) => void) | null;
  /** The outbox has room again after publish() returned ERR_OUTBOX_FULL. */
  onDrain: (() => void) | null;
  /** OFFLINE, OPENING, CONNACK_WAIT or CONNECTED. */
  readonly state: number;
  /** Reconnect attempts since the last connection that stayed up for half a keepalive. */
  readonly attempts: number;
  readonly outbox: Outbox;
  readonly rx: Decoder;
  /** Messages in the outbox: queued, in flight, or waiting for PUBCOMP. */
  readonly queued: number;
  /** Opens the connection (and keeps it up, with reconnect). Returns 0 or ERR_ARG / ERR_STATE. */
  connect(): number;
  /**
   * Sends DISCONNECT (the broker then drops the will) and closes; no reconnect. Whatever the
   * outbox still holds stays there for a later connect() and is counted by `queued`.
   */
  end(): void;
  /**
   * Publishes a message. Returns 0 once it is in the outbox (it goes out in order, resent until
   * acknowledged for QoS 1/2), or a negative status: ERR_TOPIC, ERR_QOS, ERR_UTF8, ERR_TOO_LONG
   * (can never fit the outbox), ERR_OUTBOX_FULL (wait for onDrain), ERR_OFFLINE. Offline, and
   * before connect(), messages wait in the outbox. Allocates nothing.
   */
  publish(topic: string, payload: Bytes, qos?: number, retain?: boolean): number;
  /**
   * Subscribes to one or more filters at the requested QoS. `handler` gets matching messages;
   * `done` gets the SUBACK return codes in filter order (0..2 granted, 0x80 refused). While offline
   * the subscription is sent on connect. Allocates (a rare call).
   */
  subscribe(
    filters: string | string[], qos?: number | number[], handler?: MessageHandler | null,
    done?: ((codes: number[]) => void) | null,
  ): number;
  /**
   * Unsubscribes (only while connected: the broker holds the subscription). Local handlers stop at
   * once; `done` runs on UNSUBACK. Allocates.
   */
  unsubscribe(filters: string | string[], done?: (() => void) | null): number;
}

type Ctor = new (transport: Transport, clock: Clock, options: ClientOptions) => MqttClient;

// Called with `new`: the minifier must not turn it into an arrow function (rollup.config.js leaves
// terser's unsafe_arrows off), since an arrow is no constructor.
function Client(t: Transport, c: Clock, o: ClientOptions): MqttClient {
  const rx = new Decoder(o.rxSize || 1024);
  const tx = new Uint8Array(o.txSize || 256);
  const ob = new Outbox(o.outboxSize || 2048);
  const ring = ob.buf;
  const maxInflight = o.maxInflight || 8;
  const in2 = new Uint16Array(o.maxInboundQos2 || 32);
  const nSubs = o.maxSubs || 8;
  // Subscription table: filter, requested QoS, handler, state, pending op, and the slot's
  // position within its SUBSCRIBE (SUBACK codes come in that order).
  const sf: (string | null)[] = [];
  const sq = new Uint8Array(nSubs);
  const sh: (MessageHandler | null)[] = [];
  const ss = new Uint8Array(nSubs);
  const so = new Uint8Array(nSubs);
  const sk = new Uint8Array(nSubs);
  // Pending SUBSCRIBE/UNSUBSCRIBE ops: kind (1 sub, 2 unsub, 3 resubscribe) and callback; op k
  // uses packet id k + 1. Op 0 is the resubscribe.
  const nOps = (o.maxPending || 4) + 1;
  const ok = new Uint8Array(nOps);
  const oc: (((codes: number[]) => void) | null)[] = [];
  for (let i = 0; i < nSubs; i++) {
    sf.push(null);
    sh.push(null);
  }
  for (let i = 0; i < nOps; i++) oc.push(null);
  let st = OFFLINE;
  let attempts = 0;
  let txR = 0;
  let txW = 0;
  // The packet being written when the transport took only part of it.
  let wSrc: Uint8Array | null = null;
  let wOff = 0;
  let wEnd = 0;
  let wRel = -1;
  let timer: unknown = null;
  let sent = false;
  let pingOut = false;
  // Publish ids start above the op ids so the two never collide.
  let nextId = nOps + 1;
  let drain = false;
  let ended = true;

  // ---- connection lifecycle ----

  const open = (): void => {
    st = OPENING;
    rx.reset();
    txR = txW = wEnd = wOff = 0;
    wSrc = null;
    wRel = -1;
    pingOut = false;
    arm(o.connectTimeout || 10000);
    t.open(o.host, o.port || 1883, rx, ev);
  };

  /** Closes the connection because of `code`; reconnects unless end() was called. */
  const fail = (code: number, detail?: string): void => {
    if (!st) return;
    report(code, detail);
    st = OFFLINE;
    clearTimer();
    t.close();
    self.onClose && self.onClose(code);
    if (ended) return;
    if (o.reconnect === false) {
      ended = true;
      return;
    }
    const max = o.reconnectMax || 60000;
    let d = (o.reconnectMin || 1000) * Math.pow(2, attempts < 20 ? attempts : 20);
    if (d > max) d = max;
    attempts++;
    arm(Math.floor(d / 2 + (Math.random() * d) / 2));
  };

  const report = (code: number, detail?: string): void => {
    const name = nameOf(code);
    self.onError && self.onError({ code, name, message: detail ? name + ': ' + detail : name });
  };

  const arm = (ms: number): void => {
    clearTimer();
    timer = c.set(tick, ms);
  };

  const clearTimer = (): void => {
    if (timer !== null) c.clear(timer);
    timer = null;
  };

  // Created once: nothing per message or per timer tick.
  const tick = (): void => {
    timer = null;
    if (!st) {
      if (!ended) open();
    } else if (st !== CONNECTED) {
      fail(ERR_CONNECT_TIMEOUT);
    } else if (pingOut) {
      fail(ERR_PING_TIMEOUT);
    } else {
      // The connection lasted half a keepalive: only now does backoff start again from the
      // minimum, so a broker that accepts and then drops at once cannot cause a storm.
      attempts = 0;
      // Ticks every half keepalive: nothing sent during a whole half means a PINGREQ is due, so
      // the gap between packets never exceeds the keepalive. The next tick without PINGRESP fails.
      if (!sent) {
        pingOut = true;
        control(encodeEmpty(tx, txW, PINGREQ));
      }
      sent = false;
      armKeepalive();
    }
  };

  const armKeepalive = (): void => {
    const ka = o.keepalive === undefined ? 60 : o.keepalive;
    if (ka && st === CONNECTED) arm(ka * 500);
  };

  // ---- receiving ----

  const readable = (): void => {
    for (let n = rx.next(); n && st > OPENING; n = rx.next()) {
      const p = rx.pkt;
      if (n > 0) packet(n, p);
      else if (n !== ERR_TOO_LARGE) return fail(n);
      // Only a PUBLISH in session may outgrow the buffer; any other packet that large is
      // malformed (their sizes are fixed or bounded by our own SUBSCRIBE).
      else if (p.type !== PUBLISH || st !== CONNECTED) return fail(n, 'packet type ' + p.type + ' of ' + p.length + ' bytes');
      else {
        // A PUBLISH larger than the receive buffer cannot be delivered. It is acknowledged anyway
        // (and reported): refusing the ack would make a persistent session redeliver it forever.
        report(ERR_TOO_LARGE, 'inbound packet of ' + p.length + ' bytes dropped');
        if (p.id) {
          if (p.qos === 1) ack(PUBACK, p.id);
          else if (p.qos === 2 && (in2.indexOf(p.id) >= 0 || remember(p.id))) ack(PUBREC, p.id);
        }
      }
    }
  };

  const packet = (n: number, p: PacketView): void => {
    const id = p.id;
    if (st === CONNACK_WAIT) {
      if (n !== CONNACK) return fail(ERR_PROTOCOL_STATE, 'packet type ' + n + ' before CONNACK');
      // Refused: count it as a failed attempt so backoff grows (no reconnect storm).
      if (p.returnCode) return fail(ERR_REFUSED_PROTOCOL - p.returnCode + 1);
      st = CONNECTED;
      clearTimer();
      const sp = p.sessionPresent;
      if (!sp) {
        in2.fill(0);
        for (let i = 0; i < nSubs; i++) {
          // Everything the broker held is gone: every subscription is sent again.
          if (ss[i] === SUB_ACTIVE && o.resubscribe !== false) {
            ss[i] = SUB_PENDING;
            so[i] = 0;
            ok[0] = 3;
          }
          if (ss[i] === SUB_UNSUB) ss[i] = SUB_FREE;
        }
        for (let k = 0; k < nOps; k++) if (ok[k] === 2) finishOp(k, null);
      }
      ob.rewind(sp);
      for (let k = 0; k < nOps; k++) if (ok[k]) sendOp(k);
      sent = false;
      armKeepalive();
      self.onConnect && self.onConnect(sp);
      pump();
      return;
    }
    if (n === PUBLISH) {
      const q = p.qos;
      if (q === 2) {
        // Exactly once: a re-sent PUBLISH whose id awaits PUBREL is not delivered again.
        if (in2.indexOf(id) < 0) {
          if (!remember(id)) return fail(ERR_INBOUND_FULL);
          deliver(p);
        }
        ack(PUBREC, id);
      } else {
        deliver(p);
        if (q) ack(PUBACK, id);
      }
    } else if (n === PUBREL) {
      const i = in2.indexOf(id);
      if (i >= 0) in2[i] = 0;
      // PUBCOMP even for an unknown id: the broker may have lost our earlier PUBCOMP.
      ack(PUBCOMP, id);
    } else if (n === PUBACK || n === PUBCOMP) {
      const e = ob.find(id);
      // Only the matching stage counts: PUBACK for a QoS 1 entry, PUBCOMP after PUBREC.
      if (e >= 0 && (n === PUBACK ? ring[e] === S_SENT && (ring[e + HDR] & 6) === 2 : ring[e] === S_REL)) {
        ob.release(e);
        pump();
      }
    } else if (n === PUBREC) {
      const e = ob.find(id);
      if (e >= 0 && ring[e] === S_SENT && (ring[e + HDR] & 6) === 4) ring[e] = S_REL;
      // PUBREL also for a repeated or unknown PUBREC, so the broker can finish its side.
      if (e < 0 || ring[e] === S_REL) ack(PUBREL, id);
    } else if (n === SUBACK || n === UNSUBACK) {
      const k = id - 1;
      if (k < nOps && ok[k] && (ok[k] === 2) === (n === UNSUBACK)) finishOp(k, n === SUBACK ? p : null);
    } else if (n === PINGRESP) {
      pingOut = false;
    } else fail(ERR_PROTOCOL_STATE, 'unexpected packet type ' + n);
  };

  const remember = (id: number): boolean => {
    const i = in2.indexOf(0);
    if (i >= 0) in2[i] = id;
    return i >= 0;
  };

  const deliver = (p: PacketView): void => {
    for (let i = 0; i < nSubs; i++) {
      const h = sh[i];
      if ((ss[i] === SUB_ACTIVE || ss[i] === SUB_PENDING) && h && topicMatch(sf[i] as string, p.buf, p.topicOff, p.topicLen)) h(p);
    }
    self.onMessage && self.onMessage(p);
  };

  // ---- SUBSCRIBE / UNSUBSCRIBE ops ----

  const freeOp = (): number => {
    for (let k = 1; k < nOps; k++) if (!ok[k]) return k;
    return -1;
  };

  const sendOp = (k: number): void => {
    const fs: string[] = [];
    const qs: number[] = [];
    const unsub = ok[k] === 2;
    let n = 0;
    for (let i = 0; i < nSubs; i++) {
      if (ss[i] === (unsub ? SUB_UNSUB : SUB_PENDING) && so[i] === k) {
        // The resubscribe op collects its filters in slot order.
        const at = k ? sk[i] : (sk[i] = n++);
        fs[at] = sf[i] as string;
        qs[at] = sq[i];
      }
    }
    if (!fs.length) {
      // An UNSUBSCRIBE for filters with no local slot cannot be rebuilt: finish it.
      if (unsub) finishOp(k, null);
      else ok[k] = 0;
      return;
    }
    control(unsub ? encodeUnsubscribe(tx, txW, k + 1, fs) : encodeSubscribe(tx, txW, k + 1, fs, qs));
  };

  const freeSlot = (i: number): void => {
    ss[i] = SUB_FREE;
    sf[i] = sh[i] = null;
  };

  const finishOp = (k: number, suback: PacketView | null): void => {
    const kind = ok[k];
    const cb = oc[k];
    ok[k] = 0;
    oc[k] = null;
    const codes: number[] = [];
    for (let i = 0; i < nSubs; i++) {
      if (so[i] !== k) continue;
      if (kind === 2 && ss[i] === SUB_UNSUB) freeSlot(i);
      else if (kind !== 2 && ss[i] === SUB_PENDING && suback) {
        const j = sk[i];
        const code = j < suback.count ? suback.buf[suback.listOff + j] : 0x80;
        codes[j] = code;
        if (code === 0x80) {
          report(ERR_SUBSCRIBE_REFUSED, sf[i] as string);
          freeSlot(i);
        } else ss[i] = SUB_ACTIVE;
      }
    }
    if (cb) cb(codes);
  };

  // ---- sending ----

  const ack = (type: number, id: number): void => control(encodeAck(tx, txW, type, id));

  /** Queues an encoded control packet (n bytes at txW, or an encoder error) and flushes. */
  const control = (n: number): void => {
    if (n < 0) return fail(n === ERR_NO_SPACE ? ERR_TX_FULL : n);
    txW += n;
    flush();
  };

  /**
   * Writes what is waiting, in order: the rest of a partly written packet, then the control
   * packets in tx. Returns true when everything went out.
   */
  const flush = (): boolean => {
    // Nothing goes to a closed transport; a half-written packet starts over on the next connection.
    if (!st) return false;
    if (wSrc) {
      wOff += t.write(wSrc, wOff, wEnd - wOff);
      sent = true;
      if (wOff < wEnd) return false;
      wSrc = null;
      if (wRel >= 0) ob.release(wRel);
    }
    if (txR < txW) {
      txR += t.write(tx, txR, txW - txR);
      sent = true;
      if (txR < txW) return false;
      txR = txW = 0;
    }
    return true;
  };

  /** Sends outbox entries in order while the window and the transport allow. */
  const pump = (): void => {
    while (flush() && st === CONNECTED && ob.send !== ob.tail) {
      const p = ob.send;
      const s = ring[p];
      const qos = (ring[p + HDR] >> 1) & 3;
      if (s === S_REL) {
        // Resend after reconnect with session: PUBREL in the message's place [MQTT-4.4.0-1].
        ob.send = ob.next(p);
        ack(PUBREL, ob.id(p));
        continue;
      }
      if (s === S_SENT) {
        ring[p + HDR] |= 8; // DUP on redelivery
      } else if (s && qos) {
        if (ob.inflight >= maxInflight) break;
        const id = nextId;
        // Ids go up in send order, so only the oldest in-flight entry can hold the next one.
        if (ob.head !== p && ob.id(ob.head) === id) break;
        nextId = id >= 65535 ? nOps + 1 : id + 1;
        ring[p] = S_SENT;
        const at = ob.idPos(p);
        ring[p + 1] = ring[at] = id >> 8;
        ring[p + 2] = ring[at + 1] = id & 255;
        ob.inflight++;
      }
      ob.send = ob.next(p);
      if (s) {
        wSrc = ring;
        wOff = p + HDR;
        wEnd = wOff + ob.packetLen(p);
        wRel = qos ? -1 : p;
      }
    }
    if (drain && ob.used() * 2 <= ring.length) {
      drain = false;
      self.onDrain && self.onDrain();
    }
  };

  const ev: TransportEvents = {
    onOpen() {
      if (st !== OPENING) return;
      st = CONNACK_WAIT;
      control(encodeConnect(tx, 0, o));
    },
    onReadable: readable,
    onWritable: pump,
    // The transport is gone: report, then reconnect unless end() was called.
    onClose: (reason, detail) => fail(reason || ERR_CONNECTION, detail),
  };

  const self: MqttClient = {
    onConnect: null,
    onMessage: null,
    onError: null,
    onClose: null,
    onDrain: null,
    get state() {
      return st;
    },
    get attempts() {
      return attempts;
    },
    outbox: ob,
    rx,
    get queued() {
      let n = 0;
      for (let k = 0, p = ob.head; k < ob.count; k++, p = ob.next(p)) if (ring[p] !== S_DONE) n++;
      return n;
    },

    connect() {
      if (st || !ended) return ERR_STATE;
      if (!o.clientId && o.clean === false) return ERR_ARG;
      ended = false;
      open();
      return 0;
    },

    end() {
      ended = true;
      clearTimer();
      if (st === CONNECTED) {
        const n = encodeEmpty(tx, txW, DISCONNECT);
        if (n > 0) txW += n;
        flush();
      }
      const was = st;
      st = OFFLINE;
      if (was) {
        t.close();
        self.onClose && self.onClose(0);
      }
    },

    publish(topic, payload, qos, retain) {
      const q = qos || 0;
      if (!q && st !== CONNECTED && o.queueQos0 === false) return ERR_OFFLINE;
      const r = ob.push(topic, payload, q, !!retain);
      if (r === ERR_OUTBOX_FULL) drain = true;
      if (r) return r;
      pump();
      return 0;
    },

    subscribe(filters, qos, handler, done) {
      const fs = typeof filters === 'string' ? [filters] : filters;
      const n = fs.length;
      const q = (k: number) => (typeof qos === 'number' ? qos : qos ? qos[k] : 0);
      const e = check(fs, q);
      if (e) return e;
      const op = freeOp();
      // Slots: the one already holding the same filter (a new SUBSCRIBE replaces it), else a free one.
      const slots: number[] = [];
      for (let k = 0; k < n; k++) {
        let s = sf.indexOf(fs[k]);
        if (s >= 0 && slots.indexOf(s) >= 0) return ERR_ARG; // the same filter twice in one call
        for (let i = 0; i < nSubs && s < 0; i++) if (!ss[i] && slots.indexOf(i) < 0) s = i;
        if (s < 0 || op < 0) return ERR_NO_SLOT;
        slots.push(s);
      }
      for (let k = 0; k < n; k++) {
        const s = slots[k];
        sk[s] = k;
        sf[s] = fs[k];
        sq[s] = q(k);
        sh[s] = handler || null;
        ss[s] = SUB_PENDING;
        so[s] = op;
      }
      ok[op] = 1;
      oc[op] = done || null;
      if (st === CONNECTED) sendOp(op);
      return 0;
    },

    unsubscribe(filters, done) {
      const fs = typeof filters === 'string' ? [filters] : filters;
      const e = check(fs);
      if (e) return e;
      if (st !== CONNECTED) return ERR_STATE;
      const op = freeOp();
      if (op < 0) return ERR_NO_SLOT;
      const n = encodeUnsubscribe(tx, txW, op + 1, fs);
      if (n < 0) return n === ERR_NO_SPACE ? ERR_TX_FULL : n;
      for (let k = 0; k < fs.length; k++) {
        const s = sf.indexOf(fs[k]);
        if (s >= 0) {
          ss[s] = SUB_UNSUB;
          so[s] = op;
        }
      }
      ok[op] = 2;
      // UNSUBACK carries no codes: the callback ignores the (empty) array it is given.
      oc[op] = done || null;
      txW += n;
      pump();
      return 0;
    },
  };
  return self;
}

export const MqttClient = Client as unknown as Ctor;

/** ERR_ARG for an empty list, else the first bad filter's (or requested QoS's) error, else 0. */
function check(fs: string[], q?: (k: number) => number): number {
  if (!fs.length) return ERR_ARG;
  for (let k = 0; k < fs.length; k++) {
    const e = utf8Length(fs[k], TOPIC_FILTER);
    if (e < 0) return e;
    if (q && !(q(k) === 0 || q(k) === 1 || q(k) === 2)) return ERR_QOS;
  }
  return 0;
}
