// A torn tap whose recovery tore again, then was recovered: one clearing record, and nothing
// of that card transaction left uncertain (swarm seed 287 on an earlier main: the second torn
// record has no pending, the recovery's final names none, so the first torn record stayed
// open and the card's next tap recovered it again, a second clearing record for one debit).

import { describe, expect, it } from 'vitest';
import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import {
  card,
  clearing,
  journalOptions,
  newClock,
  newPrng,
  recovery,
  torn,
} from './journal_fixtures.js';

/** A torn record of a recovery that tore: no pending of its own, uncertain. */
function tornOwn(cardKey: ReturnType<typeof card>, atc: number): JournalEntry {
  const reason = 'torn: link-lost';
  return { kind: 'torn', pendingSeq: null, recovery: recovery(cardKey, atc), uncertain: true, reason };
}

async function opened(sim: StorageSim): Promise<Journal> {
  const result = await Journal.open(sim, journalOptions(newClock()));
  if (!result.ok) throw new Error(`open: ${result.detail}`);
  return result.value.journal;
}

describe('a recovery that tore again, then recovered', () => {
  it('finalOfTheSameCardTransaction_settlesBothTornRecords_alsoAfterReopen', async () => {
    const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(287), tornModes: ['prefix'] });
    const journal = await opened(sim);
    const a = card(7);
    const other = card(8);
    const entries: JournalEntry[] = [
      { kind: 'pending', recovery: recovery(a, 715), fareRule: 'flat', amountMinor: 200 }, // 1
      torn(1, a, 715), // 2: the tap tore after the card's commit
      // 3: its recovery tore again: a torn record of its own (a pending is torn only once)
      tornOwn(a, 715),
      // 4: another card's open torn tap, and 5: the same card's older transaction
      { kind: 'pending', recovery: recovery(other, 715), fareRule: 'flat', amountMinor: 200 },
      torn(4, other, 715),
      // 6: the recovery of record 3 succeeded: its final names no pending
      { kind: 'final', pendingSeq: null, clearing: clearing(a, 715) },
    ];
    for (const entry of entries) {
      const appended = await journal.append(entry);
      expect(appended.ok, `append ${entry.kind}`).toBe(true);
    }
    // Nothing of card a's transaction 715 is left to recover; card b's torn tap still is.
    expect(journal.uncertainForCard(a.panToken, a.psn)).toEqual([]);
    expect(journal.uncertainAll().map((tap) => tap.seq)).toEqual([5]);
    const again = await opened(sim);
    expect(again.uncertainForCard(a.panToken, a.psn)).toEqual([]);
    expect(again.uncertainAll().map((tap) => tap.seq)).toEqual([5]);
  });

  it('finalOfAnotherAtc_leavesTheTornTapOpen', async () => {
    const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(288), tornModes: ['prefix'] });
    const journal = await opened(sim);
    const a = card(7);
    const entries: JournalEntry[] = [
      { kind: 'pending', recovery: recovery(a, 715), fareRule: 'flat', amountMinor: 200 },
      torn(1, a, 715),
      { kind: 'final', pendingSeq: null, clearing: clearing(a, 716) },
    ];
    for (const entry of entries) expect((await journal.append(entry)).ok).toBe(true);
    expect(journal.uncertainForCard(a.panToken, a.psn).map((tap) => tap.seq)).toEqual([2]);
  });
});
