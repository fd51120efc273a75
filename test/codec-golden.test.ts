// Golden cases against mqtt-packet: the bytes are computed here by mqtt-packet's `generate`
// (never hard-coded), then (1) our encoder must produce the same bytes and (2) our decoder must
// read them into the same fields as mqtt-packet's `parse`. The whole set is then decoded again as
// one stream: in one chunk, one byte at a time and in 7-byte chunks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buffer } from 'node:buffer';
import {
  Decoder, MIN_CAPACITY, ERR_UNEXPECTED_TYPE, codecErrorName, varintSize,
} from '../src/index.ts';
import { brokerDecoder } from '../src/codec/server.ts';
import {
  BROKER_BOUND, encodeWithOurs, feed, firstDiff, hex, mqttGenerate, mqttParse, plainBytes, typeOf,
} from './helpers/oracle.ts';
import type { GenPacket, QoS, Result } from './helpers/oracle.ts';

const EMOJI = '😀'; // U+1F600: 4 bytes, a surrogate pair in JS
const CLEF = '𝄞'; // U+1D11E: 4 bytes
const TWO = 'é'; // U+00E9: 2 bytes
const THREE = '€'; // U+20AC: 3 bytes

/** Every byte value once. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** PUBLISH with topic "t" whose remaining length is exactly `rem`. */
function publishRem(rem: number, qos: QoS): GenPacket {
  const payload = Buffer.alloc(rem - 3 - (qos ? 2 : 0));
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 255;
  return { cmd: 'publish', topic: 't', payload, qos, retain: false, dup: false, messageId: qos ? 4242 : undefined };
}

interface Case {
  name: string;
  packet: GenPacket;
  /** Expected remaining length, when the case is about a varint boundary. */
  rem?: number;
}

const connect = (over: Partial<Extract<GenPacket, { cmd: 'connect' }>>): GenPacket => ({
  cmd: 'connect', clientId: 'client-1', clean: true, keepalive: 60, ...over,
});
const publish = (over: Partial<Extract<GenPacket, { cmd: 'publish' }>>): GenPacket => ({
  cmd: 'publish', topic: 'a/b', payload: 'hello', qos: 0, retain: false, dup: false, ...over,
});

