// Clock over Moddable's timer and time modules. Time.ticks is a signed 32-bit millisecond
// counter on devices and wraps; the client only uses ((a - b) | 0) differences, which survive it.
// Timer.set and Timer.clear use their arguments only (not `this`), so the clock hands them out as
// they are.
import Timer from 'timer';
import Time from 'time';
import type { Clock } from '../../src/transport.js';

export const moddableClock: Clock = {
  now: () => Time.ticks,
  set: Timer.set,
  clear: Timer.clear as Clock['clear'],
};
