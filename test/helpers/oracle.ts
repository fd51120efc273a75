// Test oracle: turns what our codec decodes into the object shape mqtt-packet's parser emits
// (protocol level 4), so tests can compare field by field against mqtt-packet, and feeds byte
// streams to a Decoder in a chosen chunking. Test-only: allocates freely.
import { Buffer } from 'node:buffer';
import { parser as mqttParser, generate as mqttGenerateRaw } from 'mqtt-packet';
import type { Packet as MqttPacket } from 'mqtt-packet';
import {
  CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE,
  UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, ERR_TOO_LARGE,
  encodeConnect, encodePublish, encodeAck, encodeEmpty, encodeSubscribe, encodeUnsubscribe,
  utf8Decode,
} from '../../src/index.ts';
import type { Decoder, PacketView } from '../../src/index.ts';
import { encodeConnack, encodeSuback, readFilters } from '../../src/codec/server.ts';
import type { ConnectView } from '../../src/codec/server.ts';
import { rxWrite } from '../../src/codec/decoder.ts';

/** mqtt-packet's `cmd` name for each packet type. */
export const CMD = [
  'reserved', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp',
  'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth',
] as const;

/** Packet type number for an mqtt-packet `cmd` name. */
export function typeOf(cmd: string): number {
  const t = (CMD as readonly string[]).indexOf(cmd);
  if (t < 1 || t > 14) throw new Error('unknown cmd ' + cmd);
  return t;
}

/** Types only a broker receives: a plain client Decoder answers ERR_UNEXPECTED_TYPE. */
export const BROKER_BOUND: ReadonlySet<number> = new Set([CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT]);

/** A decoded packet in mqtt-packet's shape (plain object; binary fields are Buffers). */
export type MqttObject = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Packets to generate: the subset of mqtt-packet's input shape that MQTT 3.1.1 uses.

export type Payload = string | Uint8Array;
export type QoS = 0 | 1 | 2;

export interface GenWill {
  topic: string;
  payload: Payload;
  qos: QoS;
  retain: boolean;
}

