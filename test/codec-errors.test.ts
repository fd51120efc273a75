// Malformed input and invalid arguments: each gets its own named code, never an exception.
// mqtt-packet is more lenient than the spec here, so these cases name the spec clause instead.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as C from '../src/index.ts';
import { brokerDecoder } from '../src/codec/server.ts';
import { rxWrite } from '../src/codec/decoder.ts';

const { Decoder } = C;

/** Feeds bytes one at a time and in one chunk; both must end in the same first non-zero result. */
function decodeAll(bytes: number[], capacity = 256, broker = false): number[] {
  const results: number[][] = [];
  for (const step of [1, bytes.length || 1]) {
    const dec = broker ? brokerDecoder(capacity).decoder : new Decoder(capacity);
    const src = Uint8Array.from(bytes);
    const out: number[] = [];
    let i = 0;
    let guard = 0;
    outer: while (i < src.length) {
      i += rxWrite(dec, src, i, Math.min(src.length, i + step));
      for (let t = dec.next(); t !== 0; t = dec.next()) {
        out.push(t);
        if (t < 0 && t !== C.ERR_TOO_LARGE) break outer;
      }
      if (++guard > 1e5) throw new Error('no progress');
    }
    results.push(out);
  }
  assert.equal(results[0], results[1], 'chunking changed the result');
  return results[0];
}

