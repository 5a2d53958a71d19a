// A journal entry of the swarm's tests (a card's pending record or the final that closes one),
// and the medium their journals live on.

import {
  JOURNAL_FILE_NAME,
  type JournalOptions,
} from '../../../../firmware/src/app/journal/journal.js';
import type { JournalEntry } from '../../../../firmware/src/app/journal/journal_records.js';
import type { PanVault } from '../../../../firmware/src/app/journal/pan_vault.js';
import { ClockSim } from '../../../src/clock_sim.js';
import type { Prng } from '../../../src/prng.js';
import { StorageSim } from '../../../src/storage_sim.js';

/**
 * A pending record, or the final that closes `pendingSeq`, for card `n` (a PAN of its own),
 * the card keyed under `vault`.
 */
export function swarmTestEntry(
  vault: PanVault,
  n: number,
  atc: number,
  pendingSeq: number | null,
): JournalEntry {
  const pan = `62310000000000${String(1000 + n).padStart(5, '0')}`;
  const card = vault.cardKey(pan, 1, '0A0B0C0D');
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

/**
 * The medium of the swarm's journal tests and the journal's options on it: power cuts tear
 * a tail in every way, and small segments make a new one every few taps, reclaimed once an
 * ack covers it.
 */
export function swarmTestMedium(prng: Prng): { storage: StorageSim; options: JournalOptions } {
  const storage = new StorageSim({
    totalBytes: 1 << 22, prng: prng.fork('medium'), tornModes: ['prefix', 'garbage', 'zeros'],
  });
  const options = {
    fileName: JOURNAL_FILE_NAME, clock: new ClockSim(1_714_550_400_000), reserveBytes: 8192,
    sizeBytesMax: 1 << 22, segmentBytesMax: 12 << 10,
  };
  return { storage, options };
}
