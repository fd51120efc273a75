// Streaming decoder over one fixed receive buffer. Bytes arrive in any chunking through
// write() (or straight into `buf` at `w`, then commit()); next() yields one packet at a time
// into the reused `pkt` view. Nothing is allocated per packet.
import { CONNACK, PUBLISH, SUBACK, PINGRESP } from './constants.js';
import {
  NEED_MORE, ERR_HEADER_FLAGS, ERR_QOS, ERR_REMAINING_LENGTH, ERR_LENGTH, ERR_PACKET_ID,
  ERR_PACKET_TYPE, ERR_UNEXPECTED_TYPE, ERR_CONNACK_FLAGS, ERR_CONNACK_CODE, ERR_SUBACK_CODE,
  ERR_TOO_LARGE, ERR_UTF8, ERR_TOPIC, ERR_EMPTY,
} from './errors.js';
import { utf8Valid, topicNameValid } from './utf8.js';
import { PacketView } from './packet-view.js';

/**
 * Decodes the bodies of packets only a broker receives (CONNECT, SUBSCRIBE, UNSUBSCRIBE,
 * PINGREQ, DISCONNECT). Returns the packet type or a negative error code. Supplied only by
 * code that plays the broker (codec/server.ts), so device bundles never carry it.
 */
export type BodyDecoder = (pkt: PacketView, b: Uint8Array, off: number, end: number) => number;

/** Smallest receive buffer: room for any fixed header and a CONNACK or ack. */
export const MIN_CAPACITY = 16;

export class Decoder {
  /** The receive buffer: packets are reassembled and decoded in place here. */
  readonly buf: Uint8Array;
  /** The packet last yielded by next(). */
  readonly pkt: PacketView;
  /** Start of the first undecoded byte in `buf`. */
  r = 0;
  /** End of the buffered bytes in `buf`. */
  w = 0;
  /** Bytes of an oversized packet still to be discarded as they arrive. */
  skip = 0;
  /** Oversized PUBLISH whose topic overflowed the buffer: its bytes from the packet id on. */
  idRest = 0;
  /** Sticky error: after malformed input the stream is out of sync until reset(). */
  err = 0;
  // Members named _x are internal: the minifier shortens them (rollup.config.js).
  private readonly _server: BodyDecoder | undefined;

  constructor(capacity: number, server?: BodyDecoder) {
    this.buf = new Uint8Array(capacity < MIN_CAPACITY ? MIN_CAPACITY : capacity);
    this.pkt = new PacketView(this.buf);
    this._server = server;
  }

  /** Forgets everything buffered (call on a new connection). */
  reset(): void {
    this.r = this.w = this.skip = this.idRest = this.err = 0;
  }

  /** Free bytes at the end of `buf` after compaction. */
  space(): number {
    this._compact();
    return this.buf.length - this.w;
  }

  /** After writing `n` bytes into `buf` at `w` directly (byte-wise socket reads). */
  commit(n: number): void {
    this.w += n;
  }

  /** Copies as much of src[off, end) as fits; returns the count copied. Call next() after. */
  write(src: Uint8Array, off: number, end: number): number {
    const d = this;
    const b = d.buf;
    let n = end - off;
    if (d.skip && d.w === d.r) {
      // Discarding an oversized packet: drop straight from the source, no copy.
      if (n > d.skip) n = d.skip;
      d.skip -= n;
      return n;
    }
    if (d.w + n > b.length) d._compact();
    const w = d.w;
    if (n > b.length - w) n = b.length - w;
    if (off === 0 && n === src.length) b.set(src, w); // whole source: native copy, no view needed
    else for (let k = 0; k < n; k++) b[w + k] = src[off + k];
    d.w = w + n;
    return n;
  }

