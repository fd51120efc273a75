// The two small interfaces through which the client meets the world. A shim per runtime
// implements them (host-sim/ on Node, boards/ on Moddable and Espruino); the core never sees a
// socket or a timer API directly.

/**
 * Where a transport puts received bytes: the decoder's receive buffer. A shim either copies a
 * chunk with rxWrite(rx, src, off, end) (codec/decoder.ts), or, reading one byte at a time (Moddable "number" format, Espruino strings),
 * writes straight into `buf` from index `w` up to space() bytes and then calls commit(n).
 * After adding bytes it calls TransportEvents._readable() so the client decodes them and frees
 * room. The client may call close() from inside _readable(): the shim then stops reading at
 * once (the socket is gone); space() still 0 after _readable() also means stop.
 */
export interface RxSink {
  readonly buf: Uint8Array;
  readonly w: number;
  space(): number;
  commit(n: number): void;
}

/**
 * What the transport reports; the client itself implements it. The names start with _ so that
 * device bundles shorten them (the bundle's own transport calls them; an app's onClose is another
 * member).
 */
export interface TransportEvents {
  /** The connection is up (TCP connected, TLS handshake done): the client sends CONNECT. */
  _opened(): void;
  /** Bytes were added to the RxSink. */
  _readable(): void;
  /** Room is back after write() accepted less than it was given. */
  _writable(): void;
  /**
   * The connection is gone, or never came up, without close() having been called. `reason` is a
   * negative error code (ERR_CONNECTION, ERR_TLS, ERR_DNS from client-errors.ts) and `detail`
   * a short text from the platform, never containing credentials.
   */
  _lost(reason: number, detail?: string): void;
}

/** A byte stream to the broker: TCP or TLS. One connection at a time. */
export interface Transport {
  /**
   * Starts connecting; later comes _opened, or _lost with a reason. It may instead throw (a socket
   * the platform cannot even create, as Espruino's net.connect does): the client counts that as a
   * failed attempt (ERR_CONNECTION) and retries with backoff.
   */
  open(host: string, port: number, rx: RxSink, events: TransportEvents): void;
  /**
   * Sends b[off, off+len). Returns how many bytes were accepted (the platform copies them);
   * when less than len, the rest waits for _writable.
   */
  write(b: Uint8Array, off: number, len: number): number;
  /** Closes the connection. No event follows for this connection. Safe to call twice. */
  close(): void;
}

/** Milliseconds and one-shot timers. */
export interface Clock {
  /**
   * A millisecond counter. It may wrap (Moddable's Time.ticks is signed 32-bit on devices), so
   * users of it take differences: ((a - b) | 0). The client itself runs on set() alone (the
   * example app reads now() for its uptime).
   */
  now(): number;
  /** Calls fn once after ms milliseconds; returns a handle for clear(). */
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}
