// The Espruino bundle: client plus the net/tls transport and the setTimeout/getTime clock.
// utf8Decode is Espruino's own (its String.fromCharCode keeps only 8 bits).
export { MqttClient } from '../../src/client.js';
export { utf8Equals } from '../../src/codec/utf8.js';
export { topicMatch } from '../../src/topic-match.js';
export { utf8Decode } from './utf8-decode.js';
export { NetTransport } from './net-transport.js';
export { espruinoClock } from './clock.js';
