// A receive-side tap: the client's RxSink, with every byte it accepts (copied by rxWrite() or
// written in place, then commit()ted) also shown to `onBytes`. For wrapping transports that count
// or record what arrives (counting-transport.ts, the tests' taps). Allocates nothing per chunk.
import type { RxSink } from '../src/transport.ts';

export function tapRx(rx: RxSink, onBytes: (b: Uint8Array, off: number, end: number) => void): RxSink {
  return {
    get buf() { return rx.buf; },
    get w() { return rx.w; },
    space: () => rx.space(),
    commit: (n) => {
      if (n > 0) onBytes(rx.buf, rx.w, rx.w + n);
      rx.commit(n);
    },
  };
}