const cases: [string, number[], number, boolean?][] = [
  ['reserved type 0 [MQTT-2.2.1]', [0x00, 0x00], C.ERR_PACKET_TYPE],
  ['reserved type 15', [0xf0, 0x00], C.ERR_PACKET_TYPE],
  ['PUBACK with flags 0b0001 [MQTT-2.2.2-2]', [0x41, 2, 0, 1], C.ERR_HEADER_FLAGS],
  ['PUBREL with flags 0 [MQTT-3.6.1-1]', [0x60, 2, 0, 1], C.ERR_HEADER_FLAGS],
  ['CONNACK with flags', [0x28, 2, 0, 0], C.ERR_HEADER_FLAGS],
  ['SUBSCRIBE with flags 0 [MQTT-3.8.1-1]', [0x80, 5, 0, 1, 0, 0, 0], C.ERR_HEADER_FLAGS, true],
  ['UNSUBSCRIBE with flags 0 [MQTT-3.10.1-1]', [0xa0, 4, 0, 1, 0, 0], C.ERR_HEADER_FLAGS, true],
  ['PUBLISH QoS 3 [MQTT-3.3.1-4]', [0x36, 5, 0, 1, 0x61, 0, 1], C.ERR_QOS],
  ['remaining length of 5 bytes', [0x30, 0xff, 0xff, 0xff, 0xff, 0x01], C.ERR_REMAINING_LENGTH],
  ['CONNACK remaining length 3', [0x20, 3, 0, 0, 0], C.ERR_LENGTH],
  ['CONNACK remaining length 1', [0x20, 1, 0], C.ERR_LENGTH],
  ['PUBACK remaining length 3', [0x40, 3, 0, 1, 0], C.ERR_LENGTH],
  ['PINGRESP with a body', [0xd0, 1, 0], C.ERR_LENGTH],
  ['PUBLISH topic longer than the packet', [0x30, 4, 0, 9, 0x61, 0x62], C.ERR_LENGTH],
  ['PUBLISH QoS 1 without room for the id', [0x32, 4, 0, 1, 0x61, 0], C.ERR_LENGTH],
  ['PUBLISH remaining length 1', [0x30, 1, 0], C.ERR_LENGTH],
  ['PUBLISH QoS 1 packet id 0 [MQTT-2.3.1-1]', [0x32, 5, 0, 1, 0x61, 0, 0], C.ERR_PACKET_ID],
  ['PUBACK packet id 0', [0x40, 2, 0, 0], C.ERR_PACKET_ID],
  ['PUBREC packet id 0', [0x50, 2, 0, 0], C.ERR_PACKET_ID],
  ['PUBREL packet id 0', [0x62, 2, 0, 0], C.ERR_PACKET_ID],
  ['PUBCOMP packet id 0', [0x70, 2, 0, 0], C.ERR_PACKET_ID],
  ['SUBACK packet id 0', [0x90, 3, 0, 0, 0], C.ERR_PACKET_ID],
  ['UNSUBACK packet id 0', [0xb0, 2, 0, 0], C.ERR_PACKET_ID],
  ['SUBSCRIBE packet id 0', [0x82, 6, 0, 0, 0, 1, 0x61, 0], C.ERR_PACKET_ID, true],
  ['PUBLISH topic with overlong UTF-8 [MQTT-1.5.3-1]', [0x30, 4, 0, 2, 0xc0, 0x80], C.ERR_UTF8],
  ['PUBLISH topic with a surrogate [MQTT-1.5.3-1]', [0x30, 5, 0, 3, 0xed, 0xa0, 0x80], C.ERR_UTF8],
  ['PUBLISH topic with U+0000 [MQTT-1.5.3-2]', [0x30, 3, 0, 1, 0x00], C.ERR_UTF8],
  ['PUBLISH topic truncated sequence', [0x30, 3, 0, 1, 0xe2], C.ERR_UTF8],
  ['PUBLISH empty topic [MQTT-4.7.3-1]', [0x30, 2, 0, 0], C.ERR_TOPIC],
  ['PUBLISH topic with wildcard [MQTT-3.3.2-2]', [0x30, 4, 0, 2, 0x61, 0x23], C.ERR_TOPIC],
  ['PUBLISH topic with a stray continuation byte', [0x30, 3, 0, 1, 0x80], C.ERR_UTF8],
  ['PUBLISH topic with a 0xf5 lead (past U+10FFFF)', [0x30, 6, 0, 4, 0xf5, 0x80, 0x80, 0x80], C.ERR_UTF8],
  // The topic's own bytes only: the packet id after it must not complete a cut sequence.
  ['PUBLISH QoS 1 topic cut before id bytes that look like continuations', [0x32, 5, 0, 1, 0xe2, 0x82, 0x82], C.ERR_UTF8],
  // A topic with a wildcard and bad UTF-8 is a UTF-8 fault, wherever the wildcard stands.
  ['PUBLISH topic with a wildcard, then U+0000', [0x30, 5, 0, 3, 0x2b, 0x61, 0x00], C.ERR_UTF8],
  ['PUBLISH topic with a wildcard, then a cut sequence', [0x30, 4, 0, 2, 0x23, 0xe2], C.ERR_UTF8],
  ['CONNACK reserved flag bits [MQTT-3.2.2-1]', [0x20, 2, 2, 0], C.ERR_CONNACK_FLAGS],
  ['CONNACK return code 6', [0x20, 2, 0, 6], C.ERR_CONNACK_CODE],
  ['SUBACK return code 3 [MQTT-3.9.3-2]', [0x90, 3, 0, 1, 3], C.ERR_SUBACK_CODE],
  ['SUBACK return code 0x81', [0x90, 4, 0, 1, 0, 0x81], C.ERR_SUBACK_CODE],
  ['SUBACK with no return codes', [0x90, 2, 0, 1], C.ERR_EMPTY],
  ['CONNECT at a client', [0x10, 0], C.ERR_UNEXPECTED_TYPE],
  ['SUBSCRIBE at a client', [0x82, 6, 0, 1, 0, 1, 0x61, 0], C.ERR_UNEXPECTED_TYPE],
  ['PINGREQ at a client', [0xc0, 0], C.ERR_UNEXPECTED_TYPE],
  ['DISCONNECT at a client', [0xe0, 0], C.ERR_UNEXPECTED_TYPE],
  ['CONNECT protocol name MQIsdp [MQTT-3.1.2-1]', [0x10, 12, 0, 6, 77, 81, 73, 115, 100, 112, 3, 2, 0, 60], C.ERR_PROTOCOL, true],
  ['CONNECT protocol level 5 [MQTT-3.1.2-2]', [0x10, 12, 0, 4, 77, 81, 84, 84, 5, 2, 0, 60, 0, 0], C.ERR_PROTOCOL, true],
  ['CONNECT reserved flag [MQTT-3.1.2-3]', [0x10, 12, 0, 4, 77, 81, 84, 84, 4, 3, 0, 60, 0, 0], C.ERR_CONNECT_FLAGS, true],
  ['CONNECT will QoS without will flag [MQTT-3.1.2-13]', [0x10, 12, 0, 4, 77, 81, 84, 84, 4, 0x0a, 0, 60, 0, 0], C.ERR_CONNECT_FLAGS, true],
  ['CONNECT password without user name [MQTT-3.1.2-22]', [0x10, 15, 0, 4, 77, 81, 84, 84, 4, 0x42, 0, 60, 0, 0, 0, 1, 0x70], C.ERR_CONNECT_FLAGS, true],
  ['CONNECT will QoS 3 [MQTT-3.1.2-14]', [0x10, 12, 0, 4, 77, 81, 84, 84, 4, 0x1e, 0, 60, 0, 0], C.ERR_QOS, true],
  ['CONNECT client id overruns', [0x10, 12, 0, 4, 77, 81, 84, 84, 4, 2, 0, 60, 0, 5], C.ERR_LENGTH, true],
  ['CONNECT trailing bytes', [0x10, 13, 0, 4, 77, 81, 84, 84, 4, 2, 0, 60, 0, 0, 9], C.ERR_LENGTH, true],
  ['SUBSCRIBE requested QoS 3 [MQTT-3.8.3-4]', [0x82, 6, 0, 1, 0, 1, 0x61, 3], C.ERR_SUBSCRIBE_QOS, true],
  ['SUBSCRIBE reserved bits in QoS byte', [0x82, 6, 0, 1, 0, 1, 0x61, 0x41], C.ERR_SUBSCRIBE_QOS, true],
  ['SUBSCRIBE with no filters [MQTT-3.8.3-3]', [0x82, 2, 0, 1], C.ERR_EMPTY, true],
  ['UNSUBSCRIBE with no filters [MQTT-3.10.3-2]', [0xa2, 2, 0, 1], C.ERR_EMPTY, true],
  ['SUBSCRIBE filter missing its QoS byte', [0x82, 5, 0, 1, 0, 1, 0x61], C.ERR_LENGTH, true],
  ['PINGREQ with a body', [0xc0, 1, 0], C.ERR_LENGTH, true],
];

