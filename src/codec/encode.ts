// Encoders for the packets a client sends. Each writes into a caller-owned buffer at `off`
// and returns the byte count, or a negative error code (errors.ts). None throws; only CONNECT,
// SUBSCRIBE and UNSUBSCRIBE allocate (a few bytes per call, for the code they share).
import {
  CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, PUBREL, MAX_REMAINING_LENGTH, MAX_STRING_BYTES,
} from './constants.js';
import {
  ERR_NO_SPACE, ERR_TOO_LONG, ERR_QOS, ERR_PACKET_ID, ERR_ARG, ERR_EMPTY,
} from './errors.js';
import { utf8Length, utf8Walk, TOPIC_NAME, TOPIC_FILTER } from './utf8.js';

/** A string is sent as UTF-8; a Uint8Array as raw bytes. */
export type Bytes = string | Uint8Array;

/** Bytes of a variable length integer holding `n` (0 <= n <= MAX_REMAINING_LENGTH). */
export function varintSize(n: number): number {
  let k = 1;
  while (n >>>= 7) k++; // >>>: ends for any input
  return k;
}

/**
 * Whole size of the packet writeHeader last checked, set also when it did not fit: after
 * ERR_NO_SPACE from an encoder it is the size that packet needs (the outbox uses it instead of
 * measuring the message again).
 */
export let packetSize = 0;

/**
 * Writes the fixed header if the whole packet (`rem` bytes after the header) fits before `end`.
 * Returns the offset of the variable header, or a negative error code.
 */
export function writeHeader(b: Uint8Array, off: number, end: number, first: number, rem: number): number {
  if (rem > MAX_REMAINING_LENGTH) return ERR_TOO_LONG;
  if (off + (packetSize = 1 + varintSize(rem) + rem) > end) return ERR_NO_SPACE;
  b[off++] = first;
  // A Uint8Array keeps the low 8 bits: rem | 128 is the next 7 bits with the "more" bit.
  do b[off++] = rem > 127 ? rem | 128 : rem; while (rem >>= 7);
  return off;
}

/**
 * Writes raw bytes or checked UTF-8 (no length prefix) at b[off], before `end` for a string; with
 * `b` null only measures. Returns the end offset, or a negative error code.
 */
function writeRaw(b: Uint8Array | null, off: number, v: Bytes, end: number, kind?: number): number {
  if (typeof v == 'string') return utf8Walk(v, 0, v.length, b, off, end, kind);
  if (b) b.set(v, off); // native copy of a whole array: no allocation
  return off + v.length;
}

/** Length in bytes of a payload or binary field, or a negative error code. */
export function bytesLength(v: Bytes): number {
  return writeRaw(null, 0, v, MAX_STRING_BYTES);
}

function validId(id: number): boolean {
  return id > 0 && (id & 65535) == id;
}

/** Strict (===): a JavaScript app's "1", 1.5 or NaN is not a QoS. */
export function validQos(q: number): boolean {
  return q < 3 && (q & 3) === q;
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
  let p = bytesLength(payload);
  if (p < 0) return p;
  if (qos) p += 2; // the packet id
  const lim = end ?? b.length;
  const first = (PUBLISH << 4) | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  // One pass for the common plain-ASCII topic: guess one byte per character and check the
  // guess while writing (on an interpreter, as on XS and Espruino, a second walk over the topic
  // costs more than this code). Anything else is measured first and rewritten from the start.
  let t = topic.length;
  let i: number;
  for (let k = 0; ; k++) {
    i = writeHeader(b, off, lim, first, 2 + t + p);
    if (i >= 0) {
      b[i++] = t >> 8;
      b[i++] = t;
      if (utf8Walk(topic, 0, topic.length, b, i, i += t, TOPIC_NAME) == i && t <= MAX_STRING_BYTES) break;
    }
    // Measured, the topic fits its place: only the packet may not. Else measure it.
    if (k || (t = utf8Length(topic, TOPIC_NAME)) < 0) return k ? i : t;
  }
  if (qos) {
    b[i++] = id >> 8;
    b[i++] = id;
  }
  return writeRaw(b, i, payload, lim) - off;
}

/**
 * The 4-byte packets that carry only a packet id: PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK.
 * PUBREL gets its required flags (0b0010).
 */
export function encodeAck(b: Uint8Array, off: number, type: number, id: number): number {
  // Fixed size: written directly, without writeHeader's general checks.
  if (!validId(id)) return ERR_PACKET_ID;
  if (off + 4 > b.length) return ERR_NO_SPACE;
  b[off] = (type << 4) | (type == PUBREL ? 2 : 0);
  b[off + 1] = 2;
  b[off + 2] = id >> 8;
  b[off + 3] = id;
  return 4;
}

