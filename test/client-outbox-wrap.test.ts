// The outbox ring wrapping while everything in it has been sent: a deterministic client-level
// regression test (fake transport, no broker). Found by client-basic's 200-message QoS 1 run
// against Aedes: `send` sat at the old tail when the next entry wrapped to 0, so the client
// walked the WRAP marker (or the end of the ring) as if it were an entry, and hung.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MqttClient, CONNECT, PUBLISH, PUBACK, CONNECTED, encodeAck } from '../src/index.ts';
import type { Transport, TransportEvents, RxSink, Clock } from '../src/index.ts';
import { Framer, type WirePacket } from './helpers/brokers.ts';
import { rxWrite } from '../src/codec/decoder.ts';

class FakeTransport implements Transport {
  rx!: RxSink;
  ev!: TransportEvents;
  out: WirePacket[] = [];
  private f = new Framer();
  open(_h: string, _p: number, rx: RxSink, ev: TransportEvents): void {
    this.rx = rx;
    this.ev = ev;
  }
  write(b: Uint8Array, off: number, len: number): number {
    this.out.push(...this.f.push(b.subarray(off, off + len)));
    return len;
  }
  close(): void {}
  feed(bytes: number[] | Uint8Array): void {
    const u = Uint8Array.from(bytes);
    assert.is(rxWrite(this.rx, u, 0, u.length), u.length);
    this.ev._readable();
  }
  puback(id: number): void {
    const b = new Uint8Array(4);
    encodeAck(b, 0, PUBACK, id);
    this.feed(b);
  }
}

const clock: Clock = { now: () => 0, set: () => 0, clear: () => {} };

// Entry = 3 header bytes + PUBLISH (2 fixed header + 2+1 topic "t" + 2 id + payload).
for (const [what, payloadLen, fill] of [
  ['a WRAP marker at the old tail', 5, 6], // 15-byte entries: 90 of 100 used, 10 left over
  ['the old tail at the very end of the ring', 10, 5], // 20-byte entries: exactly 100
] as const) {
  test(`outbox wraps while everything was sent: ${what}`, () => {
    const t = new FakeTransport();
    const c = new MqttClient(t, clock, { host: 'x', clientId: 'c', outboxSize: 100, keepalive: 0 });
    const ob = c.outbox;
    const next = ob.next.bind(ob);
    let calls = 0;
    ob.next = (p: number) => {
      if (++calls > 10000) throw new Error('the outbox walk does not end');
      return next(p);
    };
    assert.is(c.connect(), 0);
    t.ev._opened();
    t.feed([0x20, 2, 0, 0]);
    assert.is(c.state, CONNECTED);
    const pay = (i: number) => ('m' + i).padEnd(payloadLen, 'x');
    for (let i = 0; i < fill; i++) assert.is(c.publish('t', pay(i), 1), 0);
    assert.is(ob.tail, fill * (payloadLen + 10));
    assert.is(ob.send, ob.tail, 'all sent');
    const pubs = () => t.out.filter((k) => k.type === PUBLISH);
    // Acknowledge all but the last: the head moves up, leaving room at the start of the ring.
    for (const k of pubs().slice(0, fill - 1)) t.puback(k.id!);
    assert.is(c.queued, 1);
    // This one fits only at 0.
    assert.is(c.publish('t', pay(fill), 1), 0);
    assert.is(ob.tail, payloadLen + 10, 'wrapped to the start');
    assert.is(ob.send, ob.tail, 'the wrapped entry was sent');
    const last = pubs()[pubs().length - 1];
    assert.equal([last.topic, last.payload, (last.flags >> 1) & 3], ['t', pay(fill), 1]);
    assert.is(pubs().length, fill + 1);
    assert.equal(t.out.map((k) => k.type), [CONNECT, ...pubs().map(() => PUBLISH)], 'nothing but CONNECT and the PUBLISHes was written');
    for (const k of pubs().slice(fill - 1)) t.puback(k.id!);
    assert.is(c.queued, 0);
    assert.is(ob.count, 0);
    // And the ring keeps working.
    for (let i = 0; i < 3 * fill; i++) {
      assert.is(c.publish('t', pay(i), 1), 0);
      t.puback(pubs()[pubs().length - 1].id!);
    }
    assert.is(c.queued, 0);
    c.end();
  });
}

test.run();
