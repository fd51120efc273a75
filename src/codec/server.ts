// The broker's side of the codec: encoders for CONNACK and SUBACK, and decoding of the packets
// only a broker receives. For tests and tools that play the broker; device bundles never import
// this module, so the bundler leaves it out. The read*() helpers allocate (strings, arrays).
import {
  CONNECT, CONNACK, SUBSCRIBE, SUBACK, UNSUBSCRIBE, PINGREQ, DISCONNECT,
} from './constants.js';
import {
  ERR_NO_SPACE, ERR_LENGTH, ERR_PACKET_ID, ERR_PROTOCOL, ERR_CONNECT_FLAGS, ERR_QOS,
  ERR_UTF8, ERR_TOPIC, ERR_SUBSCRIBE_QOS, ERR_EMPTY, ERR_UNEXPECTED_TYPE, ERR_SUBACK_CODE, ERR_ARG,
} from './errors.js';
import { writeHeader } from './encode.js';
import { utf8Valid, topicNameValid, utf8Decode } from './utf8.js';
import { Decoder } from './decoder.js';
import type { PacketView } from './packet-view.js';

/** CONNACK with a return code 0..5. */
export function encodeConnack(b: Uint8Array, off: number, sessionPresent: boolean, returnCode: number): number {
  if (!(returnCode >= 0 && returnCode <= 5)) return ERR_ARG;
  if (off + 4 > b.length) return ERR_NO_SPACE;
  b[off] = CONNACK << 4;
  b[off + 1] = 2;
  b[off + 2] = sessionPresent ? 1 : 0;
  b[off + 3] = returnCode;
  return 4;
}

/** SUBACK with one return code (0, 1, 2 or 0x80) per filter. */
export function encodeSuback(b: Uint8Array, off: number, id: number, codes: number[]): number {
  if (!(id > 0 && id < 65536)) return ERR_PACKET_ID;
  if (!codes.length) return ERR_EMPTY;
  for (const c of codes) if (!(c === 0 || c === 1 || c === 2 || c === 0x80)) return ERR_SUBACK_CODE;
  let i = writeHeader(b, off, b.length, SUBACK << 4, 2 + codes.length);
  if (i < 0) return i;
  b[i++] = id >> 8;
  b[i++] = id & 255;
  for (const c of codes) b[i++] = c;
  return i - off;
}

/** Where a CONNECT's fields lie in the receive buffer; a length of -1 means absent. */
export class ConnectView {
  level = 0;
  clean = false;
  keepalive = 0;
  clientIdOff = 0;
  clientIdLen = 0;
  willQos = 0;
  willRetain = false;
  willTopicOff = 0;
  willTopicLen = -1;
  willPayloadOff = 0;
  willPayloadLen = -1;
  usernameOff = 0;
  usernameLen = -1;
  passwordOff = 0;
  passwordLen = -1;
}

/** A decoder that also accepts broker-bound packets; CONNECT fields land in `connect`. */
export function brokerDecoder(capacity: number): { decoder: Decoder; connect: ConnectView } {
  const connect = new ConnectView();
  const decoder = new Decoder(capacity);
  decoder._server = (p, b, i, end) => brokerBody(connect, p, b, i, end);
  return { decoder, connect };
}

/** Reads a 2-byte length prefix at `i`; returns the field end, or -1 when it overruns `end`. */
function field(b: Uint8Array, i: number, end: number): number {
  if (i + 2 > end) return -1;
  const e = i + 2 + ((b[i] << 8) | b[i + 1]);
  return e > end ? -1 : e;
}

function brokerBody(c: ConnectView, p: PacketView, b: Uint8Array, i: number, end: number): number {
  const type = p.type;
  if (type === PINGREQ || type === DISCONNECT) return end === i ? type : ERR_LENGTH;
  if (type === CONNECT) return connectBody(c, b, i, end);
  // SUBSCRIBE / UNSUBSCRIBE
  if (type !== SUBSCRIBE && type !== UNSUBSCRIBE) return ERR_UNEXPECTED_TYPE;
  if (end - i < 2) return ERR_LENGTH;
  const id = (b[i] << 8) | b[i + 1];
  if (!id) return ERR_PACKET_ID;
  p.id = id;
  i += 2;
  p.listOff = i;
  let n = 0;
  while (i < end) {
    const e = field(b, i, end);
    if (e < 0) return ERR_LENGTH;
    if (!utf8Valid(b, i + 2, e)) return ERR_UTF8;
    i = e;
    if (type === SUBSCRIBE) {
      if (i >= end) return ERR_LENGTH;
      if (b[i++] > 2) return ERR_SUBSCRIBE_QOS;
    }
    n++;
  }
  if (!n) return ERR_EMPTY;
  p.count = n;
  return type;
}

