// The Moddable bundle: client plus the ECMA-419 TCP transport, the classic-socket transport
// (with TLS through SecureSocket) and the timer/time clock. Runtime modules stay external.
export * from '../../src/device.js';
export { TcpTransport } from './tcp-transport.js';
export { SocketTransport } from './socket-transport.js';
export { moddableClock } from './clock.js';
