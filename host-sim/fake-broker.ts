// A scriptable fake broker, for what a real broker never does: no CONNACK, each refusal code,
// acks for ids nobody used, a duplicate PUBREL, a PUBLISH larger than the client's receive
// buffer, malformed packets of every class the codec rejects. It decodes what the client sends
// with our broker-side codec (src/codec/server.ts) and answers like a plain broker unless the
// script says otherwise. One Session per connection; the same Session runs over loopback TCP
// (startFakeBroker) or in process (host-sim/loop-transport.ts). Test-only: allocates freely.
import * as net from 'node:net';
import {
  CONNECT, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, UNSUBSCRIBE,
  UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, encodeAck, encodeEmpty, encodePublish, utf8Decode,
  ERR_PACKET_TYPE, ERR_HEADER_FLAGS, ERR_QOS, ERR_REMAINING_LENGTH, ERR_LENGTH, ERR_PACKET_ID,
  ERR_UNEXPECTED_TYPE, ERR_CONNACK_FLAGS, ERR_CONNACK_CODE, ERR_SUBACK_CODE, ERR_EMPTY, ERR_UTF8,
  ERR_TOPIC, ERR_TOO_LARGE, ERR_PROTOCOL_STATE,
} from '../src/index.ts';
import { brokerDecoder, encodeConnack, encodeSuback, readConnect, readFilters } from '../src/codec/server.ts';
import { rxWrite } from '../src/codec/decoder.ts';

/** One packet the client sent, as the fake broker decoded it. */
export interface Got {
  type: number;
  id: number;
  qos: number;
  dup: boolean;
  topic?: string;
  payload?: Uint8Array;
  filters?: { topic: string; qos: number }[];
  connect?: ReturnType<typeof readConnect>;
}

/** What a script may change; every hook is optional and the rest behaves like a plain broker. */
export interface Script {
  /** Called when the connection is accepted, before any byte (e.g. to install a filter). */
  start?(s: Session): void;
  /** Answer to CONNECT. Default: CONNACK accepted without a session, then ready(). */
  connect?(s: Session, c: Got): void;
  /** Called after the default CONNACK went out. */
  ready?(s: Session): void;
  /** Every packet after CONNECT; return true when handled, else the plain answer follows. */
  packet?(s: Session, p: Got): boolean | void;
}

// ---------------------------------------------------------------- packet builders

const scratch = new Uint8Array(1 << 20);
function cut(n: number): Uint8Array {
  if (n < 0) throw new Error(`fake broker: encoder error ${n}`);
  return scratch.slice(0, n);
}

/** Server-to-client packets, encoded with our codec (server side for CONNACK and SUBACK). */
export const pk = {
  connack: (sessionPresent: boolean, rc: number) => cut(encodeConnack(scratch, 0, sessionPresent, rc)),
  suback: (id: number, codes: number[]) => cut(encodeSuback(scratch, 0, id, codes)),
  ack: (type: number, id: number) => cut(encodeAck(scratch, 0, type, id)),
  pingresp: () => cut(encodeEmpty(scratch, 0, PINGRESP)),
  publish: (topic: string, payload: string | Uint8Array, qos: number, id: number, dup = false, retain = false) =>
    cut(encodePublish(scratch, 0, topic, payload, qos, retain, dup, id)),
};

/** Remaining-length bytes (1..4) for n. */
export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n) d |= 128;
    out.push(d);
  } while (n);
  return out;
}

/**
 * A PUBLISH built byte by byte (any sizes, no validation): header, topic bytes, id, payload of
 * `payloadLen` bytes of 'x'. For oversized messages and topics longer than the client's buffer.
 */
const enc = new TextEncoder();
export function rawPublish(topic: Uint8Array | string, qos: number, id: number, payloadLen: number, dup = false): Uint8Array {
  const t = typeof topic === 'string' ? enc.encode(topic) : topic;
  const rem = 2 + t.length + (qos ? 2 : 0) + payloadLen;
  const head = [(PUBLISH << 4) | (dup ? 8 : 0) | (qos << 1), ...varint(rem), t.length >> 8, t.length & 255];
  const b = new Uint8Array(head.length + rem - 2);
  b.set(head, 0);
  b.set(t, head.length);
  let i = head.length + t.length;
  if (qos) {
    b[i++] = id >> 8;
    b[i++] = id & 255;
  }
  b.fill(0x78, i);
  return b;
}

