// T-Union grey and final records through the journal: append, reopen, scan, export (the
// clearing line carries the card number, counters, terminal serial, TAC and ride, and nothing
// of the kernel's grey record), and the strict field rules with failing twins. The block
// record of a deny-listed card the same way: kept across checkpoints, counted, exported as a
// line of its own (no clearing, nothing uncertain), and refusing an outcome its status word
// contradicts.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal, JournalStatus } from '../src/app/journal/journal.js';
import { journalExport } from '../src/app/journal/journal_export.js';
import {
  journalEntryNormalise, journalPayloadDecode, journalPayloadEncode,
} from '../src/app/journal/journal_records.js';
import { PayloadFacts, payloadFastCheck } from '../src/app/journal/journal_payload_fast.js';
import { tunionExportObject } from '../src/app/journal/journal_tunion.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import { journalScan } from '../src/app/journal/journal_scan.js';
import type { TunionBlockedEntry } from '../src/app/journal/journal_tunion.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, card, clearing, journalOptions, newClock, newPrng,
} from './journal_fixtures.js';
import {
  tunionBlockedEntries, tunionBlockedEntry, tunionEntries,
} from './journal_tunion_fixtures.js';

async function written(entries: readonly JournalEntry[], segmentBytesMax?: number)
  : Promise<StorageSim> {
  const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(7), tornModes: ['prefix'] });
  const opened = await Journal.open(sim, { ...journalOptions(newClock()),
    ...(segmentBytesMax === undefined ? {} : { segmentBytesMax }) });
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

  it('a final written before mac2Verified reads as null and exports as it did then',
    async () => {
      const [grey, final] = tunionEntries(3, 21, 1);
      if (final?.kind !== 'tunion_final' || grey === undefined) throw new Error('fixture');
      // The old writer's payload: the same keys, none for mac2Verified.
      const { mac2Verified: _gone, ...old } = final;
      const payload = new TextEncoder().encode(JSON.stringify({ timeWallMs: 5, ...old }));
      const facts = new PayloadFacts();
      expect(payloadFastCheck('tunion_final', payload, facts)).toBe(false);
      const decoded = journalPayloadDecode('tunion_final', payload, 'old');
      expect(decoded.entry).toEqual({ ...final, mac2Verified: null });
      const line = tunionExportObject(2, 5, decoded.entry as typeof final);
      expect(Object.keys(line)).not.toContain('mac2Verified');
      expect(tunionExportObject(2, 5, final)['mac2Verified']).toBe(true);
      // A new record is canonical (read in place) and says it.
      const canonical = journalPayloadEncode(5, journalEntryNormalise(final, 'new'));
      expect(payloadFastCheck('tunion_final', canonical, facts)).toBe(true);
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

describe('T-Union block records', () => {
  it('survive checkpoints and a reopen, counted, opening and closing no tap', async () => {
    const [grey, final] = tunionEntries(1, 17, 1);
    const blocks = [10, 20, 30, 40].flatMap((n) => tunionBlockedEntries(n));
    // Small segments: the blocks span several checkpoints, each of which must agree.
    const sim = await written([grey, ...blocks], 2048);
    const checkpoints = [...sim.durableFiles().keys()].filter((f) => f.endsWith('.ckpt'));
    expect(checkpoints.length).toBeGreaterThan(1);
    const reopened = await Journal.open(sim, { ...journalOptions(newClock()),
      segmentBytesMax: 2048 });
    if (!reopened.ok) throw new Error(reopened.detail);
    const journal = reopened.value.journal;
    expect(journal.summary().countsByKind).toMatchObject({ tunion_grey: 1, tunion_blocked: 20 });
    // The grey stays the only open record: a block neither opens nor closes one.
    expect(journal.tunionOpenGreys().map((g) => g.seq)).toEqual([1]);
    const appended = await journal.append(final);
    expect(appended.ok).toBe(true);
    expect(journal.tunionOpenGreys()).toEqual([]);
    const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
    expect(scan.corruption).toBeNull();
    expect(scan.records.filter((r) => r.entry.kind === 'tunion_blocked').map((r) => r.entry))
      .toEqual(blocks);
    expect(scan.state.countsByKind.tunion_blocked).toBe(20);
  });

  it('exports each as a tunion_blocked line, neither clearing nor uncertain', async () => {
    const blocks = tunionBlockedEntries(1);
    const sim = await written(blocks);
    const scan = journalScan(sim.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true);
    const exported = journalExport(scan, FIXTURE_VAULT);
    expect([exported.clearingCount, exported.uncertainCount]).toEqual([0, 0]);
    const lines = exported.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // A final names its pending record; a pending record or a block never sent goes out as
    // lines did before pending records existed (no pendingSeq key).
    expect(lines).toEqual(blocks.map((b, i) => {
      const { kind: _kind, pendingSeq, ...rest } = b;
      const timeWallMs = scan.records[i]?.timeWallMs;
      return { type: 'tunion_blocked', seq: i + 1, timeWallMs, ...rest,
        ...(pendingSeq === null ? {} : { pendingSeq }) };
    }));
    expect(lines.map((l) => [l['blockOutcome'], 'pendingSeq' in l])).toEqual([
      ['blocked', true], ['not-confirmed', true], ['not-confirmed', true], ['not-sent', false],
      ['pending', false]]);
    expect(lines[2]).toMatchObject({ blockOutcome: 'not-confirmed', blockSwHex: '6988',
      card: { serialDigits: '03105170070000000003' }, terminalNumberHex: '112233445566' });
    const acked = await written([...blocks, { kind: 'ack', throughSeq: blocks.length }]);
    const ackedScan = journalScan(acked.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true);
    expect(journalExport(ackedScan, FIXTURE_VAULT).lines).toEqual([]);
  });

  it('leaves the reserve to the records that close a tap, as a new tap does', async () => {
    const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(8), tornModes: ['prefix'] });
    const opened = await Journal.open(sim, journalOptions(newClock(), 16_384, 4096));
    if (!opened.ok) throw new Error(opened.detail);
    const journal = opened.value.journal;
    const [grey, final] = tunionEntries(1, 17, 1);
    expect((await journal.append(grey)).ok).toBe(true);
    let refused = null;
    for (let n = 2; refused === null && n < 200; n += 1) {
      const written = await journal.append(tunionBlockedEntry(n, 'blocked', '9000'));
      if (!written.ok) refused = written.error;
    }
    expect(refused).toBe(JournalStatus.FULL);
    expect(journal.summary().sizeBytes).toBeLessThanOrEqual(16_384 - 4096);
    // The grey's final still fits: the blocks left the reserve alone.
    expect((await journal.append(final)).ok).toBe(true);
    // So does the final of a block whose pending record is written: the command went out.
    expect((await journal.append(tunionBlockedEntry(2, 'pending', ''))).ok).toBe(false);
    expect((await journal.append(tunionBlockedEntry(2, 'blocked', '9000', 2))).ok).toBe(true);
  });

  const good = tunionBlockedEntry(4, 'not-confirmed', '6988');
  const blockTwins: [string, TunionBlockedEntry][] = [
    ['blocked without the card\'s 9000', { ...good, blockOutcome: 'blocked' }],
    ['not-confirmed with 9000', { ...good, blockSwHex: '9000' }],
    ['not-sent with an answer', { ...good, blockOutcome: 'not-sent' }],
    ['pending with an answer', { ...good, blockOutcome: 'pending', pendingSeq: null }],
    ['pending naming a pending record', { ...good, blockOutcome: 'pending', blockSwHex: '',
      pendingSeq: 3 }],
    ['not-sent naming a pending record', { ...good, blockOutcome: 'not-sent', blockSwHex: '',
      pendingSeq: 3 }],
    ['a pending seq of 0', { ...good, pendingSeq: 0 }],
    ['a 1-byte status word', { ...good, blockSwHex: '69' }],
    ['an unknown outcome', { ...good, blockOutcome: 'locked' as 'blocked' }],
    ['a 5-byte terminal number', { ...good, terminalNumberHex: '1122334455' }],
    ['a 13-digit date-time', { ...good, dateTimeDigits: '2026120308300' }],
    ['a 19-digit card number', { ...good,
      card: { ...good.card, serialDigits: good.card.serialDigits.slice(1) } }],
    ['a negative parameter version', { ...good, paramsVersion: -1 }],
  ];

  it.each(blockTwins)('refuses a block with %s (its good twin passes)', (_name, bad) => {
    expect(journalEntryNormalise(good, 'journal')).toEqual(good);
    expect(() => journalEntryNormalise(bad, 'journal')).toThrow();
  });
});
