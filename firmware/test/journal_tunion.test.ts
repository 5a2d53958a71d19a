// T-Union grey and final records through the journal: append, reopen, scan, export (the
// clearing line carries the card number, counters, terminal serial, TAC and ride, and nothing
// of the kernel's grey record), and the strict field rules with failing twins.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import { journalExport } from '../src/app/journal/journal_export.js';
import { journalEntryNormalise } from '../src/app/journal/journal_records.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { journalScan } from '../src/app/journal/journal_scan.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, card, clearing, journalOptions, newClock, newPrng,
} from './journal_fixtures.js';
import { tunionEntries } from './journal_tunion_fixtures.js';

async function written(entries: readonly JournalEntry[]): Promise<StorageSim> {
  const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(7), tornModes: ['prefix'] });
  const opened = await Journal.open(sim, journalOptions(newClock()));
  if (!opened.ok) throw new Error(opened.detail);
  for (const entry of entries) {
    const result = await opened.value.journal.append(entry);
    if (!result.ok) throw new Error(`${entry.kind}: ${result.detail}`);
  }
  return sim;
}

describe('T-Union journal records', () => {
  it('a grey and its final survive a reopen beside qPBOC records', async () => {
    const [grey, final] = tunionEntries(1, 17, 2);
    const qpboc: JournalEntry = { kind: 'final', pendingSeq: null, clearing: clearing(card(3), 9) };
    const sim = await written([qpboc, grey, final]);
    const reopened = await Journal.open(sim, journalOptions(newClock()));
    expect(reopened.ok).toBe(true);
    if (!reopened.ok) return;
    const summary = reopened.value.journal.summary();
    expect(summary.lastSeq).toBe(3);
    expect(summary.countsByKind).toMatchObject({ final: 1, tunion_grey: 1, tunion_final: 1 });
    const scan = journalScan(sim.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true);
    expect(scan.records.map((r) => r.entry)).toEqual([qpboc, grey, final]);
  });

  it('exports the final as a clearing line with what clearing needs, and the grey apart', async () => {
    const [grey, final] = tunionEntries(1, 17, 1);
    const sim = await written([grey, final]);
    const scan = journalScan(sim.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true);
    const exported = journalExport(scan, FIXTURE_VAULT);
    expect(exported.clearingCount).toBe(1);
    const lines = exported.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['type'])).toEqual(['tunion_grey', 'tunion_clearing']);
    expect(lines[1]).toMatchObject({
      seq: 2, greySeq: 1, tacHex: '55667788', balanceAfterMinor: 4700, terminalId: 'BUS00001',
      card: { serialDigits: '03105170070000000001', issuerIdHex: '01011000FFFFFFFF' },
      purchase: { atc: 17, terminalSerial: 41, amountMinor: 300, terminalNumberHex: '112233445566' },
      ride: { boardingStop: 3, alightingStop: 8, fareMinor: 400, discountMinor: 100 },
    });
    for (const line of exported.lines) expect(line).not.toMatch(/kernelRecord|4A0100/);
  });

  it('an ack covers T-Union lines like any other', async () => {
    const [grey, final] = tunionEntries(2, 18, 1);
    const sim = await written([grey, final, { kind: 'ack', throughSeq: 2 }]);
    const scan = journalScan(sim.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true);
    expect(journalExport(scan, FIXTURE_VAULT).lines).toEqual([]);
  });

  const [goodGrey, goodFinal] = tunionEntries(3, 19, 1);
  const twins: [string, JournalEntry][] = [
    ['a 19-digit card number', { ...goodFinal,
      card: { ...goodFinal.card, serialDigits: goodFinal.card.serialDigits.slice(1) } }],
    ['a 3-byte TAC', { ...goodFinal, tacHex: '556677' }],
    ['a 5-byte terminal number', { ...goodFinal,
      purchase: { ...goodFinal.purchase, terminalNumberHex: '1122334455' } }],
    ['an ATC above 16 bits', { ...goodFinal, purchase: { ...goodFinal.purchase, atc: 65536 } }],
    ['a stop above 255', { ...goodGrey, ride: { ...goodGrey.ride, alightingStop: 256 } }],
    ['a 13-digit date-time', { ...goodGrey,
      purchase: { ...goodGrey.purchase, dateTimeDigits: '2026120308300' } }],
    ['an empty kernel record', { ...goodGrey, kernelRecordHex: '' }],
  ];

  it.each(twins)('refuses %s (its good twin passes)', (_name, bad) => {
    expect(journalEntryNormalise(goodGrey, 'journal')).toEqual(goodGrey);
    expect(journalEntryNormalise(goodFinal, 'journal')).toEqual(goodFinal);
    expect(() => journalEntryNormalise(bad, 'journal')).toThrow();
  });
});
