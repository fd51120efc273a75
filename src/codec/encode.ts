// Encoders for the packets a client sends. Each writes into a caller-owned buffer at `off`
// and returns the byte count, or a negative error code (errors.ts). None allocates or throws.
import {
  CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PUBREL, MAX_REMAINING_LENGTH, MAX_STRING_BYTES,
} from './constants.js';
import {
  ERR_NO_SPACE, ERR_TOO_LONG, ERR_QOS, ERR_PACKET_ID, ERR_ARG, ERR_EMPTY,
} from './errors.js';
import { utf8Length, utf8Write, PLAIN, TOPIC_NAME, TOPIC_FILTER } from './utf8.js';

/** A string is sent as UTF-8; a Uint8Array as raw bytes. */
export type Bytes = string | Uint8Array;

/** Bytes of a variable length integer holding `n` (n <= MAX_REMAINING_LENGTH). */
export function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/**
 * Writes the fixed header if the whole packet (`rem` bytes after the header) fits before `end`.
 * Returns the offset of the variable header, or a negative error code.
 */
export function writeHeader(b: Uint8Array, off: number, end: number, first: number, rem: number): number {
  if (rem > MAX_REMAINING_LENGTH) return ERR_TOO_LONG;
  if (off + 1 + varintSize(rem) + rem > end) return ERR_NO_SPACE;
  b[off++] = first;
  do {
    let d = rem % 128;
    rem = (rem - d) / 128;
    if (rem > 0) d |= 128;
    b[off++] = d;
  } while (rem > 0);
  return off;
}

/** Length in bytes of a payload or binary field, or a negative error code. */
export function bytesLength(v: Bytes): number {
  return typeof v === 'string' ? utf8Length(v, PLAIN) : v.length;
}

/** Length of a 2-byte-length-prefixed field: as bytesLength, and at most 65,535 bytes. */
function fieldLength(v: Bytes): number {
  const n = bytesLength(v);
  return n > MAX_STRING_BYTES ? ERR_TOO_LONG : n;
}

/** Writes raw payload bytes (no length prefix); space already checked. */
function writeRaw(b: Uint8Array, off: number, v: Bytes): number {
  if (typeof v === 'string') return utf8Write(b, off, v);
  b.set(v, off); // native copy of a whole array: no allocation
  return off + v.length;
}

/** Writes a 2-byte-length-prefixed binary or UTF-8 field (its length already checked). */
function writeField(b: Uint8Array, off: number, v: Bytes): number {
  const e = writeRaw(b, off + 2, v);
  const n = e - off - 2;
  b[off] = n >> 8;
  b[off + 1] = n & 255;
  return e;
}

function validId(id: number): boolean {
  return id > 0 && id < 65536 && id === (id | 0);
}

function validQos(q: number): boolean {
  return q === 0 || q === 1 || q === 2;
}

/**
 * PUBLISH. `id` is ignored at QoS 0. The topic must be a valid topic name (no wildcards).
 * `end` (default b.length) bounds the space the packet may use.
 */
export function encodePublish(
  b: Uint8Array, off: number, topic: string, payload: Bytes,
  qos: number, retain: boolean, dup: boolean, id: number, end?: number,
): number {
  if (!validQos(qos)) return ERR_QOS;
  if (qos && !validId(id)) return ERR_PACKET_ID;
  const p = bytesLength(payload);
  if (p < 0) return p;
  const lim = end === undefined ? b.length : end;
  const first = (PUBLISH << 4) | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  // One pass for the common plain-ASCII topic: check each character as it is copied (on an
  // interpreter, as on XS and Espruino, a second walk over the topic costs more than this code).
  // Anything else takes the general path, which rewrites the packet from the start.
  let t = topic.length;
  let i = t > 0 && t <= MAX_STRING_BYTES ? writeHeader(b, off, lim, first, 2 + t + (qos ? 2 : 0) + p) : -1;
  if (i >= 0) {
    b[i++] = t >> 8;
    b[i++] = t & 255;
    for (let k = 0; k < t && i >= 0; k++) {
      const c = topic.charCodeAt(k);
      if (c >= 0x80 || !c || c === 0x2b || c === 0x23) i = -1;
      else b[i++] = c;
    }
  }
  if (i < 0) {
    t = utf8Length(topic, TOPIC_NAME);
    if (t < 0) return t;
    i = writeHeader(b, off, lim, first, 2 + t + (qos ? 2 : 0) + p);
    if (i < 0) return i;
    i = writeField(b, i, topic);
  }
  if (qos) {
    b[i++] = id >> 8;
    b[i++] = id & 255;
  }
  return writeRaw(b, i, payload) - off;
}

/** Whole size of a PUBLISH (fixed header included), or a negative error code. */
export function publishLength(topic: string, payload: Bytes, qos: number): number {
  const t = utf8Length(topic, TOPIC_NAME);
  if (t < 0) return t;
  const p = bytesLength(payload);
  if (p < 0) return p;
  const rem = 2 + t + (qos ? 2 : 0) + p;
  return 1 + varintSize(rem) + rem;
}