/**
 * Malformed server packets, one or more per class the client-side codec rejects, with the error
 * the client must report. `when`: 'connack' = sent instead of the CONNACK, 'session' = after a
 * good CONNACK. The oversized ones assume a receive buffer smaller than 200 bytes.
 */
export interface Malformed {
  name: string;
  code: number;
  when: 'connack' | 'session';
  bytes: number[];
}

export const MALFORMED: Malformed[] = [
  { name: 'reserved packet type 0', code: ERR_PACKET_TYPE, when: 'session', bytes: [0x00, 0x00] },
  { name: 'reserved packet type 15', code: ERR_PACKET_TYPE, when: 'connack', bytes: [0xf0, 0x00] },
  { name: 'PUBACK with flag bits set', code: ERR_HEADER_FLAGS, when: 'session', bytes: [0x41, 2, 0, 9] },
  { name: 'PUBREL without its 0010 flags', code: ERR_HEADER_FLAGS, when: 'session', bytes: [0x60, 2, 0, 9] },
  { name: 'CONNACK with flag bits set', code: ERR_HEADER_FLAGS, when: 'connack', bytes: [0x2f, 2, 0, 0] },
  { name: 'PUBLISH at QoS 3', code: ERR_QOS, when: 'session', bytes: [0x36, 7, 0, 1, 0x61, 0, 1, 0x78, 0x78] },
  { name: 'remaining length in 5 bytes', code: ERR_REMAINING_LENGTH, when: 'session', bytes: [0x30, 0xff, 0xff, 0xff, 0xff, 0x01] },
  { name: 'remaining length in 5 bytes before CONNACK', code: ERR_REMAINING_LENGTH, when: 'connack', bytes: [0x20, 0x80, 0x80, 0x80, 0x80, 0x00] },
  { name: 'PUBACK of 3 bytes', code: ERR_LENGTH, when: 'session', bytes: [0x40, 3, 0, 9, 0] },
  { name: 'CONNACK of 3 bytes', code: ERR_LENGTH, when: 'connack', bytes: [0x20, 3, 0, 0, 0] },
  { name: 'PINGRESP with a body', code: ERR_LENGTH, when: 'session', bytes: [0xd0, 1, 0] },
  { name: 'PUBLISH topic length past the packet end', code: ERR_LENGTH, when: 'session', bytes: [0x30, 3, 0, 5, 0x61] },
  { name: 'PUBLISH QoS 1 without room for its id', code: ERR_LENGTH, when: 'session', bytes: [0x32, 4, 0, 2, 0x61, 0x62] },
  { name: 'PUBACK with packet id 0', code: ERR_PACKET_ID, when: 'session', bytes: [0x40, 2, 0, 0] },
  { name: 'PUBLISH QoS 2 with packet id 0', code: ERR_PACKET_ID, when: 'session', bytes: [0x34, 6, 0, 1, 0x61, 0, 0, 0x78] },
  { name: 'CONNECT sent to the client', code: ERR_UNEXPECTED_TYPE, when: 'session', bytes: [0x10, 12, 0, 4, 77, 81, 84, 84, 4, 2, 0, 60, 0, 0] },
  { name: 'SUBSCRIBE sent to the client', code: ERR_UNEXPECTED_TYPE, when: 'session', bytes: [0x82, 6, 0, 1, 0, 1, 0x61, 0] },
  { name: 'PINGREQ sent to the client', code: ERR_UNEXPECTED_TYPE, when: 'session', bytes: [0xc0, 0] },
  { name: 'DISCONNECT sent to the client', code: ERR_UNEXPECTED_TYPE, when: 'connack', bytes: [0xe0, 0] },
  { name: 'CONNACK with reserved flag bits', code: ERR_CONNACK_FLAGS, when: 'connack', bytes: [0x20, 2, 0x02, 0] },
  { name: 'CONNACK return code 6', code: ERR_CONNACK_CODE, when: 'connack', bytes: [0x20, 2, 0, 6] },
  { name: 'SUBACK return code 3', code: ERR_SUBACK_CODE, when: 'session', bytes: [0x90, 3, 0, 1, 3] },
  { name: 'SUBACK without return codes', code: ERR_EMPTY, when: 'session', bytes: [0x90, 2, 0, 1] },
  { name: 'PUBLISH topic with an overlong UTF-8 sequence', code: ERR_UTF8, when: 'session', bytes: [0x30, 5, 0, 2, 0xc0, 0x80, 0x78] },
  { name: 'PUBLISH topic with U+0000', code: ERR_UTF8, when: 'session', bytes: [0x30, 5, 0, 2, 0x61, 0x00, 0x78] },
  { name: 'PUBLISH topic with a surrogate', code: ERR_UTF8, when: 'session', bytes: [0x30, 6, 0, 3, 0xed, 0xa0, 0x80, 0x78] },
  { name: 'PUBLISH topic with a wildcard', code: ERR_TOPIC, when: 'session', bytes: [0x30, 5, 0, 2, 0x61, 0x2b, 0x78] },
  { name: 'PUBLISH with an empty topic', code: ERR_TOPIC, when: 'session', bytes: [0x30, 3, 0, 0, 0x78] },
  { name: 'PUBLISH before CONNACK', code: ERR_PROTOCOL_STATE, when: 'connack', bytes: [0x30, 4, 0, 1, 0x61, 0x78] },
  { name: 'a second CONNACK', code: ERR_PROTOCOL_STATE, when: 'session', bytes: [0x20, 2, 0, 0] },
  // Larger than the receive buffer (the tests use rxSize 64), but only a PUBLISH may be that big:
  { name: 'PUBACK of 200 bytes', code: ERR_TOO_LARGE, when: 'session', bytes: [0x40, ...varint(197), 0, 9, ...new Array<number>(195).fill(0)] },
  { name: 'CONNACK of 200 bytes', code: ERR_TOO_LARGE, when: 'connack', bytes: [0x20, ...varint(197), 0, 0, ...new Array<number>(195).fill(0)] },
  { name: 'PUBLISH of 200 bytes before CONNACK', code: ERR_TOO_LARGE, when: 'connack', bytes: [...rawPublish('a', 1, 5, 194)] },
];

