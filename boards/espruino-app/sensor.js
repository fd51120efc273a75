// Example sensor app for Espruino (ESP32 or ESP8266): the shared sensor app over the mcu-mqtt
// Espruino bundle's NetTransport and espruinoClock. Needs two modules on the board, named
// "mcu-mqtt" (dist/mcu-mqtt.espruino.js) and "sensor-app" (dist/sensor-app.espruino.js): see
// README.md for loading them with the Web IDE, the espruino CLI or Storage.
// Readings are simulated (a random walk): replace `sensors` with your sensor's driver.

// --- settings (edit these)
var WIFI_NAME = "my-network";
var WIFI_OPTIONS = { password: "my-password" };
var BROKER = "test.mosquitto.org";
var PORT = 1883;
var ID = "espruino-" + getSerial().replace(/[^0-9A-Za-z]/g, "");
// Fixed client memory. These fit an ESP8266 (about 1,600 variables for everything); an ESP32 can
// take rxSize 1024, outboxSize 4096, maxInflight 8.
var BUFFERS = { rxSize: 256, txSize: 128, outboxSize: 512, maxInflight: 2, maxSubs: 1, maxPending: 1, maxInboundQos2: 2 };
var RELAY_PIN; // e.g. D2 to drive a relay; undefined: no relay output
// --- end settings

var app;

function startSensor() {
  var mq = require("mcu-mqtt");
  var sa = require("sensor-app");
  var options = { host: BROKER, port: PORT, clientId: ID, keepalive: 60, will: sa.sensorWill(ID) };
  for (var k in BUFFERS) options[k] = BUFFERS[k];
  var client = new mq.MqttClient(new mq.NetTransport(), mq.espruinoClock, options);
  client.onError = function (e) { console.log("! " + e.message); };
  var temp = 21, hum = 45;
  function walk(v, step, lo, hi) { return Math.min(hi, Math.max(lo, v + (Math.random() - 0.5) * step)); }
  var sensors = {
    temperature: function () { return (temp = walk(temp, 0.4, 15, 30)); },
    humidity: function () { return (hum = walk(hum, 1, 20, 80)); },
    relay: RELAY_PIN === undefined ? undefined : function (on) { digitalWrite(RELAY_PIN, on ? 1 : 0); }
  };
  if (RELAY_PIN !== undefined) digitalWrite(RELAY_PIN, 0); // the app starts with the relay off
  app = new sa.SensorApp(client, mq.espruinoClock, sensors, { id: ID });
  console.log("mcu-mqtt sensor " + ID + " -> mqtt://" + BROKER + ":" + PORT);
  app.start();
}

// Top-level code: it runs on upload, and at every boot when uploaded with "Save on Send: to
// Flash" (Web IDE) or SAVE_ON_SEND=1 (CLI), so no state saved with save() is ever restored twice.
require("Wifi").connect(WIFI_NAME, WIFI_OPTIONS, function (err) {
  if (err) { console.log("Wi-Fi: " + err); return; }
  startSensor();
});