/**
 * The 4-byte packets that carry only a packet id: PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK.
 * PUBREL gets its required flags (0b0010).
 */
export function encodeAck(b: Uint8Array, off: number, type: number, id: number): number {
  if (!validId(id)) return ERR_PACKET_ID;
  if (off + 4 > b.length) return ERR_NO_SPACE;
  b[off] = (type << 4) | (type === PUBREL ? 2 : 0);
  b[off + 1] = 2;
  b[off + 2] = id >> 8;
  b[off + 3] = id & 255;
  return 4;
}

/** The 2-byte packets: PINGREQ, PINGRESP, DISCONNECT. */
export function encodeEmpty(b: Uint8Array, off: number, type: number): number {
  if (off + 2 > b.length) return ERR_NO_SPACE;
  b[off] = type << 4;
  b[off + 1] = 0;
  return 2;
}

/** Will message carried by CONNECT. */
export interface Will {
  topic: string;
  payload: Bytes;
  qos?: number;
  retain?: boolean;
}

/** CONNECT fields. */
export interface ConnectFields {
  clientId: string;
  clean?: boolean;
  /** Seconds, 0..65535; 0 turns keepalive off. */
  keepalive?: number;
  username?: string;
  password?: Bytes;
  will?: Will | null;
}

/** Protocol name "MQTT" and level 4: the start of every CONNECT variable header. */
const PROTOCOL = new Uint8Array([0, 4, 77, 81, 84, 84, 4]);

/** The CONNECT payload fields in wire order: client id, will topic and payload, user, password. */
function connectField(c: ConnectFields, k: number): Bytes | null | undefined {
  const w = c.will;
  return !k ? c.clientId : k < 3 ? w && (k < 2 ? w.topic : w.payload) : k < 4 ? c.username : c.password;
}

/** CONNECT for protocol "MQTT" level 4. */
export function encodeConnect(b: Uint8Array, off: number, c: ConnectFields): number {
  const ka = c.keepalive === undefined ? 60 : c.keepalive;
  const will = c.will;
  // 3.1.1 forbids a password without a user name [MQTT-3.1.2-22].
  if (!(ka >= 0 && ka < 65536 && ka === (ka | 0)) || (c.password != null && c.username == null)) return ERR_ARG;
  let flags = (c.clean === false ? 0 : 2) | (c.username != null ? 128 : 0) | (c.password != null ? 64 : 0);
  if (will) {
    const q = will.qos || 0;
    if (!validQos(q)) return ERR_QOS;
    flags |= 4 | (q << 3) | (will.retain ? 32 : 0);
  }
  // Variable header (10) plus each present field with its 2-byte length.
  let rem = 10;
  for (let k = 0; k < 5; k++) {
    const v = connectField(c, k);
    if (v == null) continue;
    const n = k === 1 ? utf8Length(v as string, TOPIC_NAME) : fieldLength(v);
    if (n < 0) return n;
    rem += 2 + n;
  }
  let i = writeHeader(b, off, b.length, CONNECT << 4, rem);
  if (i < 0) return i;
  b.set(PROTOCOL, i);
  b[i + 7] = flags;
  b[i + 8] = ka >> 8;
  b[i + 9] = ka & 255;
  i += 10;
  for (let k = 0; k < 5; k++) {
    const v = connectField(c, k);
    if (v != null) i = writeField(b, i, v);
  }
  return i - off;
}

/**
 * SUBSCRIBE with one entry per filter; `qos[i]` is the maximum QoS requested for `filters[i]`.
 */
export function encodeSubscribe(b: Uint8Array, off: number, id: number, filters: string[], qos: number[]): number {
  return encodeFilterList(b, off, (SUBSCRIBE << 4) | 2, id, filters, qos);
}

/** UNSUBSCRIBE with one entry per filter. */
export function encodeUnsubscribe(b: Uint8Array, off: number, id: number, filters: string[]): number {
  return encodeFilterList(b, off, (UNSUBSCRIBE << 4) | 2, id, filters, null);
}

function encodeFilterList(
  b: Uint8Array, off: number, first: number, id: number, filters: string[], qos: number[] | null,
): number {
  if (!validId(id)) return ERR_PACKET_ID;
  const n = filters.length;
  if (!n) return ERR_EMPTY;
  let rem = 2;
  for (let k = 0; k < n; k++) {
    const len = utf8Length(filters[k], TOPIC_FILTER);
    if (len < 0) return len;
    if (qos && !validQos(qos[k])) return ERR_QOS;
    rem += 2 + len + (qos ? 1 : 0);
  }
  let i = writeHeader(b, off, b.length, first, rem);
  if (i < 0) return i;
  b[i++] = id >> 8;
  b[i++] = id & 255;
  for (let k = 0; k < n; k++) {
    i = writeField(b, i, filters[k]);
    if (qos) b[i++] = qos[k];
  }
  return i - off;
}
