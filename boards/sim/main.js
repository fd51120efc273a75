// Example app for the Moddable simulator (mcconfig -d -m -p sim): the shared sensor app
// (sensor-app) over the ECMA-419 TCP transport and the timer clock from the mcu-mqtt bundle.
// Settings come from "config" in this folder's manifest.json; any of them can be overridden on the
// mcconfig command line (broker=192.168.1.10 id=desk-1). Readings are simulated: a random walk.
import config from "mc/config";
import Net from "net";
import { MqttClient, TcpTransport, moddableClock } from "mcu-mqtt";
import { SensorApp, sensorWill } from "sensor-app";

// Manifest values are numbers; command-line overrides arrive as strings.
const num = (v, d) => (v === undefined || v === "" ? d : Number(v));

const id = config.id || "sim-" + String(Net.get("MAC") || "0").replace(/:/g, "");
// The client's memory is fixed here, sized by the manifest: see README.md for what it comes to.
const options = { host: config.broker, port: num(config.port, 1883), clientId: id, keepalive: num(config.keepalive, 60), will: sensorWill(id) };
for (const k of ["rxSize", "txSize", "outboxSize", "maxInflight", "maxSubs", "maxPending", "maxInboundQos2"])
	if (config[k] !== undefined) options[k] = Number(config[k]);
const client = new MqttClient(new TcpTransport(), moddableClock, options);
client.onError = (e) => trace(`! ${e.message}\n`);

let temp = 21, hum = 45;
const walk = (v, step, lo, hi) => Math.min(hi, Math.max(lo, v + (Math.random() - 0.5) * step));
const sensors = {
	temperature: () => (temp = walk(temp, 0.4, 15, 30)),
	humidity: () => (hum = walk(hum, 1, 20, 80)),
	relay: (on) => trace(`relay ${on ? "on" : "off"}\n`),
};

const app = new SensorApp(client, moddableClock, sensors, {
	id,
	interval: num(config.interval, 2000),
	qos: num(config.qos, 1),
	log: (dir, topic, text) => trace(`${dir} ${topic} ${text}\n`),
});
trace(`mcu-mqtt sensor ${id} -> mqtt://${config.broker}:${num(config.port, 1883)}\n`);
app.start();
