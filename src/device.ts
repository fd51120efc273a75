// What device bundles export: the client and the zero-copy helpers an app needs for its
// messages. Everything else (codec internals, broker side, names of codes) stays out.
export { MqttClient } from './client.js';
export { utf8Decode, utf8Equals } from './codec/utf8.js';
export { topicMatch } from './topic-match.js';
