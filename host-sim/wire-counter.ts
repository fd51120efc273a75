// Counts MQTT packets by type in a byte stream, as the bytes pass: fixed header and remaining
// length only, the body is skipped. An independent count of what really crossed the wire (the
// client's own bookkeeping is not consulted). No allocation per byte or per packet.

/** Packet counts indexed by MQTT packet type (1 CONNECT ... 14 DISCONNECT). */
export type PacketCounts = Uint32Array;

export function packetCounts(): PacketCounts {
  return new Uint32Array(16);
}

export class WireCounter {
  /** Where counts go; several counters may share one (a fleet's totals). */
  readonly counts: PacketCounts;
  private st = 0; // 0: fixed header byte next, 1: remaining-length bytes, 2: body
  private type = 0;
  private rem = 0;
  private mul = 1;

  constructor(counts: PacketCounts = packetCounts()) {
    this.counts = counts;
  }

  /** A new connection: the stream starts at a packet boundary again. */
  reset(): void {
    this.st = 0;
  }

  feed(b: Uint8Array, off: number, end: number): void {
    let i = off;
    while (i < end) {
      if (this.st === 0) {
        this.type = b[i++] >> 4;
        this.rem = 0;
        this.mul = 1;
        this.st = 1;
      } else if (this.st === 1) {
        const d = b[i++];
        this.rem += (d & 127) * this.mul;
        this.mul *= 128;
        if (!(d & 128)) {
          this.counts[this.type]++;
          this.st = this.rem ? 2 : 0;
        }
      } else {
        const k = Math.min(this.rem, end - i);
        i += k;
        this.rem -= k;
        if (!this.rem) this.st = 0;
      }
    }
  }
}
