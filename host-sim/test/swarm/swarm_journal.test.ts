// The swarm's full scans go on from the previous one while the medium keeps the bytes they
// read. The independent truth is the firmware's scan of the whole image from its first byte
// (journalScan): after every append, power cut, recovery, flipped bit and mended bit the two
// must give the same records, the same torn tail and the same corruption.

import { describe, expect, it } from 'vitest';

import { Journal, JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import type { JournalEntry } from '../../../firmware/src/app/journal/journal_records.js';
import { journalScan } from '../../../firmware/src/app/journal/journal_scan.js';
import { PanVault } from '../../../firmware/src/app/journal/pan_vault.js';
import { ClockSim } from '../../src/clock_sim.js';
import { Prng } from '../../src/prng.js';
import { StorageSim } from '../../src/storage_sim.js';
import { JournalScanner } from '../../src/swarm/swarm_journal.js';
import { testSeed } from '../sim/support/sim_ride.js';

const VAULT = PanVault.fromKey(new Uint8Array(32).fill(7), (n) => new Prng(n).bytes(n));

/** A pending record, or the final that closes `pendingSeq`, for card `n`. */
function entry(n: number, atc: number, pendingSeq: number | null): JournalEntry {
  const pan = `62310000000000${String(1000 + n).padStart(5, '0')}`;
  const card = VAULT.cardKey(pan, 1, '0A0B0C0D');
  if (card === null) throw new Error('card without a PAN');
  const common = { card, aidHex: 'A000000333010101', atc, currencyCode: 156 };
  const when = { transactionDate: '240501', transactionTime: '080000' };
  if (pendingSeq !== null) {
    const clearing = {
      ...common, ...when, amountMinor: 200, fareRule: 'flat', cryptogramType: 'TC' as const,
      iccDataHex: '9F26080123456789ABCDEF', terminalId: 'T1', lineId: 'L1', paramsVersion: 1,
    };
    return { kind: 'final', pendingSeq, clearing };
  }
  const recovery = {
    ...common, ...when, amountAuthorisedMinor: 200, unpredictableNumberHex: '1A2B3C4D',
    aipHex: '7C00', aflHex: '0801010010010200', recordsReadCount: 1,
    cryptogramHex: '0123456789ABCDEF', iadHex: '0701010390000001', ctqHex: '0000',
    sdadHex: null, mode: 'ec' as const, track2ExpiryYymm: '2912',
    tornRecordHex: '9F36020001', staticDataSealedHex: '',
  };
  return { kind: 'pending', recovery, fareRule: 'flat', amountMinor: 200 };
}

function expectSameAsAWholeScan(
  scanner: JournalScanner,
  storage: StorageSim,
  seed: number,
): void {
  const image = storage.durableBytes(JOURNAL_FILE_NAME);
  const ours = scanner.scan(image);
  const truth = journalScan(image, JOURNAL_FILE_NAME, true);
  expect(ours.records.map((r) => [r.seq, r.entry]), `seed ${seed}`).toEqual(
    truth.records.map((r) => [r.seq, r.entry]),
  );
  expect(ours.tornTail, `seed ${seed}`).toBe(truth.tornTail !== null);
  expect(ours.corruption === null ? null : ours.corruption, `seed ${seed}`).toBe(
    truth.corruption === null
      ? null
      : `at byte ${truth.corruption.offset} (seq ${truth.corruption.seqExpected}): ` +
          truth.corruption.reason,
  );
  for (const record of ours.records) {
    expect(ours.payloadBySeq.get(record.seq)).toBe(record.payload);
  }
}

describe('JournalScanner', () => {
  it('givesTheWholeScansVerdict_afterAppendsCutsRecoveriesAndFlippedBits', async () => {
    const seed = testSeed(5);
    const prng = new Prng(seed);
    const storage = new StorageSim({
      totalBytes: 1 << 22, prng: prng.fork('medium'), tornModes: ['prefix', 'garbage', 'zeros'],
    });
    const clock = new ClockSim(1_714_550_400_000);
    const options = {
      fileName: JOURNAL_FILE_NAME, clock, reserveBytes: 8192, sizeBytesMax: 1 << 22,
    };
    const scanner = new JournalScanner();
    let opened = await Journal.open(storage, options);
    let flips = 0;
    let cuts = 0;
    let finals = 0;
    // The pending the next record closes (taps alternate, as on a bus).
    interface Tap {
      readonly seq: number;
      readonly n: number;
      readonly atc: number;
    }
    let pending: Tap | null = null;
    for (let step = 0; step < 250; step += 1) {
      if (!opened.ok) throw new Error(`seed ${seed}: ${opened.detail}`);
      const journal = opened.value.journal;
      const last = journal.summary().lastSeq;
      const roll = prng.below(100);
      if (roll < 8) storage.armPowerCut(1 + prng.below(2));
      const tap: Tap = pending ?? { seq: 0, n: step % 7, atc: step };
      const appended = await journal.append(entry(tap.n, tap.atc, pending?.seq ?? null));
      if (appended.ok && pending !== null) finals += 1;
      pending = appended.ok && pending === null ? { ...tap, seq: appended.value.seq } : null;
      if (storage.isDown()) {
        cuts += 1;
        pending = null;
        storage.restart();
        expectSameAsAWholeScan(scanner, storage, seed);
        opened = await Journal.open(storage, options);
      } else if (roll >= 95 && last > 0) {
        // A flipped committed bit, seen, then mended (the journal would stay corrupt).
        const image = storage.durableBytes(JOURNAL_FILE_NAME);
        const at = prng.below(image.length);
        const byte = image[at] ?? 0;
        storage.corruptByte(JOURNAL_FILE_NAME, at, byte ^ (1 << prng.below(8)));
        expectSameAsAWholeScan(scanner, storage, seed);
        storage.corruptByte(JOURNAL_FILE_NAME, at, byte);
        flips += 1;
      }
      expectSameAsAWholeScan(scanner, storage, seed);
    }
    expect(cuts, `seed ${seed}`).toBeGreaterThan(10);
    expect(flips, `seed ${seed}`).toBeGreaterThan(5);
    expect(finals, `seed ${seed}`).toBeGreaterThan(50);
  });
});
