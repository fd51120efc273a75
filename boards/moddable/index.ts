// The Moddable bundle (dist/mcu-mqtt.moddable.js): client plus the ECMA-419 TCP transport and the
// timer/time clock. Runtime modules stay external. The classic socket (and TLS) is in the other
// bundle, socket-index.ts, so an app carries only the transport it uses.
export * from '../../src/device.js';
export { TcpTransport } from './tcp-transport.js';
export { moddableClock } from './clock.js';
