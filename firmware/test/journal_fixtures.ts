// Journal test fixtures: realistic entries, a scripted tap sequence, a seeded random one.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { ClockSim } from '../../host-sim/src/clock_sim.js';
import type { StorageSim } from '../../host-sim/src/storage_sim.js';
import type { HalResult } from '../../hal/src/ports/hal_status.js';
import { Prng } from '../../host-sim/src/prng.js';
import { FileStorage } from '../../hal/src/storage/file_storage.js';
import { JOURNAL_FILE_NAME, Journal, type JournalOptions } from '../src/app/journal/journal.js';
import { PanVault } from '../src/app/journal/pan_vault.js';
import { DATA_KEY_FILE_NAME } from '../src/app/journal/pan_vault_file.js';
import type {
  CardKey, ClearingRecord, JournalEntry, RecoveryContext,
} from '../src/app/journal/journal_records.js';

export const JOURNAL_FILE = 'journal.bin';
/** 2024-05-01T08:00:00Z: a weekday morning rush. */
export const WALL_EPOCH_MS = 1_714_550_400_000;

export function journalOptions(
  clock: ClockSim,
  sizeBytesMax = 1 << 20,
  reserveBytes = 8192,
): JournalOptions {
  return { fileName: JOURNAL_FILE, clock, reserveBytes, sizeBytesMax };
}

/** The fixtures' terminal data key: sealed PANs open only with this vault. */
export const FIXTURE_DATA_KEY = new Uint8Array(32).fill(0x5a);
export const FIXTURE_VAULT = PanVault.fromKey(
  FIXTURE_DATA_KEY,
  (length) => new Prng(length).bytes(length),
);

/** PAN of fixture card `n`: 19-digit UnionPay-style PANs starting with a 62 BIN. */
export function panOf(n: number): string {
  return `6231${String(n).padStart(15, '0')}`;
}

export function card(n: number): CardKey {
  const key = FIXTURE_VAULT.cardKey(panOf(n), n % 3, (0x10000000 + n).toString(16).toUpperCase());
  if (key === null) throw new Error('fixture PAN');
  return key;
}

export function recovery(cardKey: CardKey, atc: number): RecoveryContext {
  return {
    card: cardKey,
    aidHex: 'A000000333010101',
    atc,
    amountAuthorisedMinor: 200,
    currencyCode: 156,
    transactionDate: '240501',
    transactionTime: '080000',
    unpredictableNumberHex: '1A2B3C4D',
    aipHex: '7C00',
    aflHex: '0801010010010200',
    recordsReadCount: 1,
    cryptogramHex: '0123456789ABCDEF',
    iadHex: '07010103900000010A01000000000011223344',
    ctqHex: '0000',
    sdadHex: null,
    mode: 'ec',
    track2ExpiryYymm: '2912',
    tornRecordHex: `9F3602${atcHex(atc)}`,
    staticDataSealedHex: '',
  };
}

export function clearing(cardKey: CardKey, atc: number): ClearingRecord {
  return {
    card: cardKey,
    aidHex: 'A000000333010101',
    atc,
    amountMinor: 200,
    currencyCode: 156,
    fareRule: 'flat',
    cryptogramType: 'TC',
    iccDataHex: `9F26080123456789ABCDEF9F3602${atcHex(atc)}9F02060000000002005F2A020156`,
    transactionDate: '240501',
    transactionTime: '080000',
    terminalId: 'T0001',
    lineId: 'L42',
    paramsVersion: 3,
  };
}

/** A torn record for the pending at `pendingSeq`, uncertain. */
export function torn(pendingSeq: number, cardKey: CardKey, atc: number): JournalEntry {
  const reason = 'card gone before the last READ RECORD answer';
  return { kind: 'torn', pendingSeq, recovery: recovery(cardKey, atc), uncertain: true, reason };
}

/** A hand-written sequence covering every kind and every closing path; seqs are 1-based. */
export function scriptedEntries(): JournalEntry[] {
  const a = card(1);
  const b = card(2);
  const c = card(3);
  const d = card(4);
  const e = card(5);
  return [
    { kind: 'pending', recovery: recovery(a, 10), fareRule: 'flat', amountMinor: 200 }, // 1
    { kind: 'final', pendingSeq: 1, clearing: clearing(a, 10) }, // 2
    { kind: 'pending', recovery: recovery(b, 20), fareRule: 'flat', amountMinor: 200 }, // 3
    torn(3, b, 20), // 4
    { kind: 'pending', recovery: recovery(c, 30), fareRule: 'flat', amountMinor: 200 }, // 5
    { kind: 'declined', pendingSeq: 5, card: c, reason: 'fDDA failed' }, // 6
    { kind: 'final', pendingSeq: 3, clearing: clearing(b, 20) }, // 7: GPO-less recovery of 3/4
    { kind: 'pending', recovery: recovery(d, 40), fareRule: 'flat', amountMinor: 200 }, // 8
    torn(8, d, 40), // 9
    { kind: 'reconciled', targetSeq: 9, outcome: 'unresolved', finalSeq: null, note: 'ATC' }, // 10
    { kind: 'ack', throughSeq: 10 }, // 11
    { kind: 'declined', pendingSeq: null, card: e, reason: 'deny list' }, // 12
    // 13: left open, as after a power cut during the tap.
    { kind: 'pending', recovery: recovery(e, 50), fareRule: 'concession', amountMinor: 100 },
  ];
}

