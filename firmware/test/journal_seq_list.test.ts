// SeqList keeps the finals as arithmetic runs: every answer must be the one a plain sorted
// array of the same seqs gives (the independent truth), whatever the spacing.

import { describe, expect, it } from 'vitest';

import { SeqList } from '../src/app/journal/journal_seq_list.js';
import { newPrng } from './journal_fixtures.js';

/** Ascending seqs with spacings drawn from a few patterns (runs, breaks, single steps). */
function seqsOf(seed: number, count: number): number[] {
  const prng = newPrng(seed);
  const out: number[] = [];
  let seq = 1 + prng.below(5);
  let step = 2;
  for (let i = 0; i < count; i += 1) {
    out.push(seq);
    if (prng.chance(0.1)) step = 1 + prng.below(4);
    seq += prng.chance(0.05) ? 1 + prng.below(9) : step;
  }
  return out;
}

describe('SeqList', () => {
  it('answersAsASortedArray_forRandomSpacings', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const seqs = seqsOf(seed, 2000);
      const list = new SeqList();
      for (const seq of seqs) list.push(seq);
      expect(list.length).toBe(seqs.length);
      expect(list.toArray()).toEqual(seqs);
      const last = seqs.at(-1) ?? 0;
      for (let probe = 0; probe <= last + 2; probe += 1) {
        expect(list.indexOf(probe), `seed ${seed} probe ${probe}`).toBe(seqs.indexOf(probe));
        const above = seqs.filter((s) => s > probe).length;
        expect(list.countAbove(probe), `seed ${seed} probe ${probe}`).toBe(above);
      }
      const keep = (seq: number, index: number): boolean => seq % 3 !== 0 || index > 1900;
      expect([...list.filtered(keep)]).toEqual(seqs.filter((s, i) => keep(s, i)));
      list.retain(keep);
      const kept = seqs.filter((s, i) => keep(s, i));
      expect(list.toArray()).toEqual(kept);
      expect(list.indexOf(kept[10] ?? 0)).toBe(10);
    }
  });

  it('dropFirst_isTheArraysTail_thenAnswersAndGrowsAsOne', () => {
    for (const seed of [6, 7, 8]) {
      const seqs = seqsOf(seed, 600);
      const last = seqs.at(-1) ?? 0;
      for (const drop of [0, 1, 2, 3, 17, 64, 299, 300, 599, 600, 700]) {
        const list = new SeqList();
        for (const seq of seqs) list.push(seq);
        list.dropFirst(drop);
        const tail = seqs.slice(drop);
        expect(list.length).toBe(tail.length);
        expect(list.toArray(), `seed ${seed} drop ${drop}`).toEqual(tail);
        for (let probe = 0; probe <= last + 2; probe += 1) {
          expect(list.indexOf(probe), `seed ${seed} drop ${drop} probe ${probe}`)
            .toBe(tail.indexOf(probe));
          expect(list.countAbove(probe)).toBe(tail.filter((s) => s > probe).length);
        }
        // Pushes go on after it (a partial first run, an emptied list).
        const more = [last + 2, last + 4, last + 5, last + 9];
        for (const seq of more) list.push(seq);
        expect(list.toArray()).toEqual([...tail, ...more]);
        expect(list.indexOf(last + 5)).toBe(tail.length + 2);
        // The same as retain with the suffix predicate it stands for.
        const kept = new SeqList();
        for (const seq of seqs) kept.push(seq);
        kept.retain((_, index) => index >= drop);
        expect(kept.toArray()).toEqual(tail);
      }
    }
  });

  it('holdsAMillionAlternatingFinals_inAFewRuns_andRefusesOrderBreaks', () => {
    const list = new SeqList();
    for (let seq = 2; seq <= 2_000_000; seq += 2) list.push(seq);
    expect(list.length).toBe(1_000_000);
    expect(list.indexOf(1_000_000)).toBe(499_999);
    expect(list.indexOf(999_999)).toBe(-1);
    expect(list.countAbove(1_999_998)).toBe(1);
    expect(() => list.push(2_000_000)).toThrow(RangeError);
    expect(() => new SeqList().push(0)).toThrow(RangeError);
  });
});
