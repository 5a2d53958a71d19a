// The riders of `shuaka sim`: how many deny-listed T-Union cards board a run of a given size.
// Truth: the pool's own list of deny-listed cards, matched by identity against the taps drawn.

import { describe, expect, it } from 'vitest';
import { testPki } from '../../src/pki/test_pki.js';
import { Prng } from '../../src/prng.js';
import { drawRiderTaps, riderPool } from '../../src/sim/bus_riders.js';
import { testSeed } from './support/sim_ride.js';

const SEED = testSeed(5);

function deniedBoarding(riders: number): { cards: number; taps: number } {
  const pool = riderPool(SEED, 4, testPki(), 'realistic', true, true);
  const denied = new Set<unknown>(pool.tunionDenied.map((r) => r.card));
  const taps = drawRiderTaps(new Prng(SEED).fork('riders'), pool, riders, 0)
    .filter((tap) => denied.has(tap.card.card));
  return { cards: new Set(taps.map((tap) => tap.card.card)).size, taps: taps.length };
}

describe(`sim riders, seed ${SEED}`, () => {
  it('a short run carries one deny-listed T-Union card, not one a group', () => {
    expect(deniedBoarding(5)).toEqual({ cards: 1, taps: 2 });
  });

  it('one deny-listed card boards for every ten riders, up to one a group', () => {
    expect(deniedBoarding(25).cards).toBe(3);
    expect(deniedBoarding(40)).toEqual({ cards: 4, taps: 8 });
    expect(deniedBoarding(400).cards).toBe(4);
  });
});
