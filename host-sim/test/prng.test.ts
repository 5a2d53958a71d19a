// Prng: sfc32 seeded through splitmix32, checked against a plain BigInt restatement of both
// published algorithms (the simulator's runs must replay draw for draw on every machine).

import { describe, expect, it } from 'vitest';
import { Prng } from '../src/prng.js';

const M32 = 0xffff_ffffn;

/** splitmix32 (the seeding) and sfc32 (the stream), in BigInt with explicit 32-bit masks. */
function referenceDraws(seed: number, count: number): number[] {
  let s = BigInt(seed >>> 0);
  const mix = (): bigint => {
    s = (s + 0x9e3779b9n) & M32;
    let z = s;
    z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & M32;
    z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & M32;
    return z ^ (z >> 16n);
  };
  let a = mix();
  let b = mix();
  let c = mix();
  let counter = mix();
  const out: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const t = (a + b + counter) & M32;
    counter = (counter + 1n) & M32;
    a = b ^ (b >> 9n);
    b = (c + (c << 3n)) & M32;
    c = ((((c << 21n) | (c >> 11n)) & M32) + t) & M32;
    out.push(Number(t));
  }
  return out;
}

describe('Prng', () => {
  it('nextU32_isSfc32SeededBySplitmix32_drawForDraw', () => {
    for (const seed of [0, 1, 7, 0x7fff_ffff, 0xdead_beef, 0xffff_ffff]) {
      const prng = new Prng(seed);
      const draws = Array.from({ length: 2000 }, () => prng.nextU32());
      expect(draws, `seed ${seed}`).toEqual(referenceDraws(seed, 2000));
    }
  });

  it('below_andChance_scaleTheSameDraws', () => {
    const ref = referenceDraws(42, 3);
    const prng = new Prng(42);
    expect(prng.below(1000)).toBe(Math.floor(((ref[0] ?? 0) / 2 ** 32) * 1000));
    expect(prng.chance(0.5)).toBe((ref[1] ?? 0) / 2 ** 32 < 0.5);
    expect(prng.between(10, 12)).toBe(10 + Math.floor(((ref[2] ?? 0) / 2 ** 32) * 3));
  });
});
