// Clock over Moddable's timer and time modules. Time.ticks is a signed 32-bit millisecond
// counter on devices and wraps; the client only uses ((a - b) | 0) differences, which survive it.
import Timer from 'timer';
import Time from 'time';
import type { Clock } from '../../src/transport.js';

export const moddableClock: Clock = {
  now: () => Time.ticks,
  set: (fn, ms) => Timer.set(fn, ms),
  clear: (t) => Timer.clear(t as Timer),
};
