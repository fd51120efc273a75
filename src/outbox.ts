// The outbox: one fixed byte ring holding every outgoing PUBLISH, encoded, from publish() until
// it is written (QoS 0) or acknowledged (PUBACK for QoS 1, PUBCOMP for QoS 2). An entry is
// [state][packet id hi][packet id lo][PUBLISH packet bytes]; entries never straddle the end of
// the ring (a WRAP marker sends the walk back to 0). Acks may come out of order: an acked entry
// becomes a DONE hole and its space returns when the head reaches it.
import { encodePublish, publishLength, type Bytes } from './codec/encode.js';
import { ERR_NO_SPACE, ERR_TOO_LONG } from './codec/errors.js';
import { ERR_OUTBOX_FULL } from './client-errors.js';

/** Acknowledged or written: a hole. */
export const S_DONE = 0;
/** Not yet sent on this connection, no packet id yet. */
export const S_NEW = 1;
/** Sent with a packet id; waiting for PUBACK (QoS 1) or PUBREC (QoS 2). */
export const S_SENT = 2;
/** QoS 2 after PUBREC: PUBREL sent, waiting for PUBCOMP. The PUBLISH bytes are kept in place. */
export const S_REL = 3;
/** The rest of the ring is unused: the next entry is at 0. */
export const S_WRAP = 4;
/** Bytes in front of each packet: state and packet id. */
export const HDR = 3;

export class Outbox {
  readonly buf: Uint8Array;
  /** Oldest entry (never a DONE one unless it is `send`). */
  head = 0;
  /** Where the next entry goes. */
  tail = 0;
  /** First entry not yet written on this connection; entries before it are in flight or done. */
  send = 0;
  /** Entries between head and tail, holes included. */
  count = 0;
  /** Entries in S_SENT or S_REL. */
  inflight = 0;
  /** Most bytes ever held at once. */
  peak = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  /** Bytes held now (holes and a wrapped tail included). */
  used(): number {
    return !this.count ? 0 : this.tail > this.head ? this.tail - this.head : this.buf.length - this.head + this.tail;
  }

  /**
   * Encodes a PUBLISH as a new entry. Returns 0, ERR_OUTBOX_FULL when it does not fit now,
   * ERR_TOO_LONG when it can never fit, or the encoder's error for invalid arguments.
   */
  push(topic: string, payload: Bytes, qos: number, retain: boolean): number {
    const b = this.buf;
    const cap = b.length;
    if (!this.count) this.head = this.tail = this.send = 0;
    const head = this.head;
    let at = this.tail;
    // Packet id 1 is a placeholder: the real one is written when the entry is sent. A wrapped
    // tail stops one byte short of the head, so tail === head only ever means empty.
    let n = encodePublish(b, at + HDR, topic, payload, qos, retain, false, 1, at > head || !this.count ? cap : head - 1);
    if (n === ERR_NO_SPACE && at > head) {
      // Does not fit before the end: try at the start, before the head.
      n = encodePublish(b, HDR, topic, payload, qos, retain, false, 1, head - 1);
      if (n > 0) {
        if (at < cap) b[at] = S_WRAP;
        // Everything was sent: `send` sat at the old tail, which is now the WRAP marker (or the
        // end of the ring). The next entry to send is the new one at 0.
        if (this.send === at) this.send = 0;
        at = 0;
      }
    }
    if (n < 0) {
      if (n !== ERR_NO_SPACE) return n;
      return HDR + publishLength(topic, payload, qos) > cap ? ERR_TOO_LONG : ERR_OUTBOX_FULL;
    }
    b[at] = S_NEW;
    b[at + 1] = b[at + 2] = 0;
    this.tail = at + HDR + n;
    this.count++;
    const u = this.used();
    if (u > this.peak) this.peak = u;
    return 0;
  }

  /** Offset of the PUBLISH packet's own length byte(s) + topic: where its packet id sits. */
  idPos(p: number): number {
    const b = this.buf;
    let i = p + HDR + 1;
    while (b[i++] & 128);
    return i + 2 + ((b[i] << 8) | b[i + 1]);
  }

  /** Length of the PUBLISH packet in the entry at p. */
  packetLen(p: number): number {
    const b = this.buf;
    let i = p + HDR + 1;
    let len = 0;
    let mul = 1;
    let d: number;
    do {
      d = b[i++];
      len += (d & 127) * mul;
      mul *= 128;
    } while (d & 128);
    return i - p - HDR + len;
  }

  /** The entry after p, following a WRAP marker or the end of the ring back to 0. */
  next(p: number): number {
    const q = p + HDR + this.packetLen(p);
    return q !== this.tail && (q === this.buf.length || this.buf[q] === S_WRAP) ? 0 : q;
  }

  /** Packet id of the entry at p. */
  id(p: number): number {
    return (this.buf[p + 1] << 8) | this.buf[p + 2];
  }

  /** Finds the in-flight entry with packet id `id` (S_SENT or S_REL), or -1. */
  find(id: number): number {
    const b = this.buf;
    for (let p = this.head; p !== this.send; p = this.next(p)) {
      if (b[p] !== S_DONE && ((b[p + 1] << 8) | b[p + 2]) === id) return p;
    }
    return -1;
  }

  /** Marks the entry at p acknowledged (or written, for QoS 0) and reclaims space at the head. */
  release(p: number): void {
    const b = this.buf;
    if (b[p] === S_SENT || b[p] === S_REL) this.inflight--;
    b[p] = S_DONE;
    this.trim();
  }

  /** Moves the head past DONE entries; an empty ring starts again at 0. */
  trim(): void {
    const b = this.buf;
    while (this.count && b[this.head] === S_DONE) {
      const q = this.next(this.head);
      if (this.send === this.head) this.send = q;
      this.head = q;
      this.count--;
    }
    if (!this.count) this.head = this.tail = this.send = 0;
  }

  /**
   * After a new CONNACK. With the session kept, everything in flight is resent in order
   * (PUBLISH with DUP, or PUBREL) [MQTT-4.4.0-1]. Without it, the broker has forgotten them:
   * unacknowledged PUBLISHes go again as new messages; a QoS 2 message past PUBREC was already
   * received by the broker, so it is done.
   */
  rewind(sessionPresent: boolean): void {
    const b = this.buf;
    this.send = this.head;
    if (sessionPresent) return;
    // Every entry, not just those before `send`: an interrupted resend leaves sent ones after it.
    for (let k = 0, p = this.head; k < this.count; k++, p = this.next(p)) {
      if (b[p] === S_SENT) {
        b[p] = S_NEW;
        b[p + HDR] &= ~8; // clear DUP
      } else if (b[p] === S_REL) {
        b[p] = S_DONE;
      }
    }
    this.inflight = 0;
    this.trim();
  }
}