for (const [name, bytes, code, broker] of cases) {
  test(`decode: ${name} → ${C.codecErrorName(code)}`, () => {
    const out = decodeAll(bytes, 256, broker);
    assert.equal(out, [code]);
  });
}

test('every error code has a distinct name', () => {
  const codes = Object.entries(C).filter(([k, v]) => /^ERR_/.test(k) && typeof v === 'number');
  assert.ok(codes.length >= 20);
  const names = new Set(codes.map(([, v]) => C.codecErrorName(v as number)));
  assert.is(names.size, codes.length);
  for (const [k, v] of codes) assert.is(C.codecErrorName(v as number), k);
});

test('the view is the decoder; every packet sets the header fields, and topicLen is 0 without a topic', () => {
  const dec = new Decoder(64);
  assert.is(dec.pkt, dec as C.PacketView);
  const buf = new Uint8Array(64);
  const n = C.encodePublish(buf, 0, 'a/b', 'hi', 2, true, true, 513);
  buf.set([0x62, 2, 0, 7, 0x20, 2, 1, 0], n); // PUBREL id 7, CONNACK session present, accepted
  rxWrite(dec, buf, 0, n + 8);
  assert.is(dec.next(), C.PUBLISH);
  assert.equal([dec.qos, dec.dup, dec.retain, dec.id, dec.topicLen, dec.payloadLen], [2, true, true, 513, 3, 2]);
  assert.is(dec.next(), C.PUBREL);
  assert.equal([dec.type, dec.flags, dec.qos, dec.dup, dec.retain, dec.id, dec.topicLen], [C.PUBREL, 2, 1, false, false, 7, 0]);
  assert.is(dec.next(), C.CONNACK);
  assert.equal([dec.length, dec.qos, dec.id, dec.topicLen, dec.sessionPresent, dec.returnCode], [4, 0, 0, 0, true, 0]);
  assert.is(dec.next(), 0);
});

test('errors are sticky until reset; reset resumes', () => {
  const dec = new Decoder(64);
  const src = Uint8Array.from([0x40, 2, 0, 0, 0xd0, 0]);
  rxWrite(dec, src, 0, src.length);
  assert.is(dec.next(), C.ERR_PACKET_ID);
  assert.is(dec.next(), C.ERR_PACKET_ID);
  dec.reset();
  const ok = Uint8Array.from([0xd0, 0]);
  rxWrite(dec, ok, 0, 2);
  assert.is(dec.next(), C.PINGRESP);
  assert.is(dec.next(), 0);
});

/** Feeds `src` to a Decoder of `capacity` bytes, `step` bytes at a time; `each` sees every result with the view. */
function inSteps(src: Uint8Array, capacity: number, step: number, each: (t: number, p: C.PacketView) => void): number[] {
  const dec = new Decoder(capacity);
  const seen: number[] = [];
  for (let i = 0; i < src.length;) {
    i += rxWrite(dec, src, i, Math.min(src.length, i + step));
    for (let t = dec.next(); t; t = dec.next()) seen.push(t), each(t, dec.pkt);
  }
  return seen;
}

