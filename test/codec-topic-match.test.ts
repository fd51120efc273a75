// topicMatch (the client's in-place filter matching) against two independent sources: the worked
// examples of MQTT 3.1.1 section 4.7, and Qlobber (the matcher Aedes routes with, set up as Aedes
// sets it up: '/' levels, '+' one level, '#' any number including none, empty levels matched)
// plus the '$' rule [MQTT-4.7.2-1], which Aedes applies outside Qlobber, on random filter/topic
// pairs. Topics are given as UTF-8 bytes at an offset inside a larger buffer, as the receive
// buffer holds them, with bytes around them that must not be read as part of the topic.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Buffer } from 'node:buffer';
import { Qlobber } from 'qlobber';
import { topicMatch } from '../src/topic-match.ts';
import { utf8Length, TOPIC_FILTER, TOPIC_NAME } from '../src/codec/utf8.ts';

/** topicMatch with the topic's bytes at offset 3 of a buffer padded with '/' and 'a' around it. */
function match(filter: string, topic: string): boolean {
  const t = Buffer.from(topic, 'utf8');
  const b = new Uint8Array(t.length + 6).fill(0x2f);
  b[b.length - 1] = b[b.length - 2] = 0x61;
  b.set(t, 3);
  return topicMatch(filter, b, 3, t.length);
}

test('the worked examples of MQTT 3.1.1 section 4.7', () => {
  const cases: [string, string, boolean][] = [
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'sport/tennis', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player2', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['#', '$SYS/monitor/Clients', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['a/b', 'a/b', true],
    ['a/b', 'a/bc', false],
    ['a/bc', 'a/b', false],
    ['a//#', 'a', false],
    ['a//#', 'a/', true],
    ['€/+/😀', '€/x/😀', true],
    ['€/+/😀', '€/x/😁', false],
  ];
  for (const [f, t, want] of cases) assert.is(match(f, t), want, `${f} vs ${t}`);
});

test('random filters and topics agree with Qlobber (as Aedes sets it up) and the $ rule', () => {
  const levels = ['', 'a', 'b', 'ab', 'é', '€', '😀', '$s'];
  const opts = { separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true };
  let seed = 4711;
  const rnd = (n: number) => Math.floor(((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * n);
  const level = () => levels[rnd(levels.length)];
  // A topic of 1..4 levels, and a filter made from it: levels kept, changed or turned into '+',
  // sometimes one level more or less, sometimes cut short with '#'.
  const pair = () => {
    const t = Array.from({ length: 1 + rnd(4) }, level);
    const f = t.map((l) => { const r = rnd(10); return r < 3 ? '+' : r < 4 ? level() : l; });
    const r = rnd(10);
    if (r < 1) f.push(level());
    else if (r < 2) f.pop();
    else if (r < 4) f.splice(rnd(f.length + 1), f.length, '#');
    return [f.join('/'), t.join('/')];
  };
  let matched = 0;
  for (let k = 0; k < 20000; k++) {
    const [f, t] = pair();
    // An empty string is neither a filter nor a topic name.
    if (!f || !t) continue;
    assert.ok(utf8Length(f, TOPIC_FILTER) > 0 && utf8Length(t, TOPIC_NAME) > 0, `${f} ${t}`);
    const q = new Qlobber(opts);
    q.add(f, 1);
    const want = q.match(t).length > 0 && !(t[0] === '$' && (f[0] === '+' || f[0] === '#'));
    if (want) matched++;
    assert.is(match(f, t), want, `${f} vs ${t}`);
  }
  assert.ok(matched > 1000, `the generator must produce matches too (${matched})`);
});

test.run();
