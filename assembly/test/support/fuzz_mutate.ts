// The byte mutator shared by the kernel's fuzz suites: small edits that reach every decoder branch.

import type { Prng } from '../../../host-sim/src/prng.js';

/** BER long-form lengths that claim far more than any answer holds. */
const HUGE_LENGTHS: readonly (readonly number[])[] = [
  [0x81, 0xff],
  [0x82, 0xff, 0xff],
  [0x83, 0x7f, 0xff, 0xff],
];

/**
 * One to three random edits of `bytes`: bit flip, byte set, truncation, duplication of a slice,
 * a huge BER length, one of `specials` inserted, or a deletion. The result is cut to
 * `lengthMax` bytes.
 */
export function fuzzMutate(
  prng: Prng,
  bytes: Uint8Array,
  specials: readonly number[],
  lengthMax: number,
): Uint8Array {
  const out = Array.from(bytes);
  const rounds = 1 + prng.below(3);
  for (let r = 0; r < rounds; r += 1) {
    const at = out.length === 0 ? 0 : prng.below(out.length);
    switch (prng.below(7)) {
      case 0:
        if (out.length > 0) out[at] = (out[at] ?? 0) ^ (1 << prng.below(8));
        break;
      case 1:
        if (out.length > 0) out[at] = prng.below(256);
        break;
      case 2:
        out.length = prng.below(out.length + 1);
        break;
      case 3:
        out.splice(at, 0, ...out.slice(at, at + 1 + prng.below(8)));
        break;
      case 4:
        out.splice(at, 0, ...(HUGE_LENGTHS[prng.below(HUGE_LENGTHS.length)] ?? []));
        break;
      case 5:
        out.splice(at, 0, specials[prng.below(specials.length)] ?? 0);
        break;
      default:
        out.splice(at, 1 + prng.below(4));
        break;
    }
  }
  return Uint8Array.from(out.slice(0, lengthMax));
}