// ---------------------------------------------------------------- the session

/** One client connection to the fake broker. */
export class Session {
  /** Every packet the client sent, in order. */
  readonly got: Got[] = [];
  /** A decoding error in what the client sent (our client must never cause one). */
  clientError = 0;
  /** Bytes sent to the client. */
  sentBytes = 0;
  closed = false;
  /** Rewrites each outgoing packet (the fuzzer corrupts here); return [] to drop it. */
  filter: ((b: Uint8Array) => Uint8Array[]) | null = null;
  private readonly dec = brokerDecoder(4096);

  constructor(
    readonly script: Script,
    private readonly out: (b: Uint8Array) => void,
    private readonly hangup: () => void,
    /** 0 for the first connection to this broker. */
    readonly index: number,
  ) {
    if (script.start) script.start(this);
  }

  /** Bytes from the client. */
  input(b: Uint8Array): void {
    const d = this.dec.decoder;
    let i = 0;
    while (i < b.length && !this.closed) {
      i += rxWrite(d, b, i, b.length);
      for (let t = d.next(); t && !this.closed; t = d.next()) {
        if (t < 0) {
          this.clientError = t;
          return this.close();
        }
        this.handle(t);
      }
    }
  }

  private handle(t: number): void {
    const p = this.dec.decoder.pkt;
    const g: Got = { type: t, id: p.id, qos: p.qos, dup: p.dup };
    if (t === PUBLISH) {
      g.topic = utf8Decode(p.buf, p.topicOff, p.topicLen);
      g.payload = p.buf.slice(p.payloadOff, p.payloadOff + p.payloadLen);
    } else if (t === SUBSCRIBE || t === UNSUBSCRIBE) g.filters = readFilters(p);
    else if (t === CONNECT) g.connect = readConnect(this.dec.connect, p.buf);
    this.got.push(g);
    const s = this.script;
    if (t === CONNECT) {
      if (s.connect) s.connect(this, g);
      else {
        this.send(pk.connack(false, 0));
        s.ready && s.ready(this);
      }
      return;
    }
    if (s.packet && s.packet(this, g)) return;
    this.plain(g);
  }

