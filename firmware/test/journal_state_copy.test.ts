// A state's copy (what a reader keeps at a resume point) is the state its own snapshot
// rebuilds: the same checkpoint, the same answers, and the same after any later records,
// whether it tracks the last finals (a validator) or not (verify, export, an upload pass).

import { describe, expect, it } from 'vitest';

import { checkpointEncode } from '../src/app/journal/journal_checkpoint.js';
import { CHAIN_GENESIS_HASH } from '../src/app/journal/journal_frame.js';
import { journalEntryNormalise } from '../src/app/journal/journal_records.js';
import type { JournalRecord } from '../src/app/journal/journal_records.js';
import { JournalState, LAST_FINAL_KEEP_RECORDS } from '../src/app/journal/journal_state.js';
import { WALL_EPOCH_MS, card, newPrng, randomEntries } from './journal_fixtures.js';

/**
 * Random records: over 64 finals, acks, and more than LAST_FINAL_KEEP_RECORDS of them with every
 * ninth dated far ahead (the newest time jumps ahead and back: a card's last final a snapshot
 * leaves while the clock is ahead counts again after it).
 */
function records(): JournalRecord[] {
  return randomEntries(newPrng(23), LAST_FINAL_KEEP_RECORDS + 400).map((raw, i) => ({
    seq: i + 1,
    timeWallMs: i === 0 ? 0 : WALL_EPOCH_MS * (i % 9 === 0 ? 1000 : 1) + i,
    entry: journalEntryNormalise(raw, 'test'),
  }));
}

/** What tells two states apart: their checkpoint, and what the rules ask of them. */
function facets(state: JournalState): unknown {
  const checkpoint = checkpointEncode({
    firstSeq: state.lastSeq + 1, headHash: CHAIN_GENESIS_HASH, state: state.snapshot(),
  });
  const first = card(1);
  return {
    checkpoint: Buffer.from(checkpoint).toString('hex'),
    key: state.continuityKey(),
    unacknowledged: state.unacknowledgedFinalCount(),
    lastFinal: state.lastFinalFor(first.panToken, first.psn),
    held: [...state.heldRecords()].map((held) => held.seq),
  };
}

describe('journal state copy', () => {
  for (const trackLastFinals of [true, false]) {
    it(`copy_isWhatItsSnapshotRebuilds_beforeAndAfterLaterRecords (${trackLastFinals})`, () => {
      const all = records();
      const state = new JournalState(trackLastFinals);
      const pairs: { copy: JournalState; rebuilt: JournalState }[] = [];
      for (const record of all) {
        expect(state.check(record.entry, record.seq)).toBeNull();
        state.apply(record);
        for (const { copy, rebuilt } of pairs) {
          copy.apply(record);
          rebuilt.apply(record);
          if (record.seq % 11 === 0) expect(facets(copy)).toEqual(facets(rebuilt));
        }
        // Some copies while the newest record is dated far ahead (see records).
        if (record.seq % 271 !== 0 && (record.seq % 279 !== 1 || record.seq < 279)) continue;
        const rebuilt = JournalState.fromSnapshot(state.snapshot(), trackLastFinals);
        if (typeof rebuilt === 'string') throw new Error(rebuilt);
        const copy = state.copy();
        expect(facets(copy)).toEqual(facets(rebuilt));
        expect(facets(copy)).toEqual(facets(state));
        pairs.push({ copy, rebuilt });
      }
      expect(pairs.length).toBeGreaterThan(5);
    });
  }
});
