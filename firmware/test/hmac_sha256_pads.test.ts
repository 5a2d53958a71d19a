// HmacSha256Pads against node:crypto's createHmac: keys of every length up to a block,
// messages of every length up to the room, and a message shorter than the one before it.

import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import { testSeed } from '../../host-sim/test/sim/support/sim_ride.js';
import { HmacSha256Pads } from '../src/app/hmac_sha256_pads.js';

describe('HmacSha256Pads', () => {
  it('givesCreateHmacsMac_forEveryKeyAndMessageLength', () => {
    const seed = testSeed(41);
    const prng = new Prng(seed);
    for (let keyBytes = 0; keyBytes <= 64; keyBytes += 1) {
      const key = prng.bytes(keyBytes);
      const pads = new HmacSha256Pads(key, 40);
      for (const length of [40, 0, 1 + prng.below(39), 20]) {
        const message = prng.bytes(length);
        pads.inner.set(message, HmacSha256Pads.MESSAGE_AT);
        const truth = createHmac('sha256', key).update(message).digest();
        expect(pads.mac(length).equals(truth), `seed ${seed} key ${keyBytes}`).toBe(true);
      }
    }
    expect(() => new HmacSha256Pads(new Uint8Array(65), 1)).toThrow(RangeError);
  });
});
