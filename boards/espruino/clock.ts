// Clock over Espruino's setTimeout and getTime() (seconds, as a float). setTimeout and
// clearTimeout are handed out as they are (they do not use `this`).
import type { Clock } from '../../src/transport.js';

declare function getTime(): number;
declare function setTimeout(fn: () => void, ms: number): unknown;
declare function clearTimeout(t: unknown): void;

export const espruinoClock: Clock = {
  now: () => Math.floor(getTime() * 1000),
  set: setTimeout,
  clear: clearTimeout,
};
