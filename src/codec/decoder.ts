// Streaming decoder over one fixed receive buffer. Bytes arrive in any chunking through
// write() (or straight into `buf` at `w`, then commit()); next() yields one packet at a time.
// The decoder is its own PacketView (`pkt` is itself): nothing is allocated per packet, and a
// device carries one object and one class, not two. Written for bundle size (it is most of a
// device bundle's codec): one method per entry point, expressions over statements, no helpers.
import {
  NEED_MORE, ERR_HEADER_FLAGS, ERR_QOS, ERR_REMAINING_LENGTH, ERR_LENGTH, ERR_PACKET_ID,
  ERR_PACKET_TYPE, ERR_UNEXPECTED_TYPE, ERR_CONNACK_FLAGS, ERR_CONNACK_CODE, ERR_SUBACK_CODE,
  ERR_TOO_LARGE, ERR_TOPIC, ERR_EMPTY,
} from './errors.js';
import { utf8Scan, CHECK_TOPIC } from './utf8.js';
import type { PacketView } from './packet-view.js';
import type { RxSink } from '../transport.js';

/**
 * Decodes the bodies of packets only a broker receives (CONNECT, SUBSCRIBE, UNSUBSCRIBE,
 * PINGREQ, DISCONNECT). Returns the packet type or a negative error code. Supplied only by
 * code that plays the broker (codec/server.ts), so device bundles never carry it.
 */
export type BodyDecoder = (pkt: PacketView, b: Uint8Array, off: number, end: number) => number;

/** Smallest receive buffer: room for any fixed header and a CONNACK or ack. */
export const MIN_CAPACITY = 16;