test('a packet larger than the buffer is reported with its size and id, skipped, and sync kept', () => {
  const big = new Uint8Array(1000);
  const payload = new Uint8Array(500).fill(7);
  const n = C.encodePublish(big, 0, 'a/b', payload, 1, false, false, 777);
  const m = C.encodeAck(big, n, C.PUBACK, 9);
  for (const step of [1, 7, 64, n + m]) {
    const seen = inSteps(big.subarray(0, n + m), 64, step, (t, p) => {
      if (t === C.ERR_TOO_LARGE) {
        assert.is(p.type, C.PUBLISH);
        assert.is(p.length, n);
        assert.is(p.id, 777);
        assert.is(p.qos, 1);
      } else assert.is(p.id, 9);
    });
    assert.equal(seen, [C.ERR_TOO_LARGE, C.PUBACK], `step ${step}`);
  }
});

test('an oversized PUBLISH whose topic alone overflows the buffer is still reported with its packet id', () => {
  // Topic lengths that end before, on, and across the buffer end (64), and far past it.
  for (const tlen of [61, 62, 63, 64, 100, 3000]) {
    const big = new Uint8Array(4000);
    const n = C.encodePublish(big, 0, 't'.repeat(tlen), new Uint8Array(20).fill(7), 2, false, false, 4321);
    const m = C.encodeAck(big, n, C.PUBREL, 9);
    for (const step of [1, 3, 64, 65, n + m]) {
      const seen = inSteps(big.subarray(0, n + m), 64, step, (t, p) => {
        if (t === C.ERR_TOO_LARGE) {
          assert.is(p.type, C.PUBLISH);
          assert.is(p.length, n);
          assert.is(p.qos, 2);
          assert.is(p.id, 4321, `topic ${tlen}, step ${step}`);
        } else assert.is(p.id, 9);
      });
      assert.equal(seen, [C.ERR_TOO_LARGE, C.PUBREL], `topic ${tlen}, step ${step}`);
    }
  }
});

test('encode: invalid arguments give named codes and write nothing outside the packet space', () => {
  const b = new Uint8Array(64).fill(0xaa);
  // Publish may use its packet space [off, end) before it finds a bad topic; beyond it, nothing.
  const same = () => assert.ok(b.subarray(32).every((x) => x === 0xaa), 'wrote past end');
  const pub = (t: string, q: number, id: number) => C.encodePublish(b, 0, t, 'x', q, false, false, id, 32);
  assert.is(pub('a/+', 0, 0), C.ERR_TOPIC); same();
  assert.is(pub('a/#', 0, 0), C.ERR_TOPIC); same();
  assert.is(pub('', 0, 0), C.ERR_TOPIC); same();
  assert.is(pub('a\u0000', 0, 0), C.ERR_UTF8); same();
  assert.is(pub('a\ud800', 0, 0), C.ERR_UTF8); same();
  assert.is(pub('a\udc00b', 0, 0), C.ERR_UTF8); same();
  assert.is(pub('é/+', 0, 0), C.ERR_TOPIC); same();
  assert.is(pub('a', 3, 1), C.ERR_QOS); same();
  assert.is(pub('a', -1, 1), C.ERR_QOS); same();
  // QoS is checked strictly: no coercion, no fractions, nothing above 2 or below 0.
  for (const q of [NaN, 0.5, 2.5, 4, 7, -0.5, -4, 2 ** 32 + 1, Infinity, '1', true, null, undefined] as unknown as number[]) {
    assert.is(pub('a', q, 1), C.ERR_QOS, `qos ${String(q)}`); same();
    assert.is(C.encodeSubscribe(b, 32, 1, ['a'], [q]), C.ERR_QOS, `subscribe qos ${String(q)}`); same();
  }
  for (const q of [0, 1, 2, -0]) assert.ok(pub('a', q, 1) > 0, `qos ${q} is valid`);
  b.fill(0xaa);
  assert.is(pub('a', 1, 0), C.ERR_PACKET_ID); same();
  assert.is(pub('a', 2, 65536), C.ERR_PACKET_ID); same();
  assert.is(pub('a', 1, 1.5), C.ERR_PACKET_ID); same();
  assert.is(C.encodePublish(b, 0, 'x'.repeat(65536), 'x', 0, false, false, 0), C.ERR_TOO_LONG);
  b.fill(0xaa);
  const none = () => assert.ok(b.every((x) => x === 0xaa), 'buffer was written');
  assert.is(C.encodeAck(b, 0, C.PUBACK, 0), C.ERR_PACKET_ID); none();
  assert.is(C.encodeSubscribe(b, 0, 1, [], []), C.ERR_EMPTY); none();
  assert.is(C.encodeSubscribe(b, 0, 1, ['a/b#'], [0]), C.ERR_TOPIC); none();
  assert.is(C.encodeSubscribe(b, 0, 1, ['a'], [3]), C.ERR_QOS); none();
  assert.is(C.encodeUnsubscribe(b, 0, 0, ['a']), C.ERR_PACKET_ID); none();
  assert.is(C.encodeConnect(b, 0, { clientId: 'c', keepalive: 65536 }), C.ERR_ARG); none();
  assert.is(C.encodeConnect(b, 0, { clientId: 'c', password: 'p' }), C.ERR_ARG); none();
  assert.is(C.encodeConnect(b, 0, { clientId: 'c', will: { topic: 'a/+', payload: '' } }), C.ERR_TOPIC); none();
  assert.is(C.encodeConnect(b, 0, { clientId: 'c', will: { topic: 't', payload: '', qos: 3 } }), C.ERR_QOS); none();
  assert.is(C.encodeConnect(b, 0, { clientId: 'c\u0000' }), C.ERR_UTF8); none();
});

