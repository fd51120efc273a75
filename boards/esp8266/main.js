// Example app for ESP8266 under Moddable (mcconfig -d -m -p esp8266): the shared sensor app
// (sensor-app) over the ECMA-419 TCP transport and the timer clock from the mcu-mqtt bundle.
// The ESP8266 gives XS 32 KB for everything, so the manifest keeps the client's buffers small and
// nothing is logged per message (formatting log lines allocates).
// Wi-Fi comes up before this module runs (Moddable's setup/network, from ssid=/password= config).
// Settings come from "config" in this folder's manifest.json; any of them can be overridden on the
// mcconfig command line (broker=192.168.1.10 id=hall-1 relayPin=2). A bare board has no sensor,
// so readings are simulated (a random walk): replace `sensors` with your sensor's driver. The relay
// command drives the GPIO `relayPin` through the ECMA-419 host provider when it is set.
import config from "mc/config";
import Net from "net";
import { MqttClient, TcpTransport, moddableClock } from "mcu-mqtt";
import { SensorApp, sensorWill } from "sensor-app";

// Manifest values are numbers; command-line overrides arrive as strings.
const num = (v, d) => (v === undefined || v === "" ? d : Number(v));

const id = config.id || "esp8266-" + String(Net.get("MAC") || "0").replace(/:/g, "");
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
	relay: relayOutput(config.relayPin),
};

/** A pin writer for the relay, or nothing when no pin is configured. */
function relayOutput(pin) {
	if (pin === undefined || pin === "") return undefined;
	const Digital = globalThis.device.io.Digital;
	const out = new Digital({ pin: Number(pin), mode: Digital.Output });
	out.write(0);
	return (on) => out.write(on ? 1 : 0);
}

const app = new SensorApp(client, moddableClock, sensors, {
	id,
	interval: num(config.interval, 2000),
	qos: num(config.qos, 1),
});
trace(`mcu-mqtt sensor ${id} -> mqtt://${config.broker}:${num(config.port, 1883)}\n`);
app.start();