/** The 2-byte packets: PINGREQ, PINGRESP, DISCONNECT. */
export function encodeEmpty(b: Uint8Array, off: number, type: number): number {
  // With nothing after the header, not fitting is the only error.
  return writeHeader(b, off, b.length, type << 4, 0) < 0 ? ERR_NO_SPACE : 2;
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

/**
 * The packet shape CONNECT, SUBSCRIBE and UNSUBSCRIBE share: the variable header `head`, then
 * each present field of `fields` with its 2-byte length (string field k checked as kind
 * `kinds >> 2k & 3`), each followed by the byte qos[k] when `qos` is given. A first pass only
 * measures and checks, so on an error nothing is written; the second writes.
 */
function encodeFields(
  b: Uint8Array, off: number, first: number, head: number[], fields: (Bytes | null | undefined)[],
  kinds: number, qos?: number[] | null,
): number {
  let x: Uint8Array | null = null;
  let i = 0;
  for (;;) {
    if (x) x.set(head, i);
    i += head.length;
    for (let k = 0; k < fields.length; k++) {
      const v = fields[k];
      if (v != null) {
        // i moves past the length first: the field's bytes start there.
        const e = writeRaw(x, i += 2, v, i + MAX_STRING_BYTES, kinds >> 2 * k & 3);
        const n = e - i;
        if (e < 0) return e;
        if (n > MAX_STRING_BYTES) return ERR_TOO_LONG; // a Uint8Array
        if (qos && !validQos(qos[k])) return ERR_QOS;
        if (x) {
          x[i - 2] = n >> 8;
          x[i - 1] = n;
          if (qos) x[e] = qos[k];
        }
        i = e + (qos ? 1 : 0);
      }
    }
    if (x) return i - off;
    i = writeHeader(b, off, b.length, first, i);
    if (i < 0) return i;
    x = b;
  }
}

/** CONNECT for protocol "MQTT" level 4. */
export function encodeConnect(b: Uint8Array, off: number, c: ConnectFields): number {
  const ka = c.keepalive === undefined ? 60 : c.keepalive;
  // No will is 0: reading a field of a number gives undefined, so no `w &&` before each use.
  const w = (c.will || 0) as Will;
  const u = c.username;
  const pw = c.password;
  const q = w.qos || 0;
  // 3.1.1 forbids a password without a user name [MQTT-3.1.2-22].
  if (ka !== (ka & 65535) || (pw != null && u == null)) return ERR_ARG;
  if (!validQos(q)) return ERR_QOS;
  const flags = (c.clean === false ? 0 : 2) | (u != null ? 128 : 0) | (pw != null ? 64 : 0)
    | (w ? 4 | (q << 3) | (w.retain ? 32 : 0) : 0);
  // Protocol name "MQTT", level 4, flags, keepalive; the will topic (field 1) is a topic name.
  return encodeFields(b, off, CONNECT << 4, [0, 4, 77, 81, 84, 84, 4, flags, ka >> 8, ka],
    [c.clientId, w.topic, w.payload, u, pw], TOPIC_NAME << 2);
}

/**
 * SUBSCRIBE with one entry per filter, `qos[i]` the maximum QoS requested for `filters[i]`; without
 * `qos`, UNSUBSCRIBE. One function behind both names (it is the same packet shape); the client
 * calls it directly.
 */
export function encodeFilters(b: Uint8Array, off: number, id: number, filters: string[], qos?: number[] | null): number {
  // 0xaaaaaaaa: every 2-bit kind is TOPIC_FILTER (a shift count is taken mod 32).
  return !validId(id) ? ERR_PACKET_ID : !filters.length ? ERR_EMPTY
    : encodeFields(b, off, (qos ? SUBSCRIBE : UNSUBSCRIBE) << 4 | 2, [id >> 8, id], filters, TOPIC_FILTER * 0x55555555, qos);
}

/**
 * SUBSCRIBE with one entry per filter; `qos[i]` is the maximum QoS requested for `filters[i]`.
 */
export const encodeSubscribe: (b: Uint8Array, off: number, id: number, filters: string[], qos: number[]) => number = encodeFilters;

/** UNSUBSCRIBE with one entry per filter. */
export const encodeUnsubscribe: (b: Uint8Array, off: number, id: number, filters: string[]) => number = encodeFilters;