const cases: Case[] = [
  // CONNECT
  { name: 'connect: minimal, clean', packet: connect({}) },
  { name: 'connect: empty client id, clean', packet: connect({ clientId: '' }) },
  { name: 'connect: clean false', packet: connect({ clean: false }) },
  { name: 'connect: keepalive 0', packet: connect({ keepalive: 0 }) },
  { name: 'connect: keepalive 65535', packet: connect({ keepalive: 65535 }) },
  { name: 'connect: keepalive 256', packet: connect({ keepalive: 256 }) },
  { name: 'connect: username and password', packet: connect({ username: 'user', password: 'secret' }) },
  { name: 'connect: username only', packet: connect({ username: 'user' }) },
  { name: 'connect: empty username and empty password', packet: connect({ username: '', password: '' }) },
  {
    name: 'connect: binary password (Buffer)',
    packet: connect({ username: 'u', password: Buffer.from([0, 255, 128, 0xc3, 0x28, 0xed, 0xa0, 0x80]) }),
  },
  {
    name: 'connect: binary password (plain Uint8Array)',
    packet: connect({ username: 'u', password: plainBytes(ALL_BYTES) }),
  },
  { name: 'connect: will qos 0', packet: connect({ will: { topic: 'w/t', payload: 'bye', qos: 0, retain: false } }) },
  { name: 'connect: will qos 1', packet: connect({ will: { topic: 'w/t', payload: 'bye', qos: 1, retain: false } }) },
  { name: 'connect: will qos 2', packet: connect({ will: { topic: 'w/t', payload: 'bye', qos: 2, retain: false } }) },
  { name: 'connect: will qos 0 retain', packet: connect({ will: { topic: 'w/t', payload: 'bye', qos: 0, retain: true } }) },
  { name: 'connect: will qos 1 retain', packet: connect({ will: { topic: 'w/t', payload: 'bye', qos: 1, retain: true } }) },
  {
    name: 'connect: will qos 2 retain, username, password, clean false',
    packet: connect({
      clean: false, keepalive: 30, username: 'user', password: 'pw',
      will: { topic: 'status/dev', payload: 'offline', qos: 2, retain: true },
    }),
  },
  { name: 'connect: will with empty payload', packet: connect({ will: { topic: 'w', payload: '', qos: 1, retain: false } }) },
  {
    name: 'connect: will with binary payload',
    packet: connect({ will: { topic: 'w', payload: plainBytes(ALL_BYTES), qos: 0, retain: false } }),
  },
  {
    name: 'connect: non-ASCII will topic and payload',
    packet: connect({ will: { topic: `dev/${EMOJI}/${THREE}`, payload: `${TWO}${CLEF}`, qos: 1, retain: true } }),
  },
  { name: 'connect: non-ASCII client id and username', packet: connect({ clientId: `id-${TWO}${THREE}${EMOJI}`, username: `ü${CLEF}` }) },
  { name: 'connect: 200-byte client id (2-byte remaining length)', packet: connect({ clientId: 'x'.repeat(200) }) },

  // CONNACK: each return code, session present
  ...[0, 1, 2, 3, 4, 5].map((rc): Case => ({
    name: `connack: return code ${rc}`, packet: { cmd: 'connack', sessionPresent: false, returnCode: rc },
  })),
  { name: 'connack: session present', packet: { cmd: 'connack', sessionPresent: true, returnCode: 0 } },

  // PUBLISH: flags
  { name: 'publish: qos 0', packet: publish({}) },
  { name: 'publish: qos 1', packet: publish({ qos: 1, messageId: 1 }) },
  { name: 'publish: qos 2, id 65535', packet: publish({ qos: 2, messageId: 65535 }) },
  { name: 'publish: qos 0 retain', packet: publish({ retain: true }) },
  { name: 'publish: qos 1 retain', packet: publish({ qos: 1, retain: true, messageId: 256 }) },
  { name: 'publish: qos 1 dup', packet: publish({ qos: 1, dup: true, messageId: 255 }) },
  { name: 'publish: qos 2 dup retain', packet: publish({ qos: 2, dup: true, retain: true, messageId: 0x1234 }) },
  { name: 'publish: empty payload, qos 0', packet: publish({ payload: '' }) },
  { name: 'publish: empty payload, qos 2', packet: publish({ payload: Buffer.alloc(0), qos: 2, messageId: 7 }) },
  { name: 'publish: empty retained payload (clears retained)', packet: publish({ payload: '', retain: true }) },
  // PUBLISH: topics
  { name: 'publish: topic with 2-byte characters', packet: publish({ topic: `caf${TWO}/ñandú/Ω` }) },
  { name: 'publish: topic with 3-byte characters', packet: publish({ topic: `温度/${THREE}/ｱ` }) },
  { name: 'publish: topic with 4-byte characters', packet: publish({ topic: `${EMOJI}/${CLEF}/🌡️` }) },
  { name: 'publish: topic mixing 1-4 byte characters', packet: publish({ topic: `a${TWO}${THREE}${EMOJI}z`, qos: 1, messageId: 9 }) },
  { name: 'publish: topic U+FEFF, U+FFFF and U+10FFFF', packet: publish({ topic: '\uFEFF/\uFFFF/\u{10FFFF}' }) },
  { name: 'publish: topic with control and DEL characters', packet: publish({ topic: '\u0001/\u001f/\u007f/\u0080' }) },
  { name: 'publish: topic "/"', packet: publish({ topic: '/' }) },
  { name: 'publish: topic "$SYS/broker/uptime"', packet: publish({ topic: '$SYS/broker/uptime' }) },
  { name: 'publish: topic with spaces and empty levels', packet: publish({ topic: ' a //b / ' }) },
  // PUBLISH: payload kinds
  { name: 'publish: string payload with 4-byte characters', packet: publish({ payload: `${EMOJI}${CLEF}${TWO}${THREE}!` }) },
  { name: 'publish: Buffer payload', packet: publish({ payload: Buffer.from(`${EMOJI}${CLEF}${TWO}${THREE}!`) }) },
  { name: 'publish: plain Uint8Array payload', packet: publish({ payload: plainBytes(Buffer.from(`${EMOJI}${CLEF}${TWO}${THREE}!`)) }) },
  { name: 'publish: payload with every byte value', packet: publish({ payload: plainBytes(ALL_BYTES), qos: 1, messageId: 3 }) },
  // PUBLISH: remaining length boundaries (1/2/3/4-byte varints)
  ...[127, 128, 16383, 16384, 2097151, 2097152].map((rem): Case => ({
    name: `publish: remaining length ${rem}`, packet: publishRem(rem, 0), rem,
  })),
  ...[127, 128, 16383, 16384].map((rem): Case => ({
    name: `publish: remaining length ${rem}, qos 1`, packet: publishRem(rem, 1), rem,
  })),
  { name: 'publish: topic of 65535 bytes', packet: publish({ topic: 'x'.repeat(65535), payload: 'p' }) },

  // Acks
  { name: 'puback', packet: { cmd: 'puback', messageId: 1 } },
  { name: 'puback: id 65535', packet: { cmd: 'puback', messageId: 65535 } },
  { name: 'pubrec', packet: { cmd: 'pubrec', messageId: 256 } },
  { name: 'pubrel', packet: { cmd: 'pubrel', messageId: 255 } },
  { name: 'pubrel: id 65535', packet: { cmd: 'pubrel', messageId: 65535 } },
  { name: 'pubcomp', packet: { cmd: 'pubcomp', messageId: 0x8001 } },

  // SUBSCRIBE
  { name: 'subscribe: one filter qos 0', packet: { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b', qos: 0 }] } },
  {
    name: 'subscribe: filters with qos 0, 1, 2 and wildcards',
    packet: {
      cmd: 'subscribe', messageId: 513,
      subscriptions: [{ topic: 'a/+/c', qos: 0 }, { topic: 'sensors/#', qos: 1 }, { topic: '#', qos: 2 }, { topic: '+', qos: 1 }],
    },
  },
  {
    name: 'subscribe: non-ASCII filters',
    packet: {
      cmd: 'subscribe', messageId: 65535,
      subscriptions: [{ topic: `${EMOJI}/+/${THREE}`, qos: 2 }, { topic: `${TWO}/${CLEF}/#`, qos: 0 }],
    },
  },
  {
    name: 'subscribe: 40 filters (2-byte remaining length)',
    packet: {
      cmd: 'subscribe', messageId: 77,
      subscriptions: Array.from({ length: 40 }, (_, i) => ({ topic: `room/${i}/+`, qos: (i % 3) as QoS })),
    },
  },
  { name: 'subscribe: "+/+" and "/#"', packet: { cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: '+/+', qos: 1 }, { topic: '/#', qos: 2 }] } },

  // SUBACK
  { name: 'suback: [0]', packet: { cmd: 'suback', messageId: 1, granted: [0] } },
  { name: 'suback: [0, 1, 2, 0x80]', packet: { cmd: 'suback', messageId: 513, granted: [0, 1, 2, 0x80] } },
  { name: 'suback: [0x80]', packet: { cmd: 'suback', messageId: 65535, granted: [0x80] } },
  {
    name: 'suback: 200 codes (2-byte remaining length)',
    packet: { cmd: 'suback', messageId: 300, granted: Array.from({ length: 200 }, (_, i) => [0, 1, 2, 0x80][i % 4]) },
  },

  // UNSUBSCRIBE / UNSUBACK
  { name: 'unsubscribe: one filter', packet: { cmd: 'unsubscribe', messageId: 1, unsubscriptions: ['a/b'] } },
  {
    name: 'unsubscribe: several filters, non-ASCII',
    packet: { cmd: 'unsubscribe', messageId: 4000, unsubscriptions: ['a/+/c', '#', `${EMOJI}/${TWO}/#`, `${THREE}`] },
  },
  { name: 'unsuback', packet: { cmd: 'unsuback', messageId: 1 } },
  { name: 'unsuback: id 65535', packet: { cmd: 'unsuback', messageId: 65535 } },

  // Empty packets
  { name: 'pingreq', packet: { cmd: 'pingreq' } },
  { name: 'pingresp', packet: { cmd: 'pingresp' } },
  { name: 'disconnect', packet: { cmd: 'disconnect' } },
];