test('encode: every space too small by any amount gives ERR_NO_SPACE and writes nothing past it', () => {
  const makers: ((b: Uint8Array, off: number, end: number) => number)[] = [
    (b, o, e) => C.encodePublish(b, o, 'home/€/🌡', 'payload ✓', 2, true, true, 300, e),
    (b, o, e) => C.encodePublish(b, o, 'home/ascii/topic', new Uint8Array(200).fill(3), 1, false, false, 7, e),
    (b, o) => C.encodeConnect(b, o, { clientId: 'dev-1', username: 'u', password: 'secret', will: { topic: 's', payload: 'offline', qos: 1, retain: true } }),
    (b, o) => C.encodeSubscribe(b, o, 5, ['a/+/c', '#', '$SYS/x'], [0, 1, 2]),
    (b, o) => C.encodeUnsubscribe(b, o, 5, ['a/+/c', '#']),
    (b, o) => C.encodeAck(b, o, C.PUBREL, 65535),
    (b, o) => C.encodeEmpty(b, o, C.PINGREQ),
  ];
  for (const make of makers) {
    const full = make(new Uint8Array(512), 3, 512);
    assert.ok(full > 0);
    for (let size = 3; size < 3 + full; size++) {
      // The buffer ends at `size`; a longer one with `end` = size must keep its tail untouched.
      const b = new Uint8Array(size).fill(0xaa);
      assert.is(make(b, 3, size), C.ERR_NO_SPACE, `size ${size}`);
      const big = new Uint8Array(size + 300).fill(0xaa);
      const r = make(big, 3, size);
      if (make.length === 3) {
        assert.is(r, C.ERR_NO_SPACE);
        assert.ok(big.subarray(size).every((x) => x === 0xaa), 'wrote past end');
      }
    }
    assert.is(make(new Uint8Array(3 + full), 3, 3 + full), full);
  }
});

test('UTF-8 encode matches Node for random strings, including surrogate pairs', () => {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const pools = [[0x01, 0x7f], [0x80, 0x7ff], [0x800, 0xd7ff], [0xe000, 0xffff], [0x10000, 0x10ffff]];
  const b = new Uint8Array(1024);
  for (let n = 0; n < 5000; n++) {
    let s = '';
    const len = Math.floor(rnd() * 20);
    for (let k = 0; k < len; k++) {
      const [lo, hi] = pools[Math.floor(rnd() * pools.length)];
      s += String.fromCodePoint(lo + Math.floor(rnd() * (hi - lo + 1)));
    }
    const ref = Buffer.from(s, 'utf8');
    assert.is(C.utf8Length(s, C.PLAIN), ref.length);
    const end = C.utf8Write(b, 0, s);
    assert.ok(Buffer.from(b.subarray(0, end)).equals(ref));
    assert.ok(C.utf8Valid(b, 0, end));
    assert.ok(C.utf8Equals(b, 0, end, s));
    assert.is(C.utf8Decode(b, 0, end), s);
    if (s.length) {
      assert.not.ok(C.utf8Equals(b, 0, end, s.slice(0, -1)));
      assert.not.ok(C.utf8Equals(b, 0, end - 1, s));
      assert.not.ok(C.utf8Equals(b, 0, end, s + 'a'));
    }
  }
});