/**
 * A random but valid tap sequence of `count` entries: taps approve, decline, tear, recover,
 * get reconciled; acks move forward. References use the 1-based seq each entry will get.
 */
export function randomEntries(prng: Prng, count: number): JournalEntry[] {
  const entries: JournalEntry[] = [];
  const openPendings: { seq: number; card: CardKey; atc: number }[] = [];
  const tornOpen: { seq: number; pendingSeq: number; card: CardKey; atc: number }[] = [];
  let ackThrough = 0;
  let cardNext = 100;
  while (entries.length < count) {
    const seq = entries.length + 1;
    const roll = prng.below(100);
    const pending = openPendings[0];
    const tornTap = tornOpen[0];
    if (pending !== undefined && roll < 40) {
      openPendings.shift();
      const close = prng.below(3);
      const { seq: pendingSeq, card: cardKey, atc } = pending;
      if (close === 0) {
        entries.push({ kind: 'final', pendingSeq, clearing: clearing(cardKey, atc) });
      } else if (close === 1) {
        entries.push({ kind: 'declined', pendingSeq, card: cardKey, reason: 'expired' });
      } else {
        entries.push(torn(pendingSeq, cardKey, atc));
        tornOpen.push({ seq, pendingSeq: pending.seq, card: pending.card, atc: pending.atc });
      }
    } else if (tornTap !== undefined && roll < 55) {
      tornOpen.shift();
      const recovered = clearing(tornTap.card, tornTap.atc);
      const note = 'ATC moved on';
      if (prng.chance(0.5)) {
        entries.push({ kind: 'final', pendingSeq: tornTap.pendingSeq, clearing: recovered });
      } else {
        const targetSeq = tornTap.seq;
        const outcome = 'not_debited';
        entries.push({ kind: 'reconciled', targetSeq, outcome, finalSeq: null, note });
      }
    } else if (roll < 62 && seq - 1 > ackThrough) {
      ackThrough = ackThrough + 1 + prng.below(seq - 1 - ackThrough);
      entries.push({ kind: 'ack', throughSeq: ackThrough });
    } else {
      const cardKey = card(cardNext);
      cardNext += 1;
      const atc = prng.below(0x10000);
      const fresh = recovery(cardKey, atc);
      entries.push({ kind: 'pending', recovery: fresh, fareRule: 'flat', amountMinor: 200 });
      openPendings.push({ seq, card: cardKey, atc });
    }
  }
  return entries;
}

function atcHex(atc: number): string {
  return atc.toString(16).toUpperCase().padStart(4, '0');
}

export function newClock(): ClockSim {
  return new ClockSim(WALL_EPOCH_MS);
}

export function newPrng(seed: number): Prng {
  return new Prng(seed);
}

/** Writes `entries` as a real journal in `parent/name` (the CLI's file name); returns that dir. */
export async function writeJournalDir(
  parent: string,
  name: string,
  entries: readonly JournalEntry[],
): Promise<string> {
  const journalDir = join(parent, name);
  const storage = await FileStorage.open(journalDir, { quotaBytes: null });
  if (!storage.ok) throw new Error(storage.detail);
  // 4 MiB: sealed card keys make a record about twice its size with a clear PAN.
  const options = { ...journalOptions(newClock(), 1 << 22), fileName: JOURNAL_FILE_NAME };
  const opened = await Journal.open(storage.value, options);
  if (!opened.ok) throw new Error(opened.detail);
  for (const entry of entries) {
    const result = await opened.value.journal.append(entry);
    if (!result.ok) throw new Error(result.detail);
  }
  await storage.value.close();
  // The data key the fixtures sealed the PANs with, where `journal export` looks by default.
  await writeFile(join(journalDir, DATA_KEY_FILE_NAME), FIXTURE_DATA_KEY, { mode: 0o600 });
  return journalDir;
}

/** A StoragePort view that counts the bytes read, whole or by range (what start-up costs). */
export function countingReads(sim: StorageSim): { bytes: () => number } {
  let bytes = 0;
  const read = sim.read.bind(sim);
  sim.read = async (name: string): Promise<HalResult<Uint8Array>> => {
    const result = await read(name);
    if (result.ok) bytes += result.value.length;
    return result;
  };
  const readAt = sim.readAt.bind(sim);
  sim.readAt = async (name, offset, into): Promise<HalResult<number>> => {
    const result = await readAt(name, offset, into);
    if (result.ok) bytes += result.value;
    return result;
  };
  return { bytes: () => bytes };
}