/** Bytes of every case, computed once by mqtt-packet. */
const golden = cases.map((c) => mqttGenerate(c.packet));
const maxLen = golden.reduce((m, b) => Math.max(m, b.length), 0);
const scratch = new Uint8Array(maxLen + 16);

function describe(r: Result): string {
  return r.code > 0 ? `type ${r.code}` : codecErrorName(r.code);
}

function checkOne(results: Result[], expected: Record<string, unknown>, type: number, what: string): void {
  assert.is(results.length, 1, `${what}: results ${results.map(describe).join(', ')}`);
  assert.is(results[0].code, type, `${what}: got ${describe(results[0])}`);
  const d = firstDiff(results[0].packet, expected);
  assert.ok(d === null, `${what}: ours vs mqtt-packet differ at ${d}`);
}

test('golden: at least 60 cases, all 14 packet types', () => {
  assert.ok(cases.length >= 60, `${cases.length} cases`);
  const types = new Set(cases.map((c) => typeOf(c.packet.cmd)));
  assert.is(types.size, 14);
  assert.is(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
});

cases.forEach((c, k) => {
  test(`golden: ${c.name}`, () => {
    const bytes = golden[k];
    const type = typeOf(c.packet.cmd);
    assert.is(bytes[0] >> 4, type);
    if (c.rem !== undefined) {
      const hdr = c.rem < 128 ? 1 : c.rem < 16384 ? 2 : c.rem < 2097152 ? 3 : 4;
      assert.is(bytes.length, 1 + hdr + c.rem, 'remaining length of the generated packet');
    }

    // 1. Our encoder writes the same bytes (at a non-zero offset, into a buffer with slack).
    scratch.fill(0xee);
    const n = encodeWithOurs(c.packet, scratch, 5);
    assert.ok(n > 0, `encoder returned ${codecErrorName(n)}`);
    assert.is(n, bytes.length, 'encoded length');
    assert.ok(Buffer.compare(scratch.subarray(5, 5 + n), bytes) === 0,
      `encoded bytes differ:\n ours ${hex(scratch.subarray(5, 5 + n), 64)}\n ref  ${hex(bytes, 64)}`);
    assert.is(scratch[4], 0xee, 'no write before off');
    assert.is(scratch[5 + n], 0xee, 'no write past the packet');
    // With exactly the space it needs, and one byte less.
    const exact = new Uint8Array(n);
    assert.is(encodeWithOurs(c.packet, exact, 0), n);
    assert.ok(Buffer.compare(exact, bytes) === 0);
    assert.is(encodeWithOurs(c.packet, new Uint8Array(n - 1), 0), -1, 'ERR_NO_SPACE when one byte short');

    // 2. mqtt-packet's parse of its own bytes.
    const ref = mqttParse(bytes);
    assert.is(ref.error, null);
    assert.is(ref.packets.length, 1);

    // 3. Our decoder reads the same fields: broker decoder, roomy buffer and exact-fit buffer.
    for (const cap of [Math.max(1024, bytes.length + 64), Math.max(MIN_CAPACITY, bytes.length)]) {
      const { decoder, connect } = brokerDecoder(cap);
      const res = feed(decoder, bytes, { connect });
      checkOne(res, ref.packets[0], type, `broker decoder, capacity ${cap}`);
      assert.is(decoder.pkt.length, bytes.length, 'pkt.length is the whole packet size');
      assert.is(decoder.next(), 0, 'nothing more buffered');
    }
    {
      // One byte at a time, exact-fit buffer.
      const { decoder, connect } = brokerDecoder(Math.max(MIN_CAPACITY, bytes.length));
      const res = feed(decoder, bytes, { connect, chunk: () => 1, mode: 'offset' });
      checkOne(res, ref.packets[0], type, 'broker decoder, one byte at a time');
    }

    // 4. The client decoder: same for client-bound packets, ERR_UNEXPECTED_TYPE for broker-bound.
    const client = new Decoder(Math.max(1024, bytes.length + 64));
    const res = feed(client, bytes, {});
    if (BROKER_BOUND.has(type)) {
      assert.equal(res.map((r) => r.code), [ERR_UNEXPECTED_TYPE]);
    } else {
      checkOne(res, ref.packets[0], type, 'client decoder');
    }
  });
});

// The whole golden set as one stream.
const stream = Buffer.concat(golden);
const streamRef = mqttParse(stream);

function checkStream(results: Result[], what: string): void {
  assert.is(streamRef.error, null);
  assert.is(streamRef.packets.length, cases.length);
  assert.is(results.length, cases.length, `${what}: ${results.length} results`);
  for (let k = 0; k < cases.length; k++) {
    const r = results[k];
    assert.is(r.code, typeOf(cases[k].packet.cmd), `${what}: packet ${k} (${cases[k].name}): ${describe(r)}`);
    const d = firstDiff(r.packet, streamRef.packets[k]);
    assert.ok(d === null, `${what}: packet ${k} (${cases[k].name}) differs at ${d}`);
  }
}

test('varintSize: the remaining-length bytes mqtt-packet writes, on both sides of every boundary', () => {
  for (const rem of [3, 127, 128, 16383, 16384, 2097151, 2097152]) {
    assert.is(1 + varintSize(rem) + rem, mqttGenerate(publishRem(rem, 0)).length, `rem ${rem}`);
  }
  // Up to the largest remaining length (too large to generate here): still 4.
  assert.is(varintSize(268435455), 4);
  assert.is(varintSize(0), 1);
});

test('golden stream: all cases concatenated, one chunk', () => {
  // Capacity exactly the largest packet: every packet fits, compaction is exercised.
  const { decoder, connect } = brokerDecoder(maxLen);
  checkStream(feed(decoder, stream, { connect }), 'one chunk');
});

test('golden stream: all cases concatenated, one byte at a time', () => {
  const { decoder, connect } = brokerDecoder(maxLen);
  checkStream(feed(decoder, stream, { connect, chunk: () => 1, mode: 'offset' }), 'byte at a time');
});

test('golden stream: one byte at a time through space()/commit()', () => {
  const { decoder, connect } = brokerDecoder(maxLen);
  checkStream(feed(decoder, stream, { connect, chunk: () => 1, mode: 'commit' }), 'commit');
});

test('golden stream: 7-byte chunks, fresh view per chunk', () => {
  const { decoder, connect } = brokerDecoder(maxLen + 3);
  checkStream(feed(decoder, stream, { connect, chunk: () => 7, mode: 'subarray' }), '7-byte chunks');
});

test('golden stream: our encoders produce the same stream', () => {
  const out = new Uint8Array(stream.length);
  let off = 0;
  for (const c of cases) {
    const n = encodeWithOurs(c.packet, out, off);
    assert.ok(n > 0, `${c.name}: ${codecErrorName(n)}`);
    off += n;
  }
  assert.is(off, stream.length);
  assert.ok(Buffer.compare(out, stream) === 0);
});

test.run();
