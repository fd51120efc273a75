// TLS through host-sim's NodeTransport to a mosquitto TLS listener, with a throwaway PKI made by
// openssl at test time (test/helpers/tls-certs.ts). A verified connection carries messages both
// ways with an MQTT.js peer; a wrong CA, an expired server certificate and a wrong host name each
// fail with ERR_TLS; mutual TLS works with a client certificate and fails without one. The client
// dials a recording TCP relay in front of the broker: every connection it ever makes there,
// retries included, starts with a TLS handshake record and never carries a plain MQTT CONNECT,
// and the broker never logs a connected client: no fallback to plain TCP.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as net from 'node:net';
import { connectAsync, type MqttClient as MqttJsClient } from 'mqtt';
import { MqttClient, CONNECTED, OFFLINE, ERR_TLS, codecErrorName, utf8Decode } from '../src/index.ts';
import type { MqttError } from '../src/index.ts';
import { NodeTransport, nodeClock } from '../host-sim/node-transport.ts';
import { startMosquitto, MOSQUITTO, HOST, waitFor, within, uid, sleep, type Broker, type MosquittoTls } from './helpers/brokers.ts';
import { makePki, haveOpenssl, keyOf, type Pki } from './helpers/tls-certs.ts';

const why = !MOSQUITTO.bin ? MOSQUITTO.why : haveOpenssl();
let pki: Pki;

/** A plain TCP relay to `port` that records what each incoming connection sends. */
async function relay(port: number): Promise<{ port: number; conns: Buffer[]; close(): Promise<void> }> {
  const conns: Buffer[] = [];
  const socks = new Set<net.Socket>();
  const server = net.createServer((c) => {
    const i = conns.push(Buffer.alloc(0)) - 1;
    const up = net.connect({ host: HOST, port });
    socks.add(c).add(up);
    c.on('data', (d) => { conns[i] = Buffer.concat([conns[i], d]); up.write(d); });
    up.on('data', (d) => c.write(d));
    const end = () => { c.destroy(); up.destroy(); socks.delete(c); socks.delete(up); };
    c.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, HOST, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    conns,
    close: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); server.close(() => r()); }),
  };
}

interface Run {
  broker: Broker;
  tap: Awaited<ReturnType<typeof relay>>;
  c: MqttClient;
  id: string;
  errors: MqttError[];
  closes: number[];
  connects: number;
  got: string[];
  peer?: MqttJsClient;
}

/** mosquitto with `srv` TLS settings, a relay in front, and our client dialing the relay. */
async function setup(srv: MosquittoTls, tls: Record<string, unknown>, extra: { password?: string } = {}): Promise<Run> {
  const broker = await startMosquitto({ tls: srv });
  const tap = await relay(broker.port);
  const id = uid('tls');
  const r: Run = { broker, tap, id, errors: [], closes: [], connects: 0, got: [], c: null as unknown as MqttClient };
  const c = new MqttClient(new NodeTransport({ tls }), nodeClock, {
    host: HOST, port: tap.port, clientId: id, keepalive: 30, reconnectMin: 50, reconnectMax: 200,
    connectTimeout: 3000, ...(extra.password ? { username: 'u', password: extra.password } : {}),
  });
  c.onError = (e) => r.errors.push(e);
  c.onClose = (x) => r.closes.push(x);
  c.onConnect = () => r.connects++;
  c.onMessage = (v) => { r.got.push(utf8Decode(v.buf, v.topicOff, v.topicLen) + '=' + utf8Decode(v.buf, v.payloadOff, v.payloadLen)); };
  r.c = c;
  return r;
}

async function teardown(r: Run | undefined): Promise<void> {
  if (!r) return;
  r.c.end();
  if (r.peer) await within(r.peer.endAsync(true), 3000, 'peer end').catch(() => {});
  await r.tap.close();
  await within(r.broker.stop(), 5000, 'mosquitto stop');
}

