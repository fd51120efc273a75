// Codec benchmark worker (not a test: test/run.js skips test/bench/). Measures encode+decode pairs
// of one QoS 1 PUBLISH (topic 'home/livingroom/temperature', 64-byte payload, packet id cycling
// 1..65535, 97 bytes on the wire) for ONE library per process and prints one JSON line as its
// last line of output. Driven by codec-run.js, which explains how the processes are arranged;
// by hand:
//
//   node --import tsx [--jitless] test/bench/codec.ts <ours|ours-sub|peer> <iters|0> <reps> [targetMs]
//
// iters > 0: every timed repetition runs exactly `iters` pairs (the GC count is per repetition).
// iters = 0: the count is calibrated from the warm-up rate so one repetition lasts ~targetMs.
//
// Per pair:
//   ours:     encodePublish() into a reused transmit buffer, Decoder.write() of the encoded bytes,
//             then next() until NEED_MORE, as a client's receive loop does. The packet must come
//             back as type PUBLISH with the packet id just encoded, QoS 1 and a 64-byte payload,
//             and the drain must end at NEED_MORE (not an error), or the run aborts. Nothing
//             allocates. The transmit buffer is exactly one packet long, so the decoder is fed
//             one whole chunk holding one packet: the same input the peer's parse() gets (the
//             Buffer generate() returns), and what a socket read hands a client. write() then
//             copies with one native TypedArray.set().
//   ours-sub: the same, but the transmit buffer is 256 bytes and write(tx, 0, 97) gets a
//             sub-range, which write() copies with its JS byte loop (no subarray, no allocation).
//             Shown as a second row: the slow path an interpreter pays when chunks are slices.
//   peer:     mqtt-packet generate() of one reused packet object (only messageId changes: the
//             cheapest way to call it) and parser.parse() of the Buffer it returns, with a
//             'packet' listener making the same checks. Allocation is inherent to its API.
//
// GC runs are counted with a PerformanceObserver on 'gc' entries (perf_hooks), not --trace-gc.
// Entries are delivered asynchronously, so the count is read after yielding to the event loop
// once each repetition has finished; every GC that started during the repetition is counted.
// The clock is read only around whole repetitions, never inside the pair loop.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import mqtt from 'mqtt-packet';
import { encodePublish, Decoder, PUBLISH, NEED_MORE } from '../../src/codec/index.js';
import { rxWrite } from '../../src/codec/decoder.js';

const TOPIC = 'home/livingroom/temperature';
const PAYLOAD_LEN = 64;
const PKT_LEN = 2 + 2 + TOPIC.length + 2 + PAYLOAD_LEN; // 97: 1-byte remaining length

const lib = process.argv[2];
const fixedIters = Number(process.argv[3] ?? 0);
const reps = Number(process.argv[4] ?? 3);
const targetMs = Number(process.argv[5] ?? 1500);
if ((lib !== 'ours' && lib !== 'ours-sub' && lib !== 'peer') || !(fixedIters >= 0) || !(reps >= 1) || !(targetMs > 0)) {
  console.error('usage: codec.ts <ours|ours-sub|peer> <iters|0> <reps> [targetMs]');
  process.exit(2);
}
const jitless = process.execArgv.includes('--jitless');

function fail(msg: string): never {
  console.error(`codec bench (${lib}): ${msg}`);
  process.exit(1);
}

// Same payload bytes for both libraries.
const payloadBytes = new Uint8Array(PAYLOAD_LEN);
for (let k = 0; k < PAYLOAD_LEN; k++) payloadBytes[k] = (k * 7 + 3) & 255;

// ---- ours ----------------------------------------------------------------------------------
const tx = new Uint8Array(lib === 'ours-sub' ? 256 : PKT_LEN);
const dec = new Decoder(512);
const pkt = dec.pkt;
let oursId = 1;