  /** What a plain broker answers. */
  plain(g: Got): void {
    switch (g.type) {
      case PUBLISH:
        if (g.qos) this.send(pk.ack(g.qos === 1 ? PUBACK : PUBREC, g.id));
        return;
      case PUBREL:
        return this.send(pk.ack(PUBCOMP, g.id));
      case PUBREC:
        return this.send(pk.ack(PUBREL, g.id));
      case SUBSCRIBE:
        return this.send(pk.suback(g.id, g.filters!.map((f) => f.qos)));
      case UNSUBSCRIBE:
        return this.send(pk.ack(UNSUBACK, g.id));
      case PINGREQ:
        return this.send(pk.pingresp());
      case DISCONNECT:
        return this.close();
    }
  }

  send(b: Uint8Array | number[]): void {
    if (this.closed) return;
    const bytes = b instanceof Uint8Array ? b : Uint8Array.from(b);
    for (const x of this.filter ? this.filter(bytes) : [bytes]) {
      this.sentBytes += x.length;
      this.out(x);
    }
  }

  /** Closes the connection (after what was sent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hangup();
  }

  count(type: number, id?: number): number {
    return this.got.filter((g) => g.type === type && (id === undefined || g.id === id)).length;
  }
}

// ---------------------------------------------------------------- scripts

/** The scripts the tests use; each returns a fresh Script. */
export const scripts = {
  /** A plain broker. */
  plain: (): Script => ({}),
  /** Accepts TCP and reads CONNECT but never answers. */
  noConnack: (): Script => ({ connect: () => {} }),
  /** CONNACK with return code rc (1..5), then closes as brokers do. */
  refuse: (rc: number): Script => ({
    connect: (s) => {
      s.send(pk.connack(false, rc));
      s.close();
    },
  }),
  /** After CONNACK: `bytes` (one malformed packet), then silence. */
  after: (bytes: number[] | Uint8Array): Script => ({ ready: (s) => s.send(bytes) }),
  /** `bytes` instead of a CONNACK. */
  instead: (bytes: number[] | Uint8Array): Script => ({ connect: (s) => s.send(bytes) }),
  /** After CONNACK, the packets in order. */
  push: (...packets: (number[] | Uint8Array)[]): Script => ({ ready: (s) => packets.forEach((b) => s.send(b)) }),
};

/** Every CONNACK refusal code with the name the client must report. */
export const REFUSALS: [number, string][] = [
  [1, 'ERR_REFUSED_PROTOCOL'], [2, 'ERR_REFUSED_ID'], [3, 'ERR_REFUSED_UNAVAILABLE'],
  [4, 'ERR_REFUSED_CREDENTIALS'], [5, 'ERR_REFUSED_AUTH'],
];

// ---------------------------------------------------------------- over loopback TCP

export interface FakeBroker {
  host: string;
  port: number;
  /** Every connection so far, in order. */
  sessions: Session[];
  /** When each connection was accepted (ms). */
  acceptTimes: number[];
  stop(): Promise<void>;
}

/**
 * Listens on a free loopback port; connection k (from 0) runs script(k). Writes go out as they
 * are sent (one socket write per packet, so coalescing is left to TCP).
 */
export async function startFakeBroker(script: Script | ((k: number) => Script)): Promise<FakeBroker> {
  const sessions: Session[] = [];
  const acceptTimes: number[] = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    socks.add(sock);
    sock.setNoDelay(true);
    sock.on('error', () => {});
    const k = sessions.length;
    const s = new Session(typeof script === 'function' ? script(k) : script,
      (b) => { if (!sock.destroyed) sock.write(b); },
      () => sock.end(), k);
    sessions.push(s);
    acceptTimes.push(Date.now());
    sock.on('data', (d) => s.input(d));
    sock.on('close', () => {
      socks.delete(sock);
      s.closed = true;
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1', port, sessions, acceptTimes,
    stop: () => new Promise<void>((r) => {
      for (const s of socks) s.destroy();
      server.close(() => r());
    }),
  };
}
