// Streaming decoder over one fixed receive buffer. Bytes arrive in any chunking through
// write() (or straight into `buf` at `w`, then commit()); next() yields one packet at a time
// into the reused `pkt` view. Nothing is allocated per packet.
import {
  CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK,
  PINGRESP,
} from './constants.js';
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
  private readonly server: BodyDecoder | undefined;

  constructor(capacity: number, server?: BodyDecoder) {
    this.buf = new Uint8Array(capacity < MIN_CAPACITY ? MIN_CAPACITY : capacity);
    this.pkt = new PacketView(this.buf);
    this.server = server;
  }

  /** Forgets everything buffered (call on a new connection). */
  reset(): void {
    this.r = this.w = this.skip = this.idRest = this.err = 0;
  }

  /** Free bytes at the end of `buf` after compaction. */
  space(): number {
    this.compact();
    return this.buf.length - this.w;
  }

  /** After writing `n` bytes into `buf` at `w` directly (byte-wise socket reads). */
  commit(n: number): void {
    this.w += n;
  }

  /** Copies as much of src[off, end) as fits; returns the count copied. Call next() after. */
  write(src: Uint8Array, off: number, end: number): number {
    const b = this.buf;
    let w = this.w;
    if (this.skip && w === this.r) {
      // Discarding an oversized packet: drop straight from the source, no copy.
      const n = end - off < this.skip ? end - off : this.skip;
      this.skip -= n;
      return n;
    }
    if (w + end - off > b.length) {
      this.compact();
      w = this.w;
    }
    let n = b.length - w;
    if (n > end - off) n = end - off;
    if (off === 0 && n === src.length) b.set(src, w); // whole source: native copy, no view needed
    else for (let k = 0; k < n; k++) b[w + k] = src[off + k];
    this.w = w + n;
    return n;
  }

  /** Moves the unread bytes to the front of `buf`. */
  private compact(): void {
    const r = this.r;
    if (r === 0) return;
    const b = this.buf;
    const n = this.w - r;
    for (let k = 0; k < n; k++) b[k] = b[r + k];
    this.r = 0;
    this.w = n;
  }

  /**
   * Decodes the next buffered packet into `pkt`. Returns its type (1..14), NEED_MORE (0) when
   * no whole packet is buffered, or a negative error code. ERR_TOO_LARGE reports a packet that
   * cannot fit in `buf` (pkt.type, pkt.length, and for PUBLISH pkt.qos and pkt.id, plus the topic
   * when it fits; a PUBLISH whose topic overflows the buffer is reported once its id streamed in);
   * the decoder then skips it and stays in sync. Any other error is sticky until reset().
   */
  next(): number {
    if (this.err) return this.err;
    const b = this.buf;
    let r = this.r;
    const w = this.w;
    if (this.skip) {
      const n = w - r < this.skip ? w - r : this.skip;
      this.skip -= n;
      this.r = r += n;
      if (this.skip) return NEED_MORE;
    }
    if (this.idRest) {
      // The packet id of an oversized PUBLISH, read as it streams past; the rest is skipped.
      if (w - r < 2) return NEED_MORE;
      this.pkt.id = (b[r] << 8) | b[r + 1];
      this.skip = this.idRest;
      this.idRest = 0;
      return ERR_TOO_LARGE;
    }
    if (r === w) {
      this.r = this.w = 0;
      return NEED_MORE;
    }
    const first = b[r];
    const type = first >> 4;
    const flags = first & 15;
    let e = 0;
    if (type === 0 || type === 15) e = ERR_PACKET_TYPE;
    else if (type === PUBLISH) {
      if ((flags & 6) === 6) e = ERR_QOS;
    } else if (flags !== (type === PUBREL || type === SUBSCRIBE || type === UNSUBSCRIBE ? 2 : 0)) {
      e = ERR_HEADER_FLAGS;
    }
    if (e) return (this.err = e);
    // Remaining length: at most 4 bytes.
    let rem = 0;
    let mul = 1;
    let i = r + 1;
    let d: number;
    do {
      if (i === w) return NEED_MORE;
      d = b[i++];
      rem += (d & 127) * mul;
      mul *= 128;
      if (d & 128 && i - r > 4) return (this.err = ERR_REMAINING_LENGTH);
    } while (d & 128);
    const total = i - r + rem;
    const p = this.pkt;
    const cap = b.length;
    // write() and space() make room by compacting; here only wait or report.
    if (w - r < total) return total <= cap ? NEED_MORE : this.tooLarge(type, flags, i - r, total);
    p.type = type;
    p.flags = flags;
    p.length = total;
    p.id = 0;
    this.r = r + total;
    e = this.body(p, b, type, flags, i, r + total);
    if (e < 0) this.err = e;
    return e;
  }

  /**
   * An oversized packet: wait until the buffer is full so a PUBLISH's topic and packet id can be
   * read (the client must still acknowledge it), report it, then discard it as it streams in.
   */
  private tooLarge(type: number, flags: number, hdr: number, total: number): number {
    this.compact();
    const b = this.buf;
    const have = this.w;
    if (have < b.length) return NEED_MORE;
    const p = this.pkt;
    p.type = type;
    p.flags = flags;
    p.length = total;
    p.id = 0;
    p.qos = (flags >> 1) & 3;
    p.topicLen = 0;
    if (type === PUBLISH) {
      const t = (b[hdr] << 8) | b[hdr + 1];
      const at = hdr + 2 + t;
      if (at + (p.qos ? 2 : 0) <= have) {
        p.topicOff = hdr + 2;
        p.topicLen = t;
        if (p.qos) p.id = (b[at] << 8) | b[at + 1];
      } else if (p.qos && at + 2 <= total) {
        // The topic alone overflows the buffer, but the id is still needed for the ack: keep
        // the bytes from the id on (or skip up to it) and report once it is here (next()).
        this.idRest = total - at;
        this.skip = at > have ? at - have : 0;
        this.r = at < have ? at : 0;
        this.w = at < have ? have : 0;
        return NEED_MORE;
      }
    }
    this.skip = total - have;
    this.r = this.w = 0;
    return ERR_TOO_LARGE;
  }

  private body(p: PacketView, b: Uint8Array, type: number, flags: number, i: number, end: number): number {
    const len = end - i;
    switch (type) {
      case PUBLISH: {
        const qos = (flags >> 1) & 3;
        p.qos = qos;
        p.dup = (flags & 8) !== 0;
        p.retain = (flags & 1) !== 0;
        if (len < 2) return ERR_LENGTH;
        const t = (b[i] << 8) | b[i + 1];
        let at = i + 2 + t;
        if (at + (qos ? 2 : 0) > end) return ERR_LENGTH;
        // One pass for the usual ASCII topic; full UTF-8 validation from the first byte >= 0x80.
        let wild = t === 0;
        for (let k = i + 2; k < at; k++) {
          const c = b[k];
          if (c >= 0x80) {
            if (!utf8Valid(b, k, at)) return ERR_UTF8;
            wild = wild || !topicNameValid(b, k, at);
            break;
          }
          if (c === 0) return ERR_UTF8;
          if (c === 0x2b || c === 0x23) wild = true;
        }
        if (wild) return ERR_TOPIC;
        p.topicOff = i + 2;
        p.topicLen = t;
        if (qos) {
          const id = (b[at] << 8) | b[at + 1];
          if (!id) return ERR_PACKET_ID;
          p.id = id;
          at += 2;
        }
        p.payloadOff = at;
        p.payloadLen = end - at;
        return type;
      }
      case PUBACK:
      case PUBREC:
      case PUBREL:
      case PUBCOMP:
      case UNSUBACK:
      case SUBACK: {
        if (len < 2 || (type !== SUBACK && len !== 2)) return ERR_LENGTH;
        const id = (b[i] << 8) | b[i + 1];
        if (!id) return ERR_PACKET_ID;
        p.id = id;
        if (type === SUBACK) {
          if (len === 2) return ERR_EMPTY;
          for (let k = i + 2; k < end; k++) {
            const c = b[k];
            if (c > 2 && c !== 0x80) return ERR_SUBACK_CODE;
          }
          p.listOff = i + 2;
          p.count = len - 2;
        }
        return type;
      }
      case CONNACK: {
        if (len !== 2) return ERR_LENGTH;
        if (b[i] & 0xfe) return ERR_CONNACK_FLAGS;
        if (b[i + 1] > 5) return ERR_CONNACK_CODE;
        p.sessionPresent = b[i] === 1;
        p.returnCode = b[i + 1];
        return type;
      }
      case PINGRESP:
        return len ? ERR_LENGTH : type;
    }
    // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT: broker-bound.
    return this.server ? this.server(p, b, i, end) : ERR_UNEXPECTED_TYPE;
  }
}
