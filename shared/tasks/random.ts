// Seeded randomness for data: every generated example and every sampled window is a pure function of
// (seed, stream, index), so batch k can be produced without producing batches 0..k-1 — which is what
// lets a resumed run see exactly the data an uninterrupted run would have.

/** murmur3's 32-bit finalizer: a bijective avalanche mix. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** A 32-bit hash of a list of integers (each folded in with a mix, so order matters). */
export function hash32(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    h = mix32(h ^ mix32((v >>> 0) ^ Math.floor(v / 2 ** 32)));
    h = (h + 0x7f4a7c15) >>> 0;
  }
  return h;
}

/** xoshiro128** — small, fast, and good enough for data generation; seeded through hash32. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seed: number[]) {
    this.a = hash32(...seed, 1);
    this.b = hash32(...seed, 2);
    this.c = hash32(...seed, 3);
    this.d = hash32(...seed, 4) | 1; // never the all-zero state
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    return ((this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection sampling). n ≤ 2^32. */
  int(n: number): number {
    if (!(n >= 1 && n <= 2 ** 32) || !Number.isInteger(n)) throw new RangeError(`Rng.int: bad range ${n}`);
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** k distinct values from [lo, hi), in random order (partial Fisher–Yates over a sparse map). */
  distinct(k: number, lo: number, hi: number): number[] {
    const n = hi - lo;
    if (k > n) throw new RangeError(`cannot draw ${k} distinct values from ${n}`);
    const swapped = new Map<number, number>();
    const out: number[] = [];
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const vj = swapped.get(j) ?? j;
      swapped.set(j, swapped.get(i) ?? i);
      out.push(lo + vj);
    }
    return out;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
