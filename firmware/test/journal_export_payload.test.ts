// The export line of a record's payload (journalExportPayloadLine, the upload's and the CLI's
// stream) against the line of the decoded record (journalExportLine): the same text, byte for
// byte, for every kind, canonical or not.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import {
  journalExportContext, journalExportLine, journalExportPayloadLine,
} from '../src/app/journal/journal_export.js';
import { CHAIN_GENESIS_HASH } from '../src/app/journal/journal_frame.js';
import { journalPayloadDecode } from '../src/app/journal/journal_records.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { SegmentScanner, journalScan } from '../src/app/journal/journal_scan.js';
import { JournalState } from '../src/app/journal/journal_state.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, journalOptions, newClock, newPrng, scriptedEntries,
} from './journal_fixtures.js';
import { tunionBlockedEntries, tunionEntries } from './journal_tunion_fixtures.js';

async function journalBytes(entries: readonly JournalEntry[]): Promise<Uint8Array> {
  const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(3), tornModes: ['prefix'] });
  const opened = await Journal.open(sim, journalOptions(newClock()));
  if (!opened.ok) throw new Error(opened.detail);
  for (const entry of entries) {
    const result = await opened.value.journal.append(entry);
    if (!result.ok) throw new Error(`${entry.kind}: ${result.detail}`);
  }
  return sim.durableBytes(JOURNAL_FILE);
}

describe('journalExportPayloadLine', () => {
  it('isTheDecodedRecordsLine_forEveryKind', async () => {
    const scripted = scriptedEntries();
    const [grey, final] = tunionEntries(1, 17, scripted.length + 1);
    const [greyLone, finalLone] = tunionEntries(2, 18, null);
    const legacy = { ...finalLone, mac2Verified: null };
    const bytes = await journalBytes([...scripted, grey, final, greyLone, finalLone, legacy,
      ...tunionBlockedEntries(3)]);
    const whole = journalScan(bytes, JOURNAL_FILE, true);
    expect(whole.corruption).toBeNull();
    // Every record exported: the ack left aside, the open taps as the end says.
    const context = { ...journalExportContext(whole.state, FIXTURE_VAULT), ackThroughSeq: 0 };
    const kinds = new Map<string, number>();
    let canonical = 0;
    const scanner = new SegmentScanner(JOURNAL_FILE,
      { state: new JournalState(), headHash: CHAIN_GENESIS_HASH }, true, null,
      (seq, kind, payload, facts) => {
        const decoded = { seq, ...journalPayloadDecode(kind, payload, JOURNAL_FILE) };
        const expected = journalExportLine(decoded, context);
        expect(journalExportPayloadLine(seq, kind, payload, facts, context), `seq ${seq}`)
          .toEqual(expected);
        if (expected !== null) kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        if (facts !== null) canonical += 1;
      });
    expect('end' in scanner.scan(bytes, true)).toBe(true);
    expect(canonical).toBeGreaterThan(whole.records.length - 2);
    expect(kinds.get('tunion_final')).toBe(3);
    expect(kinds.get('tunion_grey')).toBe(2);
    expect(kinds.get('final')).toBeGreaterThan(0);
  });
});
