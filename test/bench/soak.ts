// npm run soak — QoS 1 and QoS 2 both ways between our client and MQTT.js through mosquitto
// (persistence on) with our connections cut at random bytes by the fault proxy and one mosquitto
// restart; see test/helpers/soak.ts for the arrangement. A benchmark-style run, not a test:
// bounded count and time, stops by itself. The LAST line is one JSON object:
// {"bench":"soak","cuts":…,"restarts":…,"ours2mqttjs":{"qos1":{"sent":…,"received":…,"lost":…,
//  "duplicates":…},"qos2":{…}},"mqttjs2ours":{…, "qos2":{…, "brokerResentAfterPubrel":…}},
//  "peakOutboxBytes":…}
// Options (environment): SOAK_COUNT (10000 per QoS per direction), SOAK_CUTS (50, the minimum),
// SOAK_SEED (random), SOAK_TIMEOUT_S (170), MOSQUITTO (/usr/sbin/mosquitto), SOAK_INBOUND_QOS2
// (our subscriber's maxInboundQos2; unset or 0: the client's default, 64).
// Exit code 1 when a requirement fails: QoS 1/2 lost > 0, QoS 2 duplicates > 0 (at our
// subscriber: not counting those the packets prove were the broker's), cuts < minimum, no
// restart, or the run did not finish in time.
import { runSoak } from '../helpers/soak.ts';

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const count = env('SOAK_COUNT', 10000);
const minCuts = env('SOAK_CUTS', 50);
const seed = env('SOAK_SEED', (Date.now() ^ (process.pid << 16)) >>> 0);
// mosquitto 2.0.11 sends a returning QoS 2 subscriber its whole backlog ahead of the PUBRELs, so
// the ids awaiting PUBREL can number in the thousands; with the default table (64) the client
// then reconnects (ERR_INBOUND_FULL, a clean DISCONNECT, no backoff growth) every 64 or so
// messages: no loss, no duplicate. The soak runs with that default; SOAK_INBOUND_QOS2=4096 gives
// the subscriber a desktop-sized table instead.
const inbound = env('SOAK_INBOUND_QOS2', 0) || undefined;

const r = await runSoak({
  count, minCuts, restart: true, timeoutMs: env('SOAK_TIMEOUT_S', 170) * 1000, seed,
  mosquitto: process.env.MOSQUITTO || '/usr/sbin/mosquitto', maxInboundQos2: inbound,
  log: (l) => console.log(l),
});
console.log(`soak detail: ${JSON.stringify(r.detail)}`);
const L = r.line;
const fails: string[] = [];
for (const [name, d] of [['ours2mqttjs', L.ours2mqttjs], ['mqttjs2ours', L.mqttjs2ours]] as const) {
  if (d.qos1.lost) fails.push(`${name} QoS 1 lost ${d.qos1.lost}`);
  if (d.qos2.lost) fails.push(`${name} QoS 2 lost ${d.qos2.lost}`);
}
// A QoS 2 duplicate at our subscriber is the client's fault unless the packets show the broker
// re-sending a PUBLISH after its own PUBREL for that message (seen from mosquitto 2.0.11 after it
// restores its persistence file); MQTT.js's side cannot be tapped, so every duplicate there counts.
const why = r.detail.mqttjs2oursQos2Duplicates as Record<string, number>;
const broker = Object.entries(why).filter(([k]) => k.startsWith('afterPubrel')).reduce((a, [, v]) => a + v, 0);
if (L.mqttjs2ours.qos2.duplicates) {
  console.log(`soak: mqttjs2ours QoS 2: ${L.mqttjs2ours.qos2.duplicates} duplicates, ${broker} of them the broker re-sending a PUBLISH after its PUBREL (MQTT-4.3.3), ${L.mqttjs2ours.qos2.duplicates - broker} attributable to our client`);
}
if (L.mqttjs2ours.qos2.duplicates - broker) fails.push(`mqttjs2ours QoS 2 duplicates ${L.mqttjs2ours.qos2.duplicates - broker} not explained by the broker`);
if (L.ours2mqttjs.qos2.duplicates) fails.push(`ours2mqttjs QoS 2 duplicates ${L.ours2mqttjs.qos2.duplicates} (at the MQTT.js subscriber)`);
if (L.cuts < minCuts) fails.push(`only ${L.cuts} cuts (< ${minCuts})`);
if (L.restarts < 1) fails.push('no restart');
if (!r.complete) fails.push('did not finish in time');
if (fails.length) console.log(`soak: FAILED: ${fails.join('; ')}`);
// The JSON keeps every duplicate in `duplicates` and says how many the wire trace pins on the
// broker (a PUBLISH re-sent after its own PUBREL).
const line = { ...L, mqttjs2ours: { ...L.mqttjs2ours, qos2: { ...L.mqttjs2ours.qos2, brokerResentAfterPubrel: broker } } };
console.log(JSON.stringify(line));
process.exitCode = fails.length ? 1 : 0;