  /** Moves the unread bytes to the front of `buf`. */
  private _compact(): void {
    const d = this;
    const r = d.r;
    if (r === 0) return;
    const b = d.buf;
    const n = d.w - r;
    for (let k = 0; k < n; k++) b[k] = b[r + k];
    d.r = 0;
    d.w = n;
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
    if (d.err) return d.err;
    const b = d.buf;
    const p = d.pkt;
    const w = d.w;
    let r = d.r;
    if (d.skip) {
      const n = w - r < d.skip ? w - r : d.skip;
      d.skip -= n;
      d.r = r += n;
      if (d.skip) return NEED_MORE;
    }
    if (d.idRest) {
      // The packet id of an oversized PUBLISH, read as it streams past; the rest is skipped.
      if (w - r < 2) return NEED_MORE;
      p.id = (b[r] << 8) | b[r + 1];
      d.skip = d.idRest;
      d.idRest = 0;
      return ERR_TOO_LARGE;
    }
    if (r === w) {
      d.r = d.w = 0;
      return NEED_MORE;
    }
    const type = b[r] >> 4;
    const flags = b[r] & 15;
    const qos = (flags >> 1) & 3;
    // PUBREL, SUBSCRIBE and UNSUBSCRIBE (types 6, 8, 10: bits of 0x540) carry flags 0b0010.
    let e = type === 0 || type === 15 ? ERR_PACKET_TYPE
      : type === PUBLISH ? (qos === 3 ? ERR_QOS : 0)
      : flags !== ((0x540 >> type) & 1) * 2 ? ERR_HEADER_FLAGS : 0;
    if (e) return (d.err = e);
    // Remaining length: at most 4 bytes.
    let rem = 0;
    let mul = 1;
    let i = r + 1;
    let c: number;
    do {
      if (i === w) return NEED_MORE;
      c = b[i++];
      rem += (c & 127) * mul;
      mul *= 128;
      if (c & 128 && i - r > 4) return (d.err = ERR_REMAINING_LENGTH);
    } while (c & 128);
    const total = i - r + rem;
    if (w - r < total) {
      // write() and space() make room by compacting; here only wait, or report an oversized
      // packet: once the buffer is full, so a PUBLISH's topic and packet id can be read (the
      // client must still acknowledge it); it is then discarded as it streams in.
      if (total <= b.length) return NEED_MORE;
      d._compact();
      if (d.w < b.length) return NEED_MORE;
    }
    p.type = type;
    p.flags = flags;
    p.length = total;
    p.id = 0;
    if (w - r < total) {
      i -= r;
      p.qos = qos;
      p.topicLen = 0;
      if (type === PUBLISH) {
        const t = (b[i] << 8) | b[i + 1];
        const at = i + 2 + t;
        if (at + (qos ? 2 : 0) <= b.length) {
          p.topicOff = i + 2;
          p.topicLen = t;
          if (qos) p.id = (b[at] << 8) | b[at + 1];
        } else if (qos && at + 2 <= total) {
          // The topic alone overflows the buffer, but the id is still needed for the ack: keep
          // the bytes from the id on (or skip up to it) and report once it is here (above).
          const have = b.length;
          d.idRest = total - at;
          d.skip = at > have ? at - have : 0;
          d.r = at < have ? at : 0;
          d.w = at < have ? have : 0;
          return NEED_MORE;
        }
      }
      d.skip = total - b.length;
      d.r = d.w = 0;
      return ERR_TOO_LARGE;
    }
    d.r = r + total;
    e = d._body(p, b, type, flags, i, r + total);
    if (e < 0) d.err = e;
    return e;
  }

  private _body(p: PacketView, b: Uint8Array, type: number, flags: number, i: number, end: number): number {
    const len = end - i;
    let id = len > 1 ? (b[i] << 8) | b[i + 1] : 0; // no read past the packet
    if (type === PUBLISH) {
      const qos = (flags >> 1) & 3;
      p.qos = qos;
      p.dup = (flags & 8) !== 0;
      p.retain = (flags & 1) !== 0;
      if (len < 2) return ERR_LENGTH;
      let at = i + 2 + id;
      if (at + (qos ? 2 : 0) > end) return ERR_LENGTH;
      if (!utf8Valid(b, i + 2, at)) return ERR_UTF8;
      if (!topicNameValid(b, i + 2, at)) return ERR_TOPIC;
      p.topicOff = i + 2;
      p.topicLen = id;
      if (qos) {
        id = (b[at] << 8) | b[at + 1];
        if (!id) return ERR_PACKET_ID;
        p.id = id;
        at += 2;
      }
      p.payloadOff = at;
      p.payloadLen = end - at;
      return type;
    }
    // PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK: types 4..7, 9, 11 (bits of 0xaf0).
    if ((0xaf0 >> type) & 1) {
      if (len < 2 || (type !== SUBACK && len !== 2)) return ERR_LENGTH;
      if (!id) return ERR_PACKET_ID;
      p.id = id;
      if (type === SUBACK) {
        if (len === 2) return ERR_EMPTY;
        for (let k = i + 2; k < end; k++) if (b[k] > 2 && b[k] !== 0x80) return ERR_SUBACK_CODE;
        p.listOff = i + 2;
        p.count = len - 2;
      }
      return type;
    }
    if (type === CONNACK) {
      if (len !== 2) return ERR_LENGTH;
      if (b[i] & 0xfe) return ERR_CONNACK_FLAGS;
      if (b[i + 1] > 5) return ERR_CONNACK_CODE;
      p.sessionPresent = b[i] === 1;
      p.returnCode = b[i + 1];
      return type;
    }
    if (type === PINGRESP) return len ? ERR_LENGTH : type;
    // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT: broker-bound.
    return this._server ? this._server(p, b, i, end) : ERR_UNEXPECTED_TYPE;
  }
}
