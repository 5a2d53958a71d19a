// Journal units from file names: each journal's pattern is its own, whatever the order in
// which names are asked for (the pattern of a name is made once and kept).

import { describe, expect, it } from 'vitest';

import { journalUnits } from '../src/app/journal/journal_files.js';

const NAMES = [
  'journal.bin', 'journal-0000000100.ckpt', 'journal-0000000100.bin', 'journal-0000000200.ckpt',
  'a+b.log', 'a+b-0000000050.ckpt', 'a+b-0000000050.log', 'a+b-0000000050.bin',
  'aab-0000000050.log', 'journal-0000000300.log', 'data.key',
];

describe('journal units', () => {
  it('eachFileName_findsItsOwnUnitsOnly_askedInAnyOrder', () => {
    const asked = ['journal.bin', 'a+b.log', 'journal.bin', 'a+b.log', 'journal.bin'];
    for (const fileName of asked) {
      const units = journalUnits(fileName, NAMES);
      if (fileName === 'journal.bin') {
        expect(units.map((unit) => [unit.firstSeq, unit.segmentExists, unit.checkpointExists]))
          .toEqual([[1, true, true], [100, true, true], [200, false, true]]);
        expect(units[1]?.segment).toBe('journal-0000000100.bin');
      } else {
        // 'aab-…' would match a pattern that did not escape the '+'.
        expect(units.map((unit) => [unit.firstSeq, unit.segmentExists, unit.checkpointExists]))
          .toEqual([[1, true, true], [50, true, true]]);
        expect(units[1]?.checkpoint).toBe('a+b-0000000050.ckpt');
      }
    }
  });
});