test('UTF-8 validation agrees with a fatal TextDecoder (minus U+0000) on random bytes', () => {
  const td = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let seed = 99;
  const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const b = new Uint8Array(8);
  let valid = 0;
  for (let n = 0; n < 200000; n++) {
    const len = 1 + Math.floor(rnd() * 6);
    for (let k = 0; k < len; k++) {
      // Bias toward lead and continuation bytes so multi-byte forms are common.
      const r = rnd();
      b[k] = r < 0.3 ? Math.floor(rnd() * 128) : r < 0.6 ? 0x80 + Math.floor(rnd() * 64) : 0xc0 + Math.floor(rnd() * 64);
    }
    let expect = true;
    try { expect = !td.decode(b.subarray(0, len)).includes('\u0000'); } catch { expect = false; }
    if (expect) valid++;
    assert.is(C.utf8Valid(b, 0, len), expect, Buffer.from(b.subarray(0, len)).toString('hex'));
  }
  assert.ok(valid > 1000, 'the generator must produce valid sequences too');
});

test('utf8Decode: any valid UTF-8 (U+0000 too) exactly as TextDecoder; other bytes never throw', () => {
  const td = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let seed = 7;
  const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const b = new Uint8Array(10);
  let valid = 0;
  for (let n = 0; n < 100000; n++) {
    const len = Math.floor(rnd() * 8);
    for (let k = 0; k < len; k++) {
      const r = rnd();
      b[k] = r < 0.3 ? Math.floor(rnd() * 128) : r < 0.6 ? 0x80 + Math.floor(rnd() * 64) : 0xc0 + Math.floor(rnd() * 64);
    }
    // Bytes past `len` that would complete a cut sequence must not be read.
    b[len] = 0x80;
    let ref: string | undefined;
    try { ref = td.decode(b.subarray(0, len)); } catch { ref = undefined; }
    const got = C.utf8Decode(b, 0, len);
    assert.type(got, 'string');
    if (ref !== undefined) { valid++; assert.is(got, ref, Buffer.from(b.subarray(0, len)).toString('hex')); }
  }
  assert.ok(valid > 1000);
  // A lead byte without its continuation bytes is U+FFFD, and the byte after it is kept.
  assert.is(C.utf8Decode(Uint8Array.from([0x61, 0xe2, 0x82, 0x62, 0x00, 0xe2]), 0, 6), 'a\ufffdb\u0000\ufffd');
  assert.is(C.utf8Decode(Uint8Array.from([0x80, 0x63]), 0, 2), '\ufffdc');
});

test('UTF-8: named invalid forms [MQTT-1.5.3-1..2]', () => {
  const bad = [[0xc0, 0x80], [0xc1, 0xbf], [0xe0, 0x80, 0x80], [0xe0, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf],
    [0xf0, 0x80, 0x80, 0x80], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff],
    [0x80], [0xbf], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0x00], [0x61, 0x00, 0x62]];
  for (const seq of bad) assert.not.ok(C.utf8Valid(Uint8Array.from(seq), 0, seq.length), seq.join(','));
  const good = [[0xc2, 0x80], [0xe0, 0xa0, 0x80], [0xed, 0x9f, 0xbf], [0xee, 0x80, 0x80], [0xf0, 0x90, 0x80, 0x80], [0xf4, 0x8f, 0xbf, 0xbf], [0x7f]];
  for (const seq of good) assert.ok(C.utf8Valid(Uint8Array.from(seq), 0, seq.length), seq.join(','));
});

test('topic filters: wildcards only as whole levels, # last', () => {
  const ok = ['#', '+', 'a/+', '+/b', 'a/+/c', 'a/#', '+/+/#', '/', '//', 'a//b', '$SYS/#', 'sport/tennis/+'];
  const bad = ['', 'a+', 'a/b+', '+a', 'a/#/b', '#/a', 'a#', 'a/b#', '++', '##', 'a/+b/c'];
  for (const f of ok) assert.ok(C.utf8Length(f, C.TOPIC_FILTER) >= 0, f);
  for (const f of bad) assert.is(C.utf8Length(f, C.TOPIC_FILTER), C.ERR_TOPIC, f);
  for (const f of ok) if (/[+#]/.test(f)) assert.is(C.utf8Length(f, C.TOPIC_NAME), C.ERR_TOPIC, f);
});

test.run();