async function tlsPeer(r: Run, tls: Record<string, unknown>): Promise<MqttJsClient> {
  const p = await within(connectAsync(`mqtts://${HOST}:${r.broker.port}`, {
    protocolVersion: 4, clientId: uid('peer'), reconnectPeriod: 0, connectTimeout: 5000, ...tls,
  }), 8000, 'MQTT.js TLS peer');
  p.on('error', () => {});
  r.peer = p;
  return p;
}

/** Messages both ways: ours → peer (QoS 1) and peer → ours (QoS 1). */
async function roundTrip(r: Run, peer: MqttJsClient): Promise<void> {
  const topic = `tls/${r.id}`;
  const atPeer: string[] = [];
  peer.on('message', (t, p) => atPeer.push(t + '=' + p.toString()));
  await peer.subscribeAsync(`${topic}/up`, { qos: 1 });
  let codes: number[] | null = null;
  assert.is(r.c.subscribe(`${topic}/down`, 1, null, (k) => (codes = k)), 0);
  await waitFor(() => codes, 5000, 'SUBACK over TLS');
  assert.equal(codes, [1]);
  assert.is(r.c.publish(`${topic}/up`, 'hello-over-tls', 1, false), 0);
  await waitFor(() => atPeer.length, 5000, 'our message at the peer');
  assert.equal(atPeer, [`${topic}/up=hello-over-tls`]);
  await peer.publishAsync(`${topic}/down`, 'reply-over-tls', { qos: 1 });
  await waitFor(() => r.got.length, 5000, 'the peer message at ours');
  assert.equal(r.got, [`${topic}/down=reply-over-tls`]);
  await waitFor(() => r.c.queued === 0, 5000, 'PUBACK');
}

/** Every connection the client made was TLS from its first byte; no MQTT CONNECT in clear. */
function assertTlsOnly(r: Run, minConns: number): void {
  const cs = r.tap.conns;
  assert.ok(cs.length >= minConns, `${cs.length} connections seen, wanted at least ${minConns}`);
  cs.forEach((b, i) => {
    // TLS record: content type 22 (handshake), version major 3.
    assert.ok(b.length >= 3 && b[0] === 0x16 && b[1] === 3, `connection ${i} starts with ${b.subarray(0, 3).toString('hex')}, not a TLS handshake`);
    assert.is(b.indexOf(Buffer.from('MQTT')), -1, `connection ${i} carries the protocol name in clear`);
    assert.is(b.indexOf(Buffer.from(r.id)), -1, `connection ${i} carries the client id in clear`);
  });
}

/** The client fails with ERR_TLS on every attempt, retries (with backoff), never connects. */
async function assertRefused(r: Run, detail: RegExp): Promise<void> {
  assert.is(r.c.connect(), 0);
  await waitFor(() => r.errors.length >= 3, 5000, () => `3 failed attempts (errors: ${r.errors.map((e) => e.message).join('; ')})`);
  r.c.end();
  assert.is(r.connects, 0, 'never connected');
  assert.is(r.c.state, OFFLINE);
  for (const e of r.errors) {
    assert.is(e.code, ERR_TLS, e.message);
    assert.is(e.name, 'ERR_TLS');
    assert.is(codecErrorName(e.code), 'ERR_TLS');
  }
  console.log(`    first error: ${r.errors[0].message}`);
  assert.match(r.errors[0].message, detail);
  assert.ok(r.closes.slice(0, 3).every((x) => x === ERR_TLS), `onClose reasons ${r.closes}`);
  // Give a late fallback attempt the chance to show up before looking.
  await sleep(100);
  assertTlsOnly(r, 3);
  assert.not.ok(r.broker.log.some((l) => /New client connected/.test(l)), 'the broker saw no MQTT client');
}

const valid = (): MosquittoTls => ({ cafile: pki.caCrt, certfile: pki.serverCrt, keyfile: pki.serverKey });

function tlsTest(name: string, fn: (hold: (r: Run) => Run) => Promise<void>): void {
  if (why) {
    console.log(`skipped: ${name}: ${why}`);
    test.skip(name, () => {});
    return;
  }
  test(name, async () => {
    let run: Run | undefined;
    try {
      await within(fn((r) => (run = r)), 20000, name);
    } catch (e) {
      if (run) console.log(`\n  mosquitto log (last 10 lines):\n    ${run.broker.log.slice(-10).join('\n    ')}`);
      throw e;
    } finally {
      await teardown(run);
    }
  });
}

