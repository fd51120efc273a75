// The outbox: one fixed byte ring holding every outgoing PUBLISH, encoded, from publish() until
// it is written (QoS 0) or acknowledged (PUBACK for QoS 1, PUBCOMP for QoS 2). An entry is
// [state][packet id hi][packet id lo][PUBLISH packet bytes]; entries never straddle the end of
// the ring (a WRAP marker sends the walk back to 0). Acks may come out of order: an acked entry
// becomes a DONE hole and its space returns when the head reaches it.
// The class holds the ring and its cursors; the operations the client calls (push, findEntry,
// release, rewind, entryId, entryEnd) are module-level functions: in the ES5 (Espruino) bundle
// each method would cost a prototype assignment.
import { encodePublish, packetSize, type Bytes } from './codec/encode.js';
import { ERR_NO_SPACE, ERR_TOO_LONG } from './codec/errors.js';
import { ERR_OUTBOX_FULL } from './client-errors.js';

/** Acknowledged or written: a hole. */
export const S_DONE = 0;
/** Not yet sent on this connection. */
export const S_NEW = 1;
/** Sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2). */
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
  head!: number;
  /** Where the next entry goes. */
  tail!: number;
  /** First entry not yet written on this connection; entries before it are in flight or done. */
  send!: number;
  /**
   * Entries not DONE: queued, in flight or waiting for PUBCOMP (the client's `queued`). The
   * head entry is never a hole, so 0 means empty.
   */
  count!: number;
  /** Entries in S_SENT or S_REL. */
  inflight!: number;
  /** Most bytes ever held at once. */
  peak!: number;

  constructor(size: number) {
    const o = this;
    this.buf = new Uint8Array(size);
    // One chained assignment, not one initializer per field (smaller code).
    o.head = o.tail = o.send = o.count = o.inflight = o.peak = 0;
  }

  /** Bytes held now (holes and a wrapped tail included). */
  used(): number {
    const o = this;
    // A wrapped tail stops one byte short of the head, so tail == head only ever means empty.
    return o.tail - o.head + (o.tail < o.head ? o.buf.length : 0);
  }

  /**
   * The entry after p, following a WRAP marker or the end of the ring back to 0. A method (the
   * one every walk goes through), so a test can watch the walks.
   */
  next(p: number): number {
    const o = this;
    const q = entryEnd(o.buf, p);
    return q != o.tail && (q == o.buf.length || o.buf[q] == S_WRAP) ? 0 : q;
  }
}

/**
 * Encodes a PUBLISH with packet id `id` (given at push, so ids follow the ring's order; QoS 0
 * entries carry one too, unsent) as a new entry of `o`. Returns 0, ERR_OUTBOX_FULL when it does not
 * fit now (or the oldest entry still holds `id`), ERR_TOO_LONG when it can never fit, or the
 * encoder's error for invalid arguments.
 */
export function push(o: Outbox, topic: string, payload: Bytes, qos: number, retain: boolean, id: number): number {
  const b = o.buf;
  const cap = b.length;
  const head = o.head;
  let at = o.tail;
  let n: number;
  // Ids are given in ring order, so the oldest entry is the first an id could collide with.
  if (o.count && entryId(b, head) == id) return ERR_OUTBOX_FULL;
  // At the tail, up to the end of the ring or (wrapped) one byte short of the head. When it
  // does not fit before the end, at 0 before the head, if the failed attempt's measure
  // (packetSize) says it fits there.
  while ((n = encodePublish(b, at + HDR, topic, payload, qos, retain, false, id, at < head ? head - 1 : cap)) == ERR_NO_SPACE
    && at > head && HDR + packetSize < head) {
    if (at < cap) b[at] = S_WRAP;
    // Everything was sent: `send` sat at the old tail, which is now the WRAP marker (or the
    // end of the ring). The next entry to send is the new one at 0.
    if (o.send == at) o.send = 0;
    at = 0;
  }
  if (n < 0) return n != ERR_NO_SPACE ? n : HDR + packetSize > cap ? ERR_TOO_LONG : ERR_OUTBOX_FULL;
  b[at] = S_NEW;
  b[at + 1] = id >> 8;
  b[at + 2] = id; // a Uint8Array keeps the low byte
  o.tail = at + HDR + n;
  o.count++;
  if ((n = o.used()) > o.peak) o.peak = n;
  return 0;
}

/** Finds the in-flight entry of `o` with packet id `id` (S_SENT or S_REL), or -1. */
export function findEntry(o: Outbox, id: number): number {
  for (let p = o.head; p != o.send; p = o.next(p)) if (o.buf[p] && entryId(o.buf, p) == id) return p;
  return -1;
}

/** Marks the entry at p (not DONE) acknowledged, or written for QoS 0, and reclaims space at the head. */
export function release(o: Outbox, p: number): void {
  if (o.buf[p] > S_NEW) o.inflight--;
  o.buf[p] = S_DONE;
  o.count--;
  trim(o);
}

/**
 * After a new CONNACK. With the session kept, everything in flight is resent in order
 * (PUBLISH with DUP, or PUBREL) [MQTT-4.4.0-1]. Without it, the broker has forgotten them:
 * unacknowledged PUBLISHes go again as new messages; a QoS 2 message past PUBREC was already
 * received by the broker, so it is done.
 */
export function rewind(o: Outbox, sessionPresent: boolean): void {
  const b = o.buf;
  o.send = o.head;
  if (sessionPresent) return;
  // Every entry, not just those before `send`: an interrupted resend leaves sent ones after it.
  for (let p = o.head; p != o.tail; p = o.next(p)) {
    if (b[p] == S_SENT) {
      b[p] = S_NEW;
      b[p + HDR] &= ~8; // clear DUP
    } else if (b[p] == S_REL) b[p] = S_DONE, o.count--;
  }
  o.inflight = 0;
  trim(o);
}

/** Packet id of the outbox entry at p in ring b. */
export function entryId(b: Uint8Array, p: number): number {
  return (b[p + 1] << 8) | b[p + 2];
}

/** Offset just past the outbox entry at p in ring b (the PUBLISH fixed header parsed). */
export function entryEnd(b: Uint8Array, p: number): number {
  let i = p + (HDR + 1);
  let n = 0;
  let m = 1;
  let d: number;
  do n += ((d = b[i++]) & 127) * m, m *= 128;
  while (d & 128);
  return n + i;
}

/**
 * Moves the head past DONE entries; an empty ring (all DONE) starts again at 0. A function, not a
 * method: smaller in both bundles.
 */
function trim(o: Outbox): void {
  // While an entry is not DONE the walk stops at or before it, never at the tail.
  while (o.count && !o.buf[o.head]) {
    const q = o.next(o.head);
    if (o.send == o.head) o.send = q;
    o.head = q;
  }
  if (!o.count) o.head = o.tail = o.send = 0;
}
