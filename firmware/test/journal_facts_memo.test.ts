// The memo of payload checks: a record recalled by its seq and chain hash gets the facts the
// check gave its payload; another chain hash, or another seq in the same place, is checked
// afresh. A journal read after its writer remembered every record makes the lines the decoder
// makes of the same records.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import {
  journalExportLine, journalExportPayloadLine,
} from '../src/app/journal/journal_export.js';
import { PayloadFactsMemo } from '../src/app/journal/journal_facts_memo.js';
import { chainHash, CHAIN_GENESIS_HASH } from '../src/app/journal/journal_frame.js';
import { PayloadFacts, payloadFastCheck } from '../src/app/journal/journal_payload_fast.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import { journalPayloadEncode } from '../src/app/journal/journal_records.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, journalOptions, newClock, newPrng, randomEntries,
} from './journal_fixtures.js';

function factsOf(facts: PayloadFacts): unknown {
  return { start: [...facts.start], end: [...facts.end], num: [...facts.num] };
}

describe('journal payload facts memo', () => {
  it('recall_givesTheChecksFacts_onlyForTheSameSeqAndChainHash', () => {
    const memo = new PayloadFactsMemo();
    const entries = randomEntries(newPrng(3), 40);
    const checked = new PayloadFacts();
    let prev = CHAIN_GENESIS_HASH;
    entries.forEach((entry, i) => {
      const seq = i + 1;
      const payload = journalPayloadEncode(1000 + i, entry);
      expect(payloadFastCheck(entry.kind, payload, checked)).toBe(true);
      const hash = chainHash(prev, payload);
      prev = hash;
      memo.remember(seq, hash, checked);
      const recalled = new PayloadFacts();
      const copy = payload.slice();
      expect(memo.recall(seq, hash, copy, recalled)).toBe(true);
      expect(recalled.bytes).toBe(copy);
      expect(factsOf(recalled)).toEqual(factsOf(checked));
      const other = hash.slice();
      other[31] = (other[31] ?? 0) ^ 1;
      const untouched = new PayloadFacts();
      expect(memo.recall(seq, other, copy, untouched)).toBe(false);
      expect(memo.recall(seq + 1024, hash, copy, untouched)).toBe(false);
      expect(factsOf(untouched)).toEqual(factsOf(new PayloadFacts()));
    });
  });

  it('turnedOff_forgetsWhatItHeld_andRemembersNothingMore', () => {
    const memo = new PayloadFactsMemo();
    const [entry] = randomEntries(newPrng(4), 1);
    if (entry === undefined) throw new Error('no entry');
    const payload = journalPayloadEncode(1000, entry);
    const checked = new PayloadFacts();
    expect(payloadFastCheck(entry.kind, payload, checked)).toBe(true);
    const hash = chainHash(CHAIN_GENESIS_HASH, payload);
    memo.remember(1, hash, checked);
    expect(memo.recall(1, hash, payload, new PayloadFacts())).toBe(true);
    memo.turnOff();
    expect(memo.recall(1, hash, payload, new PayloadFacts())).toBe(false);
    memo.remember(2, hash, checked);
    const untouched = new PayloadFacts();
    expect(memo.recall(2, hash, payload, untouched)).toBe(false);
    expect(factsOf(untouched)).toEqual(factsOf(new PayloadFacts()));
  });

  it('aJournalReadAfterItsWriterRememberedIt_givesTheDecodersLines', async () => {
    const sim = new StorageSim({ totalBytes: 1 << 24, prng: newPrng(9), tornModes: ['prefix'] });
    const options = { ...journalOptions(newClock(), 1 << 22), segmentBytesMax: 16_000 };
    const opened = await Journal.open(sim, options);
    if (!opened.ok) throw new Error(opened.detail);
    for (const entry of randomEntries(newPrng(9), 300)) {
      const appended = await opened.value.journal.append(entry);
      if (!appended.ok) throw new Error(`${appended.error} ${appended.detail}`);
    }
    // Every record was remembered by the writer: the lines made from recalled facts are those
    // of the decoded records (the decoder's verdicts, as a reader of other spellings gets).
    const context = { ackThroughSeq: 0, openSeqs: new Set<number>(), vault: FIXTURE_VAULT };
    const recalled: unknown[] = [];
    const read = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, false, {
      trackLastFinals: false,
      onPayload: (seq, kind, payload, facts) => {
        expect(facts).not.toBeNull();
        recalled.push(journalExportPayloadLine(seq, kind, payload, facts, context));
      },
    });
    const decoded = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
    expect(read.corruption).toBeNull();
    expect(decoded.corruption).toBeNull();
    expect(read.state.continuityKey()).toBe(decoded.state.continuityKey());
    expect(recalled).toEqual(decoded.records.map((record) => journalExportLine(record, context)));
    expect(recalled.filter((line) => line !== null).length).toBeGreaterThan(10);
  });
});