export class Decoder implements PacketView {
  /** The receive buffer: packets are reassembled and decoded in place here. */
  readonly buf: Uint8Array;
  /** The packet last yielded by next(): the decoder itself. */
  readonly pkt: PacketView;
  /** Start of the first undecoded byte in `buf`. */
  declare r: number;
  /** End of the buffered bytes in `buf`. */
  declare w: number;
  /** Bytes to discard from `r` on (an oversized packet) before decoding resumes. */
  declare skip: number;
  /** Oversized PUBLISH whose id lies beyond the buffer: its bytes from the id on, 0 if none. */
  declare idRest: number;
  /** Sticky error: after malformed input the stream is out of sync until reset(). */
  declare err: number;
  // PacketView fields (see packet-view.ts), written by next(); undefined before the first packet.
  declare type: number;
  declare flags: number;
  declare qos: number;
  declare dup: boolean;
  declare retain: boolean;
  declare id: number;
  declare length: number;
  declare topicOff: number;
  declare topicLen: number;
  declare payloadOff: number;
  declare payloadLen: number;
  declare sessionPresent: boolean;
  declare returnCode: number;
  declare listOff: number;
  declare count: number;
  /**
   * Body decoder for broker-bound types, set only by code that plays the broker
   * (codec/server.ts brokerDecoder). A device's decoder never has the property: no code in
   * its constructor, no slot. Named _x: internal, the minifier shortens it (rollup.config.js).
   */
  declare _server?: BodyDecoder;

  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity < MIN_CAPACITY ? MIN_CAPACITY : capacity);
    this.pkt = this;
    this.reset();
  }

  /** Forgets everything buffered (call on a new connection). */
  reset(): void {
    this.r = this.w = this.skip = this.idRest = this.err = 0;
  }

  /** Free bytes at the end of `buf`, after moving the unread bytes to its front. */
  space(): number {
    const d = this;
    const b = d.buf;
    let k = 0;
    if (d.r) {
      while (d.r < d.w) b[k++] = b[d.r++];
      d.r = 0;
      d.w = k;
    }
    return b.length - d.w;
  }

  /** After writing `n` bytes into `buf` at `w` directly (byte-wise socket reads). */
  commit(n: number): void {
    this.w += n;
  }



  /**
   * Decodes the next buffered packet into `pkt`. Returns its type (1..14), NEED_MORE (0) when
   * no whole packet is buffered, or a negative error code. ERR_TOO_LARGE reports a packet that
   * cannot fit in `buf` (pkt.type, pkt.length, and for PUBLISH pkt.qos and pkt.id, plus the topic
   * when it fits; a PUBLISH whose topic overflows the buffer is reported once its id streamed in);
   * the decoder then skips it and stays in sync. Any other error is sticky until reset().
   */
  next(): number {
    const d = this;
    const b = d.buf;
    const size = b.length;
    const w = d.w;
    let r = d.r;
    let n = d.skip;
    if (d.err) return d.err;
    // Skip (the rest of) an oversized packet, as far as it is buffered; no test for 0 needed.
    if (n > w - r) n = w - r;
    d.r = r += n;
    if ((d.skip -= n)) return NEED_MORE;
    if (d.idRest) {
      // The packet id of an oversized PUBLISH, read as it streams past; the rest is skipped.
      if (w - r < 2) return NEED_MORE;
      d.id = (b[r] << 8) | b[r + 1];
      d.skip = d.idRest;
      d.idRest = 0;
      return ERR_TOO_LARGE;
    }
    if (r == w) return NEED_MORE;
    const type = b[r] >> 4;
    const flags = b[r] & 15;
    const qos = (flags >> 1) & 3;
    // Types 0 and 15 are reserved. PUBREL, SUBSCRIBE and UNSUBSCRIBE (types 6, 8, 10: bits of
    // 0xa80) carry flags 0b0010, every other type but PUBLISH 0.
    let e = type % 15 ? (type == 3 ? qos > 2 && ERR_QOS : flags != ((0xa80 >> type) & 2) && ERR_HEADER_FLAGS) : ERR_PACKET_TYPE;
    // Remaining length (at most 4 bytes): `len`, the body's size.
    let len = 0;
    let i = r + 1;
    let c: number;
    if (e) return (d.err = e);
    do {
      if (i == w) return NEED_MORE;
      c = b[i++];
      len += (c & 127) << (7 * (i - r - 2)); // at most 127 << 21: a small integer
      if (c & 128 && i - r > 4) return (d.err = ERR_REMAINING_LENGTH);
    } while (c & 128);
    const end = i + len;
    // The first two body bytes: a PUBLISH's topic length, an ack's packet id, a CONNACK's flags
    // and return code. Only buffered bytes are read; past the packet they are never used.
    n = w - i > 1 ? (b[i] << 8) | b[i + 1] : 0;
    const o = i + 2;
    const at = o + n; // PUBLISH: end of the topic
    const pay = at + (qos && 2);
    d.type = type;
    d.flags = flags;
    d.qos = qos;
    d.dup = flags > 7;
    d.retain = flags % 2 > 0;
    d.length = end - r;
    d.id = 0;
    // A PUBLISH's topic (in an oversized one, only when it and the packet id are buffered).
    d.topicOff = o;
    d.topicLen = type == 3 && pay <= size ? n : 0;
    if (end > w) {
      // Wait for the rest (while r > 0, the next write() or space() compacts first), or report
      // an oversized packet once it fills the buffer from 0, so a PUBLISH's topic and packet id
      // can be read: the client must still acknowledge it. Then skip all of it; or for a PUBLISH
      // with an id, up to the id, which the nested next() reads (now, or once it streams in)
      // before skipping the rest.
      if (r || w < size) return NEED_MORE; // (a full buffer from 0 is exceeded: end > w = size)
      d.skip = type == 3 && qos && at + 2 <= end ? ((d.idRest = end - at), at) : end;
      return d.next() || (d.idRest ? NEED_MORE : ERR_TOO_LARGE);
    }
    d.r = end;
    if (type == 3) {
      e = pay > end ? ERR_LENGTH
        : utf8Scan(b, o, n, CHECK_TOPIC) || (n ? (qos && !(d.id = (b[at] << 8) | b[at + 1]) ? ERR_PACKET_ID : type) : ERR_TOPIC);
      d.payloadOff = pay;
      d.payloadLen = end - pay;
    } else if ((0x2af4 >> type) & 1) {
      // CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK, PINGRESP: 2, 4..7, 9, 11, 13.
      // n: the packet id, or a CONNACK's flags (reserved bits: n >> 9) and return code.
      e = type == 13 ? (len ? ERR_LENGTH : type)
        : len < 2 || (type != 9 && len != 2) ? ERR_LENGTH
        : type == 2 ? (n >> 9 ? ERR_CONNACK_FLAGS : (d.returnCode = n & 255) > 5 ? ERR_CONNACK_CODE
          : ((d.sessionPresent = n > 255), type))
        : !n ? ERR_PACKET_ID
        : ((d.id = n), type);
      if (e == 9) {
        // SUBACK: one return code per filter, 0, 1, 2 or 0x80.
        if (len == 2) e = ERR_EMPTY;
        for (let k = o; k < end; k++) if (b[k] > 2 && b[k] != 0x80) e = ERR_SUBACK_CODE;
        d.listOff = o;
        d.count = len - 2;
      }
    } else e = d._server ? d._server(d, b, i, end) : ERR_UNEXPECTED_TYPE; // broker-bound types
    return e < 0 ? (d.err = e) : e;
  }
}

/**
 * Copies as much of src[off, end) as fits into the receive buffer; returns the count copied.
 * Call next() after. Bytes of an oversized packet are copied too, and next() drops them. A function, not a Decoder method, so device bundles (whose transports write
 * byte by byte with space()/commit()) leave it out.
 */
export function rxWrite(d: RxSink, src: Uint8Array, off: number, end: number): number {
  let n = d.space();
  let k = 0;
  const w = d.w;
  if (n > end - off) n = end - off;
  if (off || n != src.length) while (k < n) d.buf[w + k] = src[off + k++];
  else d.buf.set(src, w); // whole source: native copy, no view needed
  d.commit(n);
  return n;
}
