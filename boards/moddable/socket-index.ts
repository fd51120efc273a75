// The Moddable classic-socket bundle (dist/mcu-mqtt.moddable-socket.js): client plus the transport
// over the `socket` module, or `securesocket` for TLS, and the timer/time clock.
export * from '../../src/device.js';
export { SocketTransport } from './socket-transport.js';
export { moddableClock } from './clock.js';
