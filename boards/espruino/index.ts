// The Espruino bundle: client plus the net/tls transport and the setTimeout/getTime clock.
export * from '../../src/device.js';
export { NetTransport } from './net-transport.js';
export { espruinoClock } from './clock.js';
