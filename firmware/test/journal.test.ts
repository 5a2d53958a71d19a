// Journal behaviour on StorageSim: round trip, reference rules, reserve, corruption, I/O failure.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal, JOURNAL_REOPEN_INTERVAL_MS, JournalStatus } from '../src/app/journal/journal.js';
import { journalExport } from '../src/app/journal/journal_export.js';
import { FRAME_OVERHEAD_BYTES } from '../src/app/journal/journal_frame.js';
import { journalEntryNormalise, maskPan } from '../src/app/journal/journal_records.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { journalScan } from '../src/app/journal/journal_scan.js';
import {
  JOURNAL_FILE,
  FIXTURE_VAULT,
  card,
  clearing,
  journalOptions,
  newClock,
  newPrng,
  panOf,
  recovery,
  scriptedEntries,
  torn,
} from './journal_fixtures.js';

function newSim(seed: number, totalBytes = 1 << 22): StorageSim {
  const tornModes = ['prefix', 'garbage', 'zeros'] as const;
  return new StorageSim({ totalBytes, prng: newPrng(seed), tornModes });
}

async function openJournal(
  sim: StorageSim,
  sizeBytesMax = 1 << 20,
  reserveBytes = 8192,
): Promise<Journal> {
  const opened = await Journal.open(sim, journalOptions(newClock(), sizeBytesMax, reserveBytes));
  if (!opened.ok) throw new Error(`open: ${opened.detail}`);
  return opened.value.journal;
}

async function appendAll(journal: Journal, entries: readonly JournalEntry[]): Promise<void> {
  for (const entry of entries) {
    const result = await journal.append(entry);
    if (!result.ok) throw new Error(`append ${entry.kind}: ${result.error} ${result.detail}`);
  }
}

describe('journal records', () => {
  it('append_thenReopen_restoresEveryRecordAndIndex', async () => {
    const sim = newSim(1);
    const journal = await openJournal(sim);
    const entries = scriptedEntries();
    await appendAll(journal, entries);
    const before = journal.summary();
    const reopened = await Journal.open(sim, journalOptions(newClock()));
    expect(reopened.ok).toBe(true);
    if (!reopened.ok) return;
    expect(reopened.value.journal.summary()).toEqual(before);
    expect(before.lastSeq).toBe(entries.length);
    expect(before.ackThroughSeq).toBe(10);
    const scan = journalScan(sim.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true);
    const normalised = entries.map((e) => journalEntryNormalise(e, 'x'));
    expect(scan.records.map((r) => r.entry)).toEqual(normalised);
    // Only the pending left open at the end is uncertain: 3/4 were recovered, 9 reconciled.
    expect(reopened.value.recovery.uncertain.map((tap) => tap.seq)).toEqual([13]);
    expect(reopened.value.journal.uncertainForCard(card(5).panToken, card(5).psn)).toHaveLength(1);
    expect(reopened.value.journal.uncertainForUid(card(5).uidHex.toLowerCase())).toHaveLength(1);
    expect(reopened.value.journal.lastFinalFor(card(2).panToken, card(2).psn)?.seq).toBe(7);
  });

  it('torn_isUncertainUntilRecoveredByFinal', async () => {
    const journal = await openJournal(newSim(2));
    const b = card(2);
    await appendAll(journal, scriptedEntries().slice(0, 4));
    const taps = journal.uncertainForCard(b.panToken, b.psn);
    expect(taps.map((tap) => [tap.seq, tap.kind])).toEqual([[4, 'torn']]);
    expect(journal.uncertainForCard(b.panToken, b.psn)[0]?.recovery.atc).toBe(20);
    // A torn pending cannot be torn twice, but its final (recovery) is allowed once.
    const tornAgain = await journal.append(torn(3, b, 20));
    expect(tornAgain.ok ? null : tornAgain.error).toBe(JournalStatus.BAD_REFERENCE);
    const recovered: JournalEntry = { kind: 'final', pendingSeq: 3, clearing: clearing(b, 20) };
    expect((await journal.append(recovered)).ok).toBe(true);
    expect(journal.uncertainForCard(b.panToken, b.psn)).toEqual([]);
    const twice = await journal.append(recovered);
    expect(twice.ok ? null : twice.error).toBe(JournalStatus.BAD_REFERENCE);
  });

});

