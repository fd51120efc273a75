// Clock over Espruino's setTimeout and getTime() (seconds, as a float).
import type { Clock } from '../../src/transport.js';

declare function getTime(): number;
declare function setTimeout(fn: () => void, ms: number): unknown;
declare function clearTimeout(t: unknown): void;

export const espruinoClock: Clock = {
  now: () => Math.floor(getTime() * 1000),
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (t) => clearTimeout(t),
};
