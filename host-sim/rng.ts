// A small seeded PRNG (mulberry32), uniform in [0, 1): runs that draw from it (the fault proxy's
// random cuts, a fleet's sensors, the fuzz and outbox tests, the hostile-server streams) replay
// from their seed.
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Draws for fuzzers: integers, choices and bytes from one seeded stream. */
export class Rng {
  readonly f: () => number;
  constructor(seed: number) {
    this.f = rng(seed);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.f() * n);
  }
  /** Integer in [a, b]. */
  range(a: number, b: number): number {
    return a + this.int(b - a + 1);
  }
  chance(p: number): boolean {
    return this.f() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}
