// The client-side codec. Broker-side pieces live in ./server.ts and are imported only by tests.
export * from './constants.js';
export * from './errors.js';
export { codecErrorName } from './error-names.js';
export {
  encodeConnect, encodePublish, encodeAck, encodeEmpty, encodeSubscribe, encodeUnsubscribe,
  writeHeader, varintSize,
} from './encode.js';
export type { Bytes, Will, ConnectFields } from './encode.js';
export { Decoder, MIN_CAPACITY, rxWrite } from './decoder.js';
export type { BodyDecoder } from './decoder.js';
export type { PacketView } from './packet-view.js';
export { utf8Length, utf8Write, utf8Valid, utf8Equals, utf8Decode, PLAIN, TOPIC_NAME, TOPIC_FILTER } from './utf8.js';