export type GenPacket =
  | {
    cmd: 'connect'; clientId: string; clean: boolean; keepalive: number;
    will?: GenWill; username?: string; password?: Payload;
  }
  | { cmd: 'connack'; sessionPresent: boolean; returnCode: number }
  | { cmd: 'publish'; topic: string; payload: Payload; qos: QoS; retain: boolean; dup: boolean; messageId?: number }
  | { cmd: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp' | 'unsuback'; messageId: number }
  | { cmd: 'subscribe'; messageId: number; subscriptions: { topic: string; qos: QoS }[] }
  | { cmd: 'suback'; messageId: number; granted: number[] }
  | { cmd: 'unsubscribe'; messageId: number; unsubscriptions: string[] }
  | { cmd: 'pingreq' | 'pingresp' | 'disconnect' };

/** mqtt-packet only takes Buffers for binary fields: wrap plain Uint8Arrays (no copy). */
function asBuf(v: Payload): string | Buffer {
  if (typeof v === 'string' || Buffer.isBuffer(v)) return v;
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** mqtt-packet `generate` of a packet at protocol level 4. */
export function mqttGenerate(p: GenPacket): Buffer {
  let q: unknown = p;
  if (p.cmd === 'publish') q = { ...p, payload: asBuf(p.payload) };
  else if (p.cmd === 'connect') {
    const c: Record<string, unknown> = { ...p, protocolId: 'MQTT', protocolVersion: 4 };
    if (p.will) c.will = { ...p.will, payload: asBuf(p.will.payload) };
    if (p.password !== undefined) c.password = asBuf(p.password);
    q = c;
  }
  return mqttGenerateRaw(q as MqttPacket);
}

/** Copies a Buffer into a plain (non-Buffer) Uint8Array. */
export function plainBytes(v: Uint8Array): Uint8Array {
  return new Uint8Array(v);
}

/**
 * Encodes `p` with our encoders (server-side ones for CONNACK, SUBACK) at `off`; returns the
 * encoder's result (byte count or negative error code).
 */
export function encodeWithOurs(p: GenPacket, b: Uint8Array, off: number): number {
  switch (p.cmd) {
    case 'connect':
      return encodeConnect(b, off, {
        clientId: p.clientId,
        clean: p.clean,
        keepalive: p.keepalive,
        username: p.username,
        password: p.password,
        will: p.will ? { topic: p.will.topic, payload: p.will.payload, qos: p.will.qos, retain: p.will.retain } : null,
      });
    case 'connack':
      return encodeConnack(b, off, p.sessionPresent, p.returnCode);
    case 'publish':
      return encodePublish(b, off, p.topic, p.payload, p.qos, p.retain, p.dup, p.messageId ?? 0);
    case 'puback':
    case 'pubrec':
    case 'pubrel':
    case 'pubcomp':
    case 'unsuback':
      return encodeAck(b, off, typeOf(p.cmd), p.messageId);
    case 'subscribe':
      return encodeSubscribe(b, off, p.messageId, p.subscriptions.map((s) => s.topic), p.subscriptions.map((s) => s.qos));
    case 'suback':
      return encodeSuback(b, off, p.messageId, p.granted);
    case 'unsubscribe':
      return encodeUnsubscribe(b, off, p.messageId, p.unsubscriptions);
    case 'pingreq':
    case 'pingresp':
    case 'disconnect':
      return encodeEmpty(b, off, typeOf(p.cmd));
  }
}

// ---------------------------------------------------------------------------------------------
// mqtt-packet's parser as a function.

/** What mqtt-packet's parser made of a byte stream: every packet emitted, then its error if any. */
export interface MqttParse {
  packets: MqttObject[];
  error: string | null;
}

/** Runs mqtt-packet's parser (protocol level 4) over `bytes` in one call. */
export function mqttParse(bytes: Uint8Array): MqttParse {
  const out: MqttParse = { packets: [], error: null };
  const p = mqttParser({ protocolVersion: 4 });
  p.on('packet', (pkt: MqttPacket) => out.packets.push({ ...(pkt as unknown as MqttObject) }));
  p.on('error', (e: Error) => {
    if (out.error === null) out.error = e.message;
  });
  p.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Our view → mqtt-packet shape.

/**
 * Remaining length of the packet next() just yielded, read from its fixed header (the packet
 * occupies buf[dec.r - pkt.length, dec.r) until the next write()).
 */
export function remainingLength(dec: Decoder): number {
  const b = dec.buf;
  let i = dec.r - dec.pkt.length + 1;
  let rem = 0;
  let mul = 1;
  let d: number;
  do {
    d = b[i++];
    rem += (d & 127) * mul;
    mul *= 128;
  } while (d & 128);
  return rem;
}

/** Copy of buf[off, off+len) as a Buffer (the decoder's buffer is reused). */
function copyOut(b: Uint8Array, off: number, len: number): Buffer {
  return Buffer.from(b.subarray(off, off + len));
}

/**
 * Our decoded packet in mqtt-packet's parse shape. `rem` is the remaining length (mqtt-packet's
 * `length`); `c` is the broker decoder's ConnectView, needed for CONNECT.
 */
export function toMqttPacket(p: PacketView, c: ConnectView | null | undefined, rem: number): MqttObject {
  const b = p.buf;
  const f = p.flags;
  const o: MqttObject = {
    cmd: CMD[p.type],
    retain: (f & 1) !== 0,
    qos: (f >> 1) & 3,
    dup: (f & 8) !== 0,
    length: rem,
    topic: null,
    payload: null,
  };
  switch (p.type) {
    case CONNECT: {
      if (!c) throw new Error('CONNECT decoded without a ConnectView');
      o.protocolId = 'MQTT';
      o.protocolVersion = c.level;
      o.clean = c.clean;
      o.keepalive = c.keepalive;
      o.clientId = utf8Decode(b, c.clientIdOff, c.clientIdLen);
      if (c.willTopicLen >= 0) {
        o.will = {
          retain: c.willRetain,
          qos: c.willQos,
          topic: utf8Decode(b, c.willTopicOff, c.willTopicLen),
          payload: copyOut(b, c.willPayloadOff, c.willPayloadLen),
        };
      }
      if (c.usernameLen >= 0) o.username = utf8Decode(b, c.usernameOff, c.usernameLen);
      if (c.passwordLen >= 0) o.password = copyOut(b, c.passwordOff, c.passwordLen);
      break;
    }
    case CONNACK:
      o.sessionPresent = p.sessionPresent;
      o.returnCode = p.returnCode;
      break;
    case PUBLISH:
      // The view's own PUBLISH flag fields (not the raw flags) so those get checked too.
      o.retain = p.retain;
      o.qos = p.qos;
      o.dup = p.dup;
      o.topic = utf8Decode(b, p.topicOff, p.topicLen);
      o.payload = copyOut(b, p.payloadOff, p.payloadLen);
      if (p.qos > 0) o.messageId = p.id;
      break;
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK:
      o.messageId = p.id;
      break;
    case SUBSCRIBE:
      o.messageId = p.id;
      o.subscriptions = readFilters(p);
      break;
    case SUBACK:
      o.messageId = p.id;
      o.granted = Array.from(b.subarray(p.listOff, p.listOff + p.count));
      break;
    case UNSUBSCRIBE:
      o.messageId = p.id;
      o.unsubscriptions = readFilters(p).map((e) => e.topic);
      break;
    case PINGREQ:
    case PINGRESP:
    case DISCONNECT:
      break;
    default:
      throw new Error('decoder yielded type ' + p.type);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Feeding a stream in a given chunking.

/** One thing next() returned (other than NEED_MORE). */
export interface Result {
  /** Packet type (> 0) or negative error code. */
  code: number;
  /** The decoded packet in mqtt-packet's shape, when code > 0. */
  packet?: MqttObject;
  /** For ERR_TOO_LARGE: what the decoder reported about the oversized packet. */
  tooLarge?: { type: number; length: number; qos: number; id: number; topic: number[] };
}

export interface FeedOptions {
  /** Size (>= 1) of the next chunk; `pos` is where it starts in the stream. Default: all at once. */
  chunk?: (pos: number) => number;
  /**
   * How chunks reach the decoder: 'subarray' passes a fresh view per chunk (off 0), 'offset'
   * passes the whole stream with off/end, 'commit' copies into dec.buf at dec.w and commit()s.
   */
  mode?: 'subarray' | 'offset' | 'commit';
  /** The broker decoder's ConnectView (needed to convert CONNECT). */
  connect?: ConnectView | null;
  /** When set, fills the decoder's unused space (before r, from w) with these bytes before each write. */
  poison?: () => number;
  /** The real receive buffer when dec.buf has been replaced (e.g. by a bounds-checking Proxy). */
  raw?: Uint8Array;
  /** Bound on write()+next() calls; exceeding it throws. Default 8 × (bytes + 16). */
  maxSteps?: number;
}

/**
 * Feeds `bytes` to `dec` with the documented loop and returns everything next() reported, in
 * order, stopping at the first sticky error (which is included).
 */
export function feed(dec: Decoder, bytes: Uint8Array, opts: FeedOptions = {}): Result[] {
  const out: Result[] = [];
  const total = bytes.length;
  const mode = opts.mode ?? 'subarray';
  const raw = opts.raw ?? dec.buf;
  const maxSteps = opts.maxSteps ?? 8 * (total + 16);
  let steps = 0;
  let pos = 0;
  const tick = () => {
    if (++steps > maxSteps) throw new Error(`decoder loop did not terminate (${steps} steps for ${total} bytes)`);
  };
  while (pos < total) {
    let size = opts.chunk ? opts.chunk(pos) : total - pos;
    if (!(size >= 1)) size = 1;
    if (size > total - pos) size = total - pos;
    let src: Uint8Array;
    let i: number;
    let end: number;
    if (mode === 'offset') {
      src = bytes;
      i = pos;
      end = pos + size;
    } else {
      src = bytes.subarray(pos, pos + size);
      i = 0;
      end = size;
    }
    for (;;) {
      tick();
      if (opts.poison) {
        for (let k = 0; k < dec.r; k++) raw[k] = opts.poison();
        for (let k = dec.w; k < raw.length; k++) raw[k] = opts.poison();
      }
      if (mode === 'commit') {
        let n = dec.space();
        if (n > end - i) n = end - i;
        const w = dec.w;
        for (let k = 0; k < n; k++) raw[w + k] = src[i + k];
        dec.commit(n);
        i += n;
      } else {
        const n = rxWrite(dec, src, i, end);
        if (!(n >= 0 && n <= end - i)) throw new Error(`write() returned ${n} for ${end - i} bytes`);
        i += n;
      }
      let t: number;
      while ((t = dec.next()) !== 0) {
        tick();
        if (t > 0) {
          out.push({ code: t, packet: toMqttPacket(dec.pkt, opts.connect, remainingLength(dec)) });
        } else if (t === ERR_TOO_LARGE) {
          const p = dec.pkt;
          out.push({
            code: t,
            // The topic bytes are still in the real buffer (r and w were reset to 0).
            tooLarge: {
              type: p.type, length: p.length, qos: p.qos, id: p.id,
              topic: Array.from(raw.subarray(p.topicOff, p.topicOff + p.topicLen)),
            },
          });
        } else {
          out.push({ code: t });
          return out;
        }
      }
      if (i >= end) break;
    }
    pos += size;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// An independent reference for what MQTT 3.1.1 allows, written from the spec: frames a byte
// stream and says which packets are well-formed. mqtt-packet is more lenient (it accepts
// wildcards in topic names, ill-formed UTF-8, packet id 0, trailing bytes ...), so it gives the
// field values and this gives the verdict.

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A well-formed UTF-8 string without U+0000 [MQTT-1.5.3-1..2] (WHATWG decoder in fatal mode). */
export function refUtf8(b: Uint8Array): string | null {
  let s: string;
  try {
    s = fatalUtf8.decode(b);
  } catch {
    return null;
  }
  return s.includes('\u0000') ? null : s;
}

/** One packet (or header) as the reference sees it. */
export interface RefItem {
  /** Offset of the packet in the stream, and its whole size (0 for a header error). */
  start: number;
  total: number;
  /** Packet type from the first byte. */
  type: number;
  /** Null when well-formed, else why not. */
  error: string | null;
}

/** The body rules of one complete packet; null when well-formed. */
function refBody(type: number, flags: number, b: Uint8Array, broker: boolean): string | null {
  const n = b.length;
  let i = 0;
  const u16 = () => (b[i] << 8) | b[i + 1];
  /** A length-prefixed field; returns its bytes or null when it overruns the packet. */
  const field = (): Uint8Array | null => {
    if (i + 2 > n) return null;
    const len = u16();
    if (i + 2 + len > n) return null;
    const f = b.subarray(i + 2, i + 2 + len);
    i += 2 + len;
    return f;
  };
  const topicName = (f: Uint8Array): string | null => {
    const s = refUtf8(f);
    if (s === null) return 'utf8';
    if (s.length === 0 || s.includes('+') || s.includes('#')) return 'topic name';
    return null;
  };
  switch (type) {
    case CONNECT: {
      if (!broker) return 'broker-bound';
      const name = field();
      if (!name || name.length !== 4 || Buffer.from(name).toString('latin1') !== 'MQTT') return 'protocol name';
      if (i + 4 > n) return 'length';
      if (b[i] !== 4) return 'protocol level';
      const f = b[i + 1];
      i += 4;
      if (f & 1) return 'reserved connect flag';
      const will = (f & 4) !== 0;
      if (!will && (f & 0x38)) return 'will qos/retain without will';
      if (((f >> 3) & 3) === 3) return 'will qos 3';
      if ((f & 0x40) && !(f & 0x80)) return 'password without username';
      const id = field();
      if (!id) return 'length';
      if (refUtf8(id) === null) return 'utf8';
      if (will) {
        const t = field();
        if (!t) return 'length';
        const e = topicName(t);
        if (e) return e;
        if (!field()) return 'length';
      }
      if (f & 0x80) {
        const u = field();
        if (!u) return 'length';
        if (refUtf8(u) === null) return 'utf8';
      }
      if (f & 0x40 && !field()) return 'length';
      return i === n ? null : 'trailing bytes';
    }
    case CONNACK:
      if (n !== 2) return 'length';
      if (b[0] > 1) return 'connack flags';
      return b[1] > 5 ? 'connack code' : null;
    case PUBLISH: {
      const qos = (flags >> 1) & 3;
      const t = field();
      if (!t) return 'length';
      if (qos && i + 2 > n) return 'length';
      const e = topicName(t);
      if (e) return e;
      if (qos && u16() === 0) return 'packet id 0';
      return null;
    }
    case PUBACK:
    case PUBREC:
    case PUBREL:
    case PUBCOMP:
    case UNSUBACK:
      if (n !== 2) return 'length';
      return u16() === 0 ? 'packet id 0' : null;
    case SUBACK:
      if (n < 2) return 'length';
      if (u16() === 0) return 'packet id 0';
      if (n === 2) return 'empty';
      for (let k = 2; k < n; k++) if (b[k] > 2 && b[k] !== 0x80) return 'suback code';
      return null;
    case SUBSCRIBE:
    case UNSUBSCRIBE: {
      if (!broker) return 'broker-bound';
      if (n < 2) return 'length';
      if (u16() === 0) return 'packet id 0';
      i = 2;
      let count = 0;
      while (i < n) {
        const f = field();
        if (!f) return 'length';
        // Filter syntax ([MQTT-4.7.1-2..3], [MQTT-4.7.3-1]) is left to the broker, as in server.ts.
        if (refUtf8(f) === null) return 'utf8';
        if (type === SUBSCRIBE) {
          if (i >= n) return 'length';
          if (b[i++] > 2) return 'subscribe qos';
        }
        count++;
      }
      return count ? null : 'empty';
    }
    case PINGREQ:
    case DISCONNECT:
      if (!broker) return 'broker-bound';
      return n ? 'length' : null;
    case PINGRESP:
      return n ? 'length' : null;
  }
  return 'packet type';
}

/**
 * Frames `bytes` the way MQTT 3.1.1 does and checks each complete packet. Stops after the first
 * malformed one; a header error (reserved type, bad flags, 5-byte remaining length) is reported
 * as soon as its bytes are there, like a streaming decoder must. An incomplete tail yields nothing.
 */
export function referenceFrames(bytes: Uint8Array, broker: boolean): RefItem[] {
  const out: RefItem[] = [];
  let r = 0;
  while (r < bytes.length) {
    const type = bytes[r] >> 4;
    const flags = bytes[r] & 15;
    const hdrError = type === 0 || type === 15 ? 'packet type'
      : type === PUBLISH ? ((flags & 6) === 6 ? 'qos 3' : null)
        : flags !== (type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE ? 2 : 0) ? 'header flags' : null;
    if (hdrError) {
      out.push({ start: r, total: 0, type, error: hdrError });
      return out;
    }
    let rem = 0;
    let mul = 1;
    let i = r + 1;
    for (;;) {
      if (i >= bytes.length) return out;
      const d = bytes[i++];
      rem += (d & 127) * mul;
      mul *= 128;
      if (!(d & 128)) break;
      if (i - r - 1 === 4) {
        out.push({ start: r, total: 0, type, error: 'remaining length' });
        return out;
      }
    }
    const total = i - r + rem;
    if (r + total > bytes.length) return out;
    const error = refBody(type, flags, bytes.subarray(i, r + total), broker);
    out.push({ start: r, total, type, error });
    if (error) return out;
    r += total;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparison with a readable first difference (uvu's diff of multi-megabyte Buffers is useless).

function show(v: unknown): string {
  if (v instanceof Uint8Array) {
    const hex = Buffer.from(v.subarray(0, 24)).toString('hex');
    return `<${v.constructor.name} ${v.length} bytes: ${hex}${v.length > 24 ? '…' : ''}>`;
  }
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  if (Array.isArray(v)) return `[array ${v.length}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).join(',')}}`;
  return String(v);
}

/**
 * Path and values of the first difference between `a` and `b`, or null when deeply equal
 * (same keys, Buffers/Uint8Arrays compared by content and class).
 */
export function firstDiff(a: unknown, b: unknown, path = '$'): string | null {
  if (a === b) return null;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.constructor !== b.constructor) {
      return `${path}: ${show(a)} vs ${show(b)}`;
    }
    if (a.length !== b.length) return `${path}: ${show(a)} vs ${show(b)}`;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) return `${path}[${i}]: ${a[i]} vs ${b[i]} (${show(a)} vs ${show(b)})`;
    }
    return null;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b))) return `${path}: ${show(a)} vs ${show(b)}`;
    if (a.length !== b.length) return `${path}.length: ${a.length} vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = firstDiff(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    for (const k of ka) if (!(k in b)) return `${path}.${k}: ${show((a as MqttObject)[k])} vs <absent>`;
    for (const k of kb) if (!(k in a)) return `${path}.${k}: <absent> vs ${show((b as MqttObject)[k])}`;
    for (const k of ka) {
      const d = firstDiff((a as MqttObject)[k], (b as MqttObject)[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return `${path}: ${show(a)} vs ${show(b)}`;
}

/** Short hex of a byte stream for failure messages. */
export function hex(b: Uint8Array, max = 256): string {
  const s = Buffer.from(b.subarray(0, max)).toString('hex');
  return b.length > max ? `${s}… (${b.length} bytes)` : s;
}