test.before(() => {
  if (!why) {
    pki = makePki();
    console.log(`  ${pki.version}; expired certificate made with openssl ca -startdate 20200101000000Z -enddate 20200102000000Z`);
  }
});
test.after(() => pki?.cleanup());

tlsTest('TLS: verified connection (CA, host name 127.0.0.1) carries QoS 1 both ways with an MQTT.js peer', async (hold) => {
  const r = hold(await setup(valid(), { ca: pki.read(pki.caCrt) }));
  assert.is(r.c.connect(), 0);
  await waitFor(() => r.connects, 5000, () => `onConnect (errors: ${r.errors.map((e) => e.message).join('; ')})`);
  assert.is(r.c.state, CONNECTED);
  const peer = await tlsPeer(r, { ca: pki.read(pki.caCrt) });
  await roundTrip(r, peer);
  assert.equal(r.errors, []);
  assertTlsOnly(r, 1);
  assert.is(r.tap.conns.length, 1);
});

tlsTest('TLS: server certificate from another CA -> ERR_TLS on every attempt, never plain TCP', async (hold) => {
  const r = hold(await setup(valid(), { ca: pki.read(pki.otherCaCrt) }));
  await assertRefused(r, /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
});

tlsTest('TLS: expired server certificate -> ERR_TLS (CERT_HAS_EXPIRED), never plain TCP', async (hold) => {
  const r = hold(await setup({ ...valid(), certfile: pki.expiredCrt, keyfile: keyOf(pki.expiredCrt) }, { ca: pki.read(pki.caCrt) }));
  await assertRefused(r, /CERT_HAS_EXPIRED/);
});

tlsTest('TLS: certificate for another host name -> ERR_TLS (altname), never plain TCP; right name connects', async (hold) => {
  const srv = { ...valid(), certfile: pki.wrongHostCrt, keyfile: keyOf(pki.wrongHostCrt) };
  const r = hold(await setup(srv, { ca: pki.read(pki.caCrt) }));
  await assertRefused(r, /ERR_TLS_CERT_ALTNAME_INVALID/);
  // Control: the same certificate is accepted when the name asked for is the one it carries,
  // so the refusal above was the host name and nothing else.
  const ok = new MqttClient(new NodeTransport({ tls: { ca: pki.read(pki.caCrt), servername: 'broker.elsewhere.example' } }), nodeClock, {
    host: HOST, port: r.broker.port, clientId: uid('tls-name'), reconnect: false,
  });
  let up = false;
  ok.onConnect = () => (up = true);
  assert.is(ok.connect(), 0);
  try {
    await waitFor(() => up, 5000, 'connect with servername broker.elsewhere.example');
  } finally {
    ok.end();
  }
});

tlsTest('mutual TLS: client certificate accepted (require_certificate true), messages both ways', async (hold) => {
  const r = hold(await setup({ ...valid(), requireCertificate: true }, {
    ca: pki.read(pki.caCrt), cert: pki.read(pki.clientCrt), key: pki.read(pki.clientKey),
  }));
  assert.is(r.c.connect(), 0);
  await waitFor(() => r.connects, 5000, () => `onConnect (errors: ${r.errors.map((e) => e.message).join('; ')})`);
  const peer = await tlsPeer(r, { ca: pki.read(pki.caCrt), cert: pki.read(pki.clientCrt), key: pki.read(pki.clientKey) });
  await roundTrip(r, peer);
  assert.equal(r.errors, []);
  assertTlsOnly(r, 1);
});

tlsTest('mutual TLS: no client certificate -> ERR_TLS on every attempt, never plain TCP', async (hold) => {
  const r = hold(await setup({ ...valid(), requireCertificate: true }, { ca: pki.read(pki.caCrt) }));
  await assertRefused(r, /ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|HANDSHAKE_FAILURE/);
});

test.run();
