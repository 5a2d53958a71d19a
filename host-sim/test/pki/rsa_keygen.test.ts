// Seeded RSA key generation: exact sizes, exponent rules, determinism, private op vs BigInt.

import { describe, expect, it } from 'vitest';
import { Prng } from '../../src/prng.js';
import { generateRsaKeyPair, rsaKeyFromPrimes, rsaPrivate } from '../../src/pki/rsa_keygen.js';
import { withSeed, testSeeds } from '../cards/support/seeded.js';
import { recover } from '../cards/support/emv_verifier.js';
import { hex, toHexT } from '../cards/support/tlv_walk.js';

/** Trial division by odd numbers below `bound`: the primes must not have small factors. */
function hasSmallFactor(n: bigint, bound: number): boolean {
  for (let d = 3n; d < BigInt(bound); d += 2n) if (n % d === 0n) return true;
  return false;
}

describe('generateRsaKeyPair', () => {
  for (const seed of testSeeds([1, 99])) {
    for (const [bits, e] of [
      [512, 3],
      [1024, 65537],
      [1152, 3],
    ] as const) {
      it(`seed${seed}_${bits}bits_e${e}_isAValidKey`, () => {
        withSeed(seed, () => {
          const key = generateRsaKeyPair(new Prng(seed), bits, e);
          expect(key.n.toString(2).length).toBe(bits);
          expect(key.bits).toBe(bits);
          expect(key.p * key.q).toBe(key.n);
          expect(hasSmallFactor(key.p, 5000) || hasSmallFactor(key.q, 5000)).toBe(false);
          if (e === 3) {
            expect(key.p % 3n).toBe(2n);
            expect(key.q % 3n).toBe(2n);
          } else {
            expect((key.p - 1n) % 65537n === 0n || (key.q - 1n) % 65537n === 0n).toBe(false);
          }
          // Round trip: the node:crypto private op, then the BigInt public op written in the test.
          const message = new Uint8Array(bits / 8).fill(0xbb);
          message[0] = 0x6a;
          const signature = rsaPrivate(key, message);
          const modulus = hex(key.n.toString(16));
          const exponent = hex(e === 3 ? '03' : '010001');
          expect(toHexT(recover({ modulus, exponent }, signature))).toBe(toHexT(message));
          expect(generateRsaKeyPair(new Prng(seed), bits, e).n).toBe(key.n);
        });
      });
    }
  }

  it('differentSeeds_differentKeys', () => {
    const a = generateRsaKeyPair(new Prng(1), 512, 3);
    const b = generateRsaKeyPair(new Prng(2), 512, 3);
    expect(a.n).not.toBe(b.n);
  });

  it('rejectsSizesOutsideEmvRange', () => {
    expect(() => generateRsaKeyPair(new Prng(1), 2048, 3)).toThrow(RangeError);
    expect(() => generateRsaKeyPair(new Prng(1), 1020, 3)).toThrow(RangeError);
  });

  it('rsaKeyFromPrimes_rebuildsTheSameKey', () => {
    const key = generateRsaKeyPair(new Prng(5), 512, 65537);
    const again = rsaKeyFromPrimes(key.p, key.q, key.e);
    expect(again.d).toBe(key.d);
    expect((key.d * key.e) % (((key.p - 1n) * (key.q - 1n)) / 2n)).not.toBe(0n);
  });

  it('rsaPrivate_rejectsWrongLength', () => {
    const key = generateRsaKeyPair(new Prng(5), 512, 3);
    expect(() => rsaPrivate(key, new Uint8Array(63))).toThrow(RangeError);
  });
});