describe('journal rules', () => {
  it('referenceRules_refuseWrongCardsAndBackwardAcks', async () => {
    const journal = await openJournal(newSim(3));
    await appendAll(journal, scriptedEntries().slice(0, 1));
    const cases: JournalEntry[] = [
      { kind: 'final', pendingSeq: 9, clearing: clearing(card(1), 10) },
      { kind: 'final', pendingSeq: 1, clearing: clearing(card(7), 10) },
      { kind: 'reconciled', targetSeq: 1, outcome: 'debited', finalSeq: null, note: '' },
      { kind: 'reconciled', targetSeq: 1, outcome: 'not_debited', finalSeq: 1, note: '' },
      { kind: 'ack', throughSeq: 2 },
    ];
    for (const entry of cases) {
      const result = await journal.append(entry);
      const label = JSON.stringify(entry);
      expect(result.ok ? null : result.error, label).toBe(JournalStatus.BAD_REFERENCE);
    }
    expect((await journal.append({ kind: 'ack', throughSeq: 1 })).ok).toBe(true);
    const back = await journal.append({ kind: 'ack', throughSeq: 1 });
    expect(back.ok ? null : back.error).toBe(JournalStatus.BAD_REFERENCE);
    expect(journal.summary().lastSeq).toBe(2);
    // Each refused ack says what the journal holds (it said 'must be in 3..2').
    const detail = async (throughSeq: number): Promise<string> => {
      const r = await journal.append({ kind: 'ack', throughSeq });
      return r.ok ? '' : r.detail;
    };
    expect(await detail(1)).toBe('ack through 1: records through seq 1 are acknowledged '
      + 'already (the next ack is through 2..2)');
    expect(await detail(9)).toBe('ack through 9: the last record is seq 2 (an ack is through '
      + '2..2)');
  });

  it('malformedEntries_areRefusedNamingTheField', async () => {
    const journal = await openJournal(newSim(4));
    const declined = (panToken: string, psn: number): JournalEntry =>
      ({ kind: 'declined', pendingSeq: null, card: { ...card(1), panToken, psn }, reason: 'x' });
    const badAfl = { ...recovery(card(1), 1), aflHex: '080101' };
    const badIcc = { ...clearing(card(1), 1), iccDataHex: 'XYZ0' };
    const bad: [JournalEntry, string][] = [
      [declined('62A1', 1), 'entry.card.panToken'],
      [declined(card(1).panToken, 300), 'entry.card.psn'],
      [
        { kind: 'pending', recovery: badAfl, fareRule: 'flat', amountMinor: 1 },
        'entry.recovery.aflHex',
      ],
      [{ kind: 'final', pendingSeq: null, clearing: badIcc }, 'entry.clearing.iccDataHex'],
    ];
    for (const [entry, field] of bad) {
      const result = await journal.append(entry);
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.error).toBe(JournalStatus.INVALID_ENTRY);
      expect(result.detail).toContain(field);
    }
    expect(journal.summary().lastSeq).toBe(0);
  });

  it('entryInAnotherSpelling_isWrittenAsItsNormalisedCopy_sameBytesAsTheCanonicalOne', async () => {
    // The canonical entry goes as it is; one with an extra key, lower-case hex or keys in
    // another order is normalised first: both journals hold the same bytes.
    const canonical = await openJournal(newSim(5));
    const spelled = await openJournal(newSim(5));
    const key = card(1);
    const odd = { uidHex: key.uidHex.toLowerCase(), psn: key.psn, panMasked: key.panMasked,
      panSealed: key.panSealed, panToken: key.panToken, note: 'not kept' };
    const entries: [JournalEntry, JournalEntry][] = [
      [
        { kind: 'declined', pendingSeq: null, card: key, reason: 'x' },
        { reason: 'x', card: odd, pendingSeq: null, kind: 'declined' } as JournalEntry,
      ],
      [
        { kind: 'final', pendingSeq: null, clearing: clearing(key, 2) },
        { kind: 'final', pendingSeq: null, clearing: { ...clearing(key, 2), card: odd } },
      ],
    ];
    for (const [plain, other] of entries) {
      const a = await canonical.append(plain);
      const b = await spelled.append(other);
      expect(a.ok && b.ok).toBe(true);
      if (a.ok && b.ok) expect(b.value).toEqual(a.value);
    }
    const sim = (j: Journal): StorageSim => (j as unknown as { storage: StorageSim }).storage;
    expect(Buffer.from(sim(spelled).durableBytes(JOURNAL_FILE)))
      .toEqual(Buffer.from(sim(canonical).durableBytes(JOURNAL_FILE)));
  });

  it('canonicalEntryCarryingCardTags_isRefused_nothingWritten', async () => {
    // Canonical in every field, but its BER-TLV holds track 2, a clear PAN or the static data:
    // refused as journalEntryNormalise refuses it, whichever way append encodes.
    const journal = await openJournal(newSim(6));
    const key = card(1);
    const pending = scriptedEntries()[0];
    if (pending?.kind !== 'pending') throw new Error('script');
    const cases: [string, JournalEntry][] = [
      ['57', { kind: 'final', pendingSeq: null, clearing: { ...clearing(key, 2),
        iccDataHex: '57136231000000000000017D29122010000000000F' } }],
      ['5A', { kind: 'final', pendingSeq: null, clearing: { ...clearing(key, 2),
        iccDataHex: '9F36020002E1075A056231000000' } }],
      ['9F6B', { ...pending, recovery: { ...pending.recovery, tornRecordHex: 'E2059F6B020102' } }],
      ['DF8104', { ...pending, recovery: { ...pending.recovery, tornRecordHex: 'DF8104020102' } }],
      ['not BER-TLV', { kind: 'torn', pendingSeq: null, uncertain: true, reason: 'x',
        recovery: { ...pending.recovery, tornRecordHex: '9F3605' } }],
    ];
    for (const [tag, entry] of cases) {
      const result = await journal.append(entry);
      expect(result.ok, tag).toBe(false);
      if (result.ok) continue;
      expect(result.error, tag).toBe(JournalStatus.INVALID_ENTRY);
      expect(result.detail, tag).toContain(tag === 'not BER-TLV' ? tag : `holds tag ${tag}`);
    }
    expect(journal.summary().lastSeq).toBe(0);
  });
});

