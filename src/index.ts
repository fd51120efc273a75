// mcu-mqtt public entry: what device bundles and apps import.
export * from './codec/index.js';
export * from './client-errors.js';
export { MqttClient, OFFLINE, OPENING, CONNACK_WAIT, CONNECTED, useErrorNames } from './client.js';
export type { ClientOptions, MessageHandler, MqttError } from './client.js';
export { topicMatch } from './topic-match.js';
export type { Transport, TransportEvents, RxSink, Clock } from './transport.js';

// Errors carry their names here; device bundles (src/device.ts) leave the table out.
import { useErrorNames } from './client.js';
import { codecErrorName } from './codec/error-names.js';
useErrorNames(codecErrorName);