function connectBody(c: ConnectView, b: Uint8Array, i: number, end: number): number {
  // "MQTT", level 4, flags, keepalive: 10 bytes.
  if (end - i < 10) return ERR_LENGTH;
  if (b[i] !== 0 || b[i + 1] !== 4 || b[i + 2] !== 77 || b[i + 3] !== 81 || b[i + 4] !== 84 || b[i + 5] !== 84) {
    return ERR_PROTOCOL;
  }
  c.level = b[i + 6];
  if (c.level !== 4) return ERR_PROTOCOL;
  const f = b[i + 7];
  const will = (f & 4) !== 0;
  if (f & 1) return ERR_CONNECT_FLAGS;
  if (!will && f & 0x38) return ERR_CONNECT_FLAGS;
  if ((f & 0x18) === 0x18) return ERR_QOS;
  if (f & 64 && !(f & 128)) return ERR_CONNECT_FLAGS;
  c.clean = (f & 2) !== 0;
  c.willQos = (f >> 3) & 3;
  c.willRetain = (f & 32) !== 0;
  c.keepalive = (b[i + 8] << 8) | b[i + 9];
  i += 10;
  let e = field(b, i, end);
  if (e < 0) return ERR_LENGTH;
  if (!utf8Valid(b, i + 2, e)) return ERR_UTF8;
  c.clientIdOff = i + 2;
  c.clientIdLen = e - i - 2;
  i = e;
  c.willTopicLen = c.willPayloadLen = c.usernameLen = c.passwordLen = -1;
  if (will) {
    e = field(b, i, end);
    if (e < 0) return ERR_LENGTH;
    if (!utf8Valid(b, i + 2, e)) return ERR_UTF8;
    if (!topicNameValid(b, i + 2, e)) return ERR_TOPIC;
    c.willTopicOff = i + 2;
    c.willTopicLen = e - i - 2;
    i = e;
    e = field(b, i, end);
    if (e < 0) return ERR_LENGTH;
    c.willPayloadOff = i + 2;
    c.willPayloadLen = e - i - 2;
    i = e;
  }
  if (f & 128) {
    e = field(b, i, end);
    if (e < 0) return ERR_LENGTH;
    if (!utf8Valid(b, i + 2, e)) return ERR_UTF8;
    c.usernameOff = i + 2;
    c.usernameLen = e - i - 2;
    i = e;
  }
  if (f & 64) {
    e = field(b, i, end);
    if (e < 0) return ERR_LENGTH;
    c.passwordOff = i + 2;
    c.passwordLen = e - i - 2;
    i = e;
  }
  return i === end ? CONNECT : ERR_LENGTH;
}

/** Decoded CONNECT as plain values. Allocates. */
export function readConnect(c: ConnectView, b: Uint8Array) {
  return {
    level: c.level,
    clean: c.clean,
    keepalive: c.keepalive,
    clientId: utf8Decode(b, c.clientIdOff, c.clientIdLen),
    will: c.willTopicLen < 0 ? null : {
      topic: utf8Decode(b, c.willTopicOff, c.willTopicLen),
      payload: b.slice(c.willPayloadOff, c.willPayloadOff + c.willPayloadLen),
      qos: c.willQos,
      retain: c.willRetain,
    },
    username: c.usernameLen < 0 ? null : utf8Decode(b, c.usernameOff, c.usernameLen),
    password: c.passwordLen < 0 ? null : b.slice(c.passwordOff, c.passwordOff + c.passwordLen),
  };
}

/** The filters (and, for SUBSCRIBE, requested QoS) of a decoded SUBSCRIBE or UNSUBSCRIBE. Allocates. */
export function readFilters(p: PacketView): { topic: string; qos: number }[] {
  const b = p.buf;
  const out: { topic: string; qos: number }[] = [];
  let i = p.listOff;
  for (let k = 0; k < p.count; k++) {
    const n = (b[i] << 8) | b[i + 1];
    const topic = utf8Decode(b, i + 2, n);
    i += 2 + n;
    out.push({ topic, qos: p.type === SUBSCRIBE ? b[i++] : 0 });
  }
  return out;
}