describe('journal space', () => {
  it('reserve_refusesNewTapsButKeepsRoomToCloseOne', async () => {
    const pendingEntry = scriptedEntries()[0];
    if (pendingEntry === undefined) throw new Error('script');
    const scratch = newSim(5);
    await appendAll(await openJournal(scratch), [pendingEntry]);
    const pendingFrameBytes = scratch.durableBytes(JOURNAL_FILE).length;
    const reserveBytes = 8192;
    // Room for exactly one pending above the reserve (and half of another).
    const sim = newSim(6, reserveBytes + pendingFrameBytes + Math.floor(pendingFrameBytes / 2));
    const journal = await openJournal(sim, 1 << 20, reserveBytes);
    // canAcceptTap asks for a maximal pending record, which does not fit here.
    expect(await journal.canAcceptTap()).toEqual({ ok: true, value: false });
    expect((await journal.append(pendingEntry)).ok).toBe(true);
    const refused = await journal.append(pendingEntry);
    expect(refused.ok ? null : refused.error).toBe(JournalStatus.FULL);
    // The final of the tap under way may use the reserve.
    const final: JournalEntry = { kind: 'final', pendingSeq: 1, clearing: clearing(card(1), 10) };
    expect((await journal.append(final)).ok).toBe(true);
    expect((await journal.append({ kind: 'ack', throughSeq: 2 })).ok).toBe(true);
    expect(journal.summary().lastSeq).toBe(3);
    const roomy = await openJournal(newSim(7), 1 << 20, reserveBytes);
    expect(await roomy.canAcceptTap()).toEqual({ ok: true, value: true });
  });

  it('sizeBytesMax_boundsTheFileItself', async () => {
    const journal = await openJournal(newSim(8), 3000, 1000);
    const entry = scriptedEntries()[0];
    if (entry === undefined) throw new Error('script');
    let accepted = 0;
    for (let i = 0; i < 10; i += 1) if ((await journal.append(entry)).ok) accepted += 1;
    const summary = journal.summary();
    expect(accepted).toBeGreaterThan(0);
    expect(summary.sizeBytes + 1000).toBeLessThanOrEqual(3000);
    expect(summary.recordCount).toBe(accepted);
  });

});

