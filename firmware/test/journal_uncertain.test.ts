// The uncertain taps' index by PAN token against a walk over every entry (what
// settleTransaction did before it), on seeded random sets, re-sets and deletes.

import { describe, expect, it } from 'vitest';

import { Prng } from '../../host-sim/src/prng.js';
import { UncertainTaps } from '../src/app/journal/journal_uncertain.js';

interface Slot {
  readonly held: { readonly panToken: string };
  readonly tag: number;
}

/** The seqs of `panToken`'s slots by walking the map, in its order. */
function walked(taps: ReadonlyMap<number, Slot>, panToken: string): number[] {
  return [...taps].filter(([, slot]) => slot.held.panToken === panToken).map(([seq]) => seq);
}

describe('UncertainTaps', () => {
  it('seqsOfToken_equalsAWalkOverEveryEntry_afterSeededSetsResetsDeletesAndClears', () => {
    for (const seed of [1, 2, 3, 0x0a11]) {
      const prng = new Prng(seed);
      const taps = new UncertainTaps<Slot>();
      const plain = new Map<number, Slot>();
      const tokens = ['A', 'B', 'C', 'D', 'E'];
      for (let step = 0; step < 3000; step += 1) {
        const seq = 1 + prng.below(60);
        const roll = prng.below(100);
        if (roll < 55) {
          // A new slot, or one set again under another token.
          const slot = { held: { panToken: tokens[prng.below(tokens.length)] ?? 'A' }, tag: step };
          taps.set(seq, slot);
          plain.set(seq, slot);
        } else if (roll < 99) {
          expect(taps.delete(seq), `seed ${seed} step ${step}`).toBe(plain.delete(seq));
        } else {
          taps.clear();
          plain.clear();
        }
        expect([...taps], `seed ${seed} step ${step}`).toEqual([...plain]);
        for (const token of [...tokens, 'absent']) {
          const indexed = [...taps.seqsOfToken(token)].sort((a, b) => a - b);
          const expected = walked(plain, token).sort((a, b) => a - b);
          expect(indexed, `seed ${seed} step ${step} token ${token}`).toEqual(expected);
        }
      }
    }
  });

  it('seqsOfToken_isACopy_thatTheCallerMayDeleteFromTheMapWhileWalking', () => {
    const taps = new UncertainTaps<Slot>();
    for (let seq = 1; seq <= 5; seq += 1) taps.set(seq, { held: { panToken: 'T' }, tag: seq });
    taps.set(6, { held: { panToken: 'U' }, tag: 6 });
    for (const seq of taps.seqsOfToken('T')) taps.delete(seq);
    expect([...taps.keys()]).toEqual([6]);
    expect(taps.seqsOfToken('T')).toEqual([]);
    expect(taps.seqsOfToken('U')).toEqual([6]);
  });
});
