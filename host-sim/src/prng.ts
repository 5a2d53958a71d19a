// Seeded PRNG: the simulator's single source of randomness (sfc32 seeded through splitmix32).

/** A deterministic random source. Same seed, same sequence, on every machine. */
export class Prng {
  /**
   * sfc32's a, b, c and counter d. Kept in a typed array, not in four fields: a field holding
   * a number past 2^30 gets a new heap box at every store, i.e. every draw allocated one.
   */
  private readonly state = new Uint32Array(4);

  constructor(readonly seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      // splitmix32 spreads a small seed over the whole state.
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    for (let i = 0; i < 4; i += 1) this.state[i] = next();
  }

  /** Uniform unsigned 32-bit integer. */
  nextU32(): number {
    // sfc32: small, fast, passes PractRand for our needs. A store wraps modulo 2^32.
    const st = this.state;
    const a = st[0] as number;
    const b = st[1] as number;
    const c = st[2] as number;
    const d = st[3] as number;
    const t = (((a + b) >>> 0) + d) >>> 0;
    st[3] = d + 1;
    st[0] = b ^ (b >>> 9);
    st[1] = c + (c << 3);
    st[2] = ((c << 21) | (c >>> 11)) + t;
    return t;
  }

  /** Uniform integer in [0, bound). `bound` must be in 1..2^32. */
  below(bound: number): number {
    if (!(bound >= 1 && bound <= 0x1_0000_0000)) throw new RangeError(`bound ${bound}`);
    return Math.floor((this.nextU32() / 0x1_0000_0000) * bound);
  }

  /** Uniform integer in [min, max] inclusive. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.nextU32() / 0x1_0000_0000 < p;
  }

  /** `length` random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 1) out[i] = this.nextU32() & 0xff;
    return out;
  }

  /** An independent child stream, so adding draws in one component does not shift another. */
  fork(label: string): Prng {
    let h = this.seed >>> 0;
    for (let i = 0; i < label.length; i += 1)
      h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0;
    return new Prng(h);
  }
}