describe('journal damage and failures', () => {
  it('corruptionInTheMiddle_isReportedAndNothingIsTruncated', async () => {
    const sim = newSim(9);
    const journal = await openJournal(sim);
    await appendAll(journal, scriptedEntries().slice(0, 3));
    const image = sim.durableBytes(JOURNAL_FILE);
    const payloadBytes = new DataView(image.buffer, image.byteOffset).getUint16(8, true);
    const firstFrameBytes = FRAME_OVERHEAD_BYTES + payloadBytes;
    const secondRecordByte = firstFrameBytes + 20;
    sim.corruptByte(JOURNAL_FILE, secondRecordByte, (image[secondRecordByte] ?? 0) ^ 0x01);
    const reopened = await Journal.open(sim, journalOptions(newClock()));
    expect(reopened.ok ? null : reopened.error).toBe(JournalStatus.CORRUPT);
    if (!reopened.ok) expect(reopened.detail).toMatch(/seq 2/);
    expect(sim.durableBytes(JOURNAL_FILE).length).toBe(image.length);
  });

  it('intactButUnchainedTail_isCorruptionNotATornWrite', async () => {
    const sim = newSim(10);
    const journal = await openJournal(sim);
    await appendAll(journal, scriptedEntries().slice(0, 2));
    // A second journal with different history: its record 3 is intact but chains elsewhere.
    const other = newSim(11);
    const otherJournal = await openJournal(other);
    await appendAll(otherJournal, [scriptedEntries()[2] ?? { kind: 'ack', throughSeq: 1 }]);
    await appendAll(otherJournal, [scriptedEntries()[2] ?? { kind: 'ack', throughSeq: 1 }]);
    await appendAll(otherJournal, [scriptedEntries()[2] ?? { kind: 'ack', throughSeq: 1 }]);
    const otherImage = other.durableBytes(JOURNAL_FILE);
    const third = journalScan(otherImage, JOURNAL_FILE, false);
    expect(third.state.lastSeq).toBe(3);
    const frameLength = otherImage.length / 3;
    await sim.append(JOURNAL_FILE, otherImage.subarray(2 * frameLength));
    await sim.sync(JOURNAL_FILE);
    const reopened = await Journal.open(sim, journalOptions(newClock()));
    expect(reopened.ok ? null : reopened.error).toBe(JournalStatus.CORRUPT);
  });

  it('syncFailure_failsTheJournalUntilReopened', async () => {
    const sim = newSim(12);
    const journal = await openJournal(sim);
    await appendAll(journal, scriptedEntries().slice(0, 1));
    sim.armIoError(2); // the append succeeds, its sync fails
    const failed = await journal.append(scriptedEntries()[1] ?? { kind: 'ack', throughSeq: 1 });
    expect(failed.ok ? null : failed.error).toBe(JournalStatus.IO);
    expect(journal.isFailed()).toBe(true);
    const after = await journal.append({ kind: 'ack', throughSeq: 1 });
    expect(after.ok ? null : after.error).toBe(JournalStatus.FAILED);
    const reopened = await openJournal(sim);
    // The unsynced record was fully written, so it is intact and kept: either outcome is
    // allowed for a record whose append was never reported as done.
    expect([1, 2]).toContain(reopened.summary().lastSeq);
  });

  it('failedJournal_reopensInPlaceOnceTheStorageServes_noRestartNeeded', async () => {
    // Out of service until a restart: a validator whose sync failed once refused every rider
    // after the cause was gone, and `run` never exited for its supervisor to restart it.
    const sim = newSim(14);
    const clock = newClock();
    const opened = await Journal.open(sim, journalOptions(clock));
    if (!opened.ok) throw new Error(opened.detail);
    const journal = opened.value.journal;
    await appendAll(journal, scriptedEntries().slice(0, 1));
    sim.armIoError(2);
    expect((await journal.append(scriptedEntries()[1] ?? { kind: 'ack', throughSeq: 1 })).ok)
      .toBe(false);
    expect(journal.isFailed()).toBe(true);
    expect(await journal.canAcceptTap()).toEqual({ ok: true, value: true });
    expect(journal.isFailed()).toBe(false);
    const before = journal.summary().lastSeq;
    await appendAll(journal, [{ kind: 'ack', throughSeq: 1 }]);
    // What a restart reads: the same records, the new one after them.
    const again = await openJournal(sim);
    expect(again.summary().lastSeq).toBe(before + 1);
  });

  it('twin: a journal whose segment was deleted stays failed, its seqs never handed out again',
    async () => {
      const sim = newSim(15);
      const clock = newClock();
      const opened = await Journal.open(sim, journalOptions(clock));
      if (!opened.ok) throw new Error(opened.detail);
      const journal = opened.value.journal;
      await appendAll(journal, scriptedEntries().slice(0, 2));
      sim.armIoError(2);
      expect((await journal.append({ kind: 'ack', throughSeq: 1 })).ok).toBe(false);
      expect((await sim.remove('journal.bin')).ok).toBe(true);
      const refused = await journal.canAcceptTap();
      expect(refused).toMatchObject({ ok: false, error: JournalStatus.FAILED });
      expect(!refused.ok && refused.detail)
        .toMatch(/read back through seq 0, written through 2: records lost/);
      await clock.advance(10 * JOURNAL_REOPEN_INTERVAL_MS);
      expect((await journal.canAcceptTap()).ok).toBe(false);
      expect(journal.summary().lastSeq).toBe(2);
    });

});

