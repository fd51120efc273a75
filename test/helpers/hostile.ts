// Seeded hostile server streams for the malicious-server fuzz: a valid session prefix (CONNACK,
// SUBACKs, PUBLISHes at every QoS, acks for known and unknown ids, PINGRESP, oversized PUBLISHes)
// played reactively by the fake broker, then corrupted on the way out: bit flips, truncation,
// inserted and deleted bytes, random remaining lengths, random header bytes, garbage packets,
// duplicates, or pure random bytes from the start. Test-only: allocates freely.
import {
  PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK,
} from '../../src/index.ts';
import { pk, rawPublish, varint, type Script, type Session } from '../../host-sim/fake-broker.ts';
import { Rng } from '../../host-sim/rng.ts';

export { Rng };

/** Seed of case k, so a run replays from its seed alone. */
export function caseSeed(seed: number, k: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

const TOPICS = ['a/x', 'a/y', 'b/c/d', 'b', 'other', '$SYS/x', 'a/\u00e9'];

function id(r: Rng): number {
  // Small ids collide with the client's own (SUBSCRIBE ops 1..5, publishes from 6).
  return r.chance(0.6) ? r.range(1, 12) : r.range(1, 65535);
}

/** One valid server packet (from a plain or an odd broker). */
export function serverPacket(r: Rng, rxSize: number): Uint8Array {
  switch (r.int(11)) {
    case 0: case 1: case 2: case 3: {
      const q = r.int(3);
      if (r.chance(0.12)) return rawPublish(r.pick(TOPICS), q, id(r), r.range(rxSize, rxSize * 3), r.chance(0.2));
      return pk.publish(r.pick(TOPICS), r.bytes(r.int(40)), q, id(r), r.chance(0.2), r.chance(0.1));
    }
    case 4: return pk.ack(PUBREL, id(r));
    case 5: return pk.ack(r.pick([PUBACK, PUBREC, PUBCOMP]), id(r));
    case 6: return pk.pingresp();
    case 7: return pk.suback(r.range(1, 6), Array.from({ length: r.range(1, 3) }, () => r.pick([0, 1, 2, 0x80])));
    case 8: return pk.ack(UNSUBACK, r.range(1, 6));
    case 9: return rawPublish('t/' + 'l'.repeat(r.range(rxSize, rxSize * 2)), r.range(1, 2), id(r), r.int(20));
    default: return pk.publish('a/x', 'hello', r.int(3), id(r));
  }
}

/** A corrupted copy (or copies) of one outgoing packet; `dead` ends the stream after it. */
function mutate(r: Rng, b: Uint8Array): { out: Uint8Array[]; dead: boolean; how: string } {
  const c = b.slice();
  switch (r.int(10)) {
    case 0: {
      const n = r.range(1, 3);
      for (let k = 0; k < n; k++) c[r.int(c.length)] ^= 1 << r.int(8);
      return { out: [c], dead: false, how: 'flip' };
    }
    case 1: return { out: [b.slice(0, r.int(b.length))], dead: true, how: 'truncate' };
    case 2: {
      const at = r.int(b.length + 1);
      const ins = r.bytes(r.range(1, 8));
      const o = new Uint8Array(b.length + ins.length);
      o.set(b.subarray(0, at));
      o.set(ins, at);
      o.set(b.subarray(at), at + ins.length);
      return { out: [o], dead: false, how: 'insert' };
    }
    case 3: {
      const at = r.int(b.length);
      const n = Math.min(r.range(1, 4), b.length - at);
      const o = new Uint8Array(b.length - n);
      o.set(b.subarray(0, at));
      if (at + n < b.length) o.set(b.subarray(at + n), at);
      return { out: [o], dead: false, how: 'delete' };
    }
    case 4: return { out: [r.bytes(r.range(1, 64))], dead: r.chance(0.5), how: 'garbage' };
    case 5: {
      // A random remaining length: bigger than the packet, smaller, too many bytes, huge.
      let i = 1;
      while (i < b.length && b[i] & 128) i++;
      const len = r.pick([
        () => varint(r.int(128)), () => varint(r.int(1 << 14)), () => varint(r.int(1 << 28)),
        () => Array.from(r.bytes(r.range(1, 5))), () => [0xff, 0xff, 0xff, 0xff, r.int(256)],
      ])();
      const o = new Uint8Array(1 + len.length + Math.max(0, b.length - i - 1));
      o[0] = b[0];
      o.set(len, 1);
      o.set(b.subarray(i + 1), 1 + len.length);
      return { out: [o], dead: false, how: 'length' };
    }
    case 6: c[0] = r.int(256); return { out: [c], dead: false, how: 'header' };
    case 7: return { out: [b, b], dead: false, how: 'duplicate' };
    case 8: {
      // A packet of any type with any flags and a random body.
      const body = r.bytes(r.int(12));
      return { out: [b, Uint8Array.from([r.int(256), body.length, ...body])], dead: false, how: 'random-packet' };
    }
    default: return { out: [b.slice(0, r.int(b.length)), r.bytes(r.range(1, 300))], dead: r.chance(0.5), how: 'tail-garbage' };
  }
}

export interface Hostile {
  script: Script;
  /** What was done, for the failure message. */
  log: string[];
}

/**
 * One hostile connection. The broker answers like a plain one (CONNACK, SUBACK, acks, PINGRESP)
 * and pushes 0..8 packets of its own after CONNACK; output packet `target` (counting from the
 * CONNACK) and, less often, later ones are corrupted. One case in 20 is random bytes from the
 * first byte on.
 */
export function hostile(r: Rng, rxSize: number): Hostile {
  const log: string[] = [];
  const random = r.chance(0.05);
  const target = r.int(6);
  const later = r.f() * 0.2;
  const pushes = r.int(9);
  let n = 0;
  let dead = false;
  const filter = (b: Uint8Array): Uint8Array[] => {
    if (dead) return [];
    const k = n++;
    if (k === target || (k > target && r.chance(later))) {
      const m = mutate(r, b);
      log.push(`#${k}:${m.how}`);
      dead = m.dead;
      return m.out;
    }
    return [b];
  };
  const script: Script = {
    start: (s: Session) => {
      if (!random) s.filter = filter;
    },
    connect: (s: Session) => {
      if (random) {
        log.push('random');
        return s.send(r.bytes(r.range(1, 400)));
      }
      const rc = r.chance(0.05) ? r.range(1, 5) : 0;
      s.send(pk.connack(r.chance(0.5), rc));
      for (let k = 0; k < pushes; k++) s.send(serverPacket(r, rxSize));
    },
  };
  return { script, log };
}
