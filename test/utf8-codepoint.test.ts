// Strings whose charCodeAt returns a whole code point above U+FFFF, as on Espruino unicode builds
// (seen on 2v29 Linux: "\ud83d\ude00".length is 1 and charCodeAt(0) is 0x1F600). Node strings never do
// that, so the test stands such a string in with an object that behaves like one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { utf8Length, utf8Write, utf8Equals, PLAIN, TOPIC_NAME } from '../src/codec/utf8.ts';
import { topicMatch } from '../src/topic-match.ts';

function espruinoString(codePoints: number[]): string {
  return {
    length: codePoints.length,
    charCodeAt: (i: number) => (i < codePoints.length ? codePoints[i] : NaN),
    // One-character search (topicMatch looks for '/'), by code point as on Espruino.
    indexOf: (c: string, from: number) => codePoints.indexOf(c.charCodeAt(0), from),
  } as unknown as string;
}
const smile = Buffer.from('a/\u{1F600}\u20ac', 'utf8');
const s = espruinoString([0x61, 0x2f, 0x1f600, 0x20ac]);

test('length and bytes of a code-point string equal the UTF-8 of the same text', () => {
  assert.is(utf8Length(s, PLAIN), smile.length);
  assert.is(utf8Length(s, TOPIC_NAME), smile.length);
  const b = new Uint8Array(16);
  const end = utf8Write(b, 0, s);
  assert.equal(Buffer.from(b.subarray(0, end)), smile);
});

test('utf8Equals and topicMatch accept a code-point string', () => {
  assert.ok(utf8Equals(smile, 0, smile.length, s));
  assert.ok(topicMatch(espruinoString([0x61, 0x2f, 0x1f600, 0x20ac]), smile, 0, smile.length));
  assert.ok(topicMatch(espruinoString([0x2b, 0x2f, 0x1f600, 0x20ac]), smile, 0, smile.length));
  assert.not.ok(topicMatch(espruinoString([0x61, 0x2f, 0x1f601, 0x20ac]), smile, 0, smile.length));
});

test('UTF-16 surrogate pairs still work as before', () => {
  const u = 'a/\u{1F600}\u20ac';
  assert.is(utf8Length(u, PLAIN), smile.length);
  const b = new Uint8Array(16);
  assert.equal(Buffer.from(b.subarray(0, utf8Write(b, 0, u))), smile);
  assert.ok(utf8Equals(smile, 0, smile.length, u));
  assert.ok(topicMatch(u, smile, 0, smile.length));
});

test.run();