describe('journal export', () => {
  it('export_listsUnackedClearingAndUncertainRecordsWithMaskedPan', async () => {
    const sim = newSim(13);
    const journal = await openJournal(sim);
    await appendAll(journal, scriptedEntries());
    const exported = journalExport(
      journalScan(sim.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true),
      FIXTURE_VAULT,
    );
    const lines = exported.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // After the ack through 10: the deny-list decline is not exported; pending 13 is open.
    expect(lines.map((line) => [line['type'], line['seq']])).toEqual([['pending_open', 13]]);
    expect(exported.throughSeq).toBe(13);
    const full = journalExport(journalScan(new Uint8Array(0), JOURNAL_FILE, true), FIXTURE_VAULT);
    expect(full.lines).toEqual([]);
    // Before the ack: the two finals are clearing lines carrying field 55 and the full PAN.
    const sim2 = newSim(14);
    await appendAll(await openJournal(sim2), scriptedEntries().slice(0, 10));
    const early = journalExport(
      journalScan(sim2.durableBytes(JOURNAL_FILE), JOURNAL_FILE, true),
      FIXTURE_VAULT,
    );
    const clearingLines = early.lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l['type'] === 'clearing');
    expect(clearingLines.map((l) => l['seq'])).toEqual([2, 7]);
    expect(clearingLines[0]?.['pan']).toBe(panOf(1));
    expect(clearingLines[0]?.['panMasked']).toBe(maskPan(panOf(1)));
    expect(clearingLines[0]?.['iccDataHex']).toBe(clearing(card(1), 10).iccDataHex);
    expect(early.clearingCount).toBe(2);
    expect(maskPan('6231000000000000001')).toBe('623100*********0001');
  });
});