/** Runs n encode+decode pairs; returns how many decoded correctly (must be n). */
function runOurs(n: number): number {
  let id = oursId;
  let ok = 0;
  for (let k = 0; k < n; k++) {
    const len = encodePublish(tx, 0, TOPIC, payloadBytes, 1, false, false, id);
    if (len !== PKT_LEN) return -1;
    if (rxWrite(dec, tx, 0, len) !== len) return -2;
    let t: number;
    while ((t = dec.next()) > 0) {
      if (t === PUBLISH && pkt.id === id && pkt.qos === 1 && pkt.payloadLen === PAYLOAD_LEN) ok++;
      else return -3;
    }
    if (t !== NEED_MORE) return -4;
    id = id === 65535 ? 1 : id + 1;
  }
  oursId = id;
  return ok;
}

// ---- peer (mqtt-packet) --------------------------------------------------------------------
const peerPayload = Buffer.from(payloadBytes);
const peerPacket = {
  cmd: 'publish' as const, topic: TOPIC, payload: peerPayload,
  qos: 1 as const, retain: false, dup: false, messageId: 1,
};
const parser = mqtt.parser({ protocolVersion: 4 });
let peerExpect = 0;
let peerOk = 0;
let peerBad = 0;
parser.on('packet', (p: mqtt.Packet) => {
  if (p.cmd === 'publish' && p.messageId === peerExpect && p.qos === 1 &&
      p.payload.length === PAYLOAD_LEN) peerOk++;
  else peerBad++;
});
parser.on('error', (e: Error) => fail(`parser error: ${e.message}`));
let peerId = 1;

function runPeer(n: number): number {
  let id = peerId;
  const before = peerOk;
  for (let k = 0; k < n; k++) {
    peerPacket.messageId = id;
    peerExpect = id;
    const buf = mqtt.generate(peerPacket);
    if (buf.length !== PKT_LEN) return -1;
    if (parser.parse(buf) !== 0) return -2; // whole packet consumed
    id = id === 65535 ? 1 : id + 1;
  }
  peerId = id;
  return peerBad ? -3 : peerOk - before;
}

const run = lib === 'peer' ? runPeer : runOurs;

// ---- sanity: both libraries produce the same bytes for the same packet ------------------------
{
  const a = encodePublish(tx, 0, TOPIC, payloadBytes, 1, false, false, 4660);
  const b = mqtt.generate({ ...peerPacket, messageId: 4660 });
  if (a !== PKT_LEN || b.length !== PKT_LEN) fail(`unexpected packet length ${a} / ${b.length}`);
  for (let k = 0; k < PKT_LEN; k++) if (tx[k] !== b[k]) fail(`encodings differ at byte ${k}`);
}

// ---- GC counting -----------------------------------------------------------------------------
let gcCount = 0;
const obs = new PerformanceObserver((list) => { gcCount += list.getEntries().length; });
obs.observe({ entryTypes: ['gc'] });
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 30));

function check(got: number, n: number): void {
  if (got !== n) fail(`decoded ${got} of ${n} pairs correctly`);
}

// ---- warm-up: fixed time in chunks (the clock is read between chunks only) -------------------
const WARM_MS = jitless ? 300 : 500;
const CHUNK = 2000;
let warmPairs = 0;
const w0 = performance.now();
let w1 = w0;
do {
  check(run(CHUNK), CHUNK);
  warmPairs += CHUNK;
  w1 = performance.now();
} while (w1 - w0 < WARM_MS);
const warmRate = (warmPairs * 1000) / (w1 - w0);
const iters = fixedIters || Math.max(CHUNK, Math.round((warmRate * targetMs) / 1000 / CHUNK) * CHUNK);

await settle();

// ---- timed repetitions -----------------------------------------------------------------------
const pps: number[] = [];
const gcs: number[] = [];
for (let r = 0; r < reps; r++) {
  const g0 = gcCount;
  const t0 = performance.now();
  const got = run(iters);
  const t1 = performance.now();
  check(got, iters);
  await settle();
  pps.push(Math.round((iters * 1000) / (t1 - t0)));
  gcs.push(gcCount - g0);
}
obs.disconnect();

console.log(JSON.stringify({ lib, jitless, iters, reps, warmPairs, pps, gcs }));
