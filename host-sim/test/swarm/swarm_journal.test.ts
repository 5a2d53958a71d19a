// The swarm's full scans go on from the previous one while the medium keeps the bytes they
// read. The independent truth is the firmware's scan of the whole image from its first byte
// (journalScan): after every append, power cut, recovery, flipped bit and mended bit the two
// must give the same records, the same torn tail and the same corruption.

import { describe, expect, it } from 'vitest';

import { Journal, JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import {
  CHAIN_GENESIS_HASH,
  frameEncode,
} from '../../../firmware/src/app/journal/journal_frame.js';
import {
  PayloadFacts,
  payloadFastCheck,
} from '../../../firmware/src/app/journal/journal_payload_fast.js';
import {
  JOURNAL_KIND_CODES,
  journalEntryNormalise,
  journalPayloadEncode,
  type JournalEntry,
} from '../../../firmware/src/app/journal/journal_records.js';
import { journalScan } from '../../../firmware/src/app/journal/journal_scan.js';
import { PanVault } from '../../../firmware/src/app/journal/pan_vault.js';
import { ClockSim } from '../../src/clock_sim.js';
import { Prng } from '../../src/prng.js';
import { StorageSim } from '../../src/storage_sim.js';
import {
  JournalFollower,
  JournalScanner,
  payloadDebitKey,
  recordDebitKey,
} from '../../src/swarm/swarm_journal.js';
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
  expect(ours.records.map((r) => [r.seq, r.debit]), `seed ${seed}`).toEqual(
    truth.records.map((r) => [r.seq, recordDebitKey(r.entry)]),
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

describe('JournalFollower', () => {
  it('debitKeys_equalTheDecodedEntries_canonicalOrNot_andStopAtAnUndecodableRecord', () => {
    // The follower reads a canonical payload in place and sends any other through the
    // decoder: both must give recordDebitKey of the decoded entry (the truth here).
    const seed = testSeed(6);
    const prng = new Prng(seed);
    const frames: Uint8Array[] = [];
    const expected: ({ key: string; final: boolean } | null)[] = [];
    let prev = CHAIN_GENESIS_HASH;
    const push = (payload: Uint8Array, kind: 'pending' | 'final' | 'ack'): void => {
      const built = frameEncode(JOURNAL_KIND_CODES[kind], frames.length + 1, payload, prev);
      frames.push(built.frame);
      prev = built.hash;
    };
    for (let i = 0; i < 40; i += 1) {
      // As the journal writes it: normalised (its fields in the encoder's order).
      const e = journalEntryNormalise(prng.chance(0.1)
        ? { kind: 'ack', throughSeq: i + 1 }
        : entry(prng.below(9), prng.below(0x10000), prng.chance(0.5) ? i + 1 : null), 'test');
      const canonical = journalPayloadEncode(1_714_550_400_000 + i, e);
      // Another JSON spelling of the same record (spaces): valid, but not the fast form.
      const spelled = new TextEncoder().encode(
        JSON.stringify({ timeWallMs: 1_714_550_400_000 + i, ...e }, null, 1));
      const kind = e.kind === 'ack' ? 'ack' : e.kind === 'final' ? 'final' : 'pending';
      // The canonical form takes the in-place path, the other spelling the decoder's.
      expect(payloadFastCheck(kind, canonical, new PayloadFacts()), `seed ${seed}`).toBe(true);
      expect(payloadFastCheck(kind, spelled, new PayloadFacts()), `seed ${seed}`).toBe(false);
      push(prng.chance(0.3) ? spelled : canonical, kind);
      expected.push(recordDebitKey(e));
    }
    const image = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) {
      image.set(f, at);
      at += f.length;
    }
    const follower = new JournalFollower();
    const got = follower.next(image, 0);
    expect(got.map((r) => r.debit), `seed ${seed}`).toEqual(expected);
    expect(follower.position()).toBe(image.length);
    // An ATC out of range decodes nowhere: no key, and the follower stops before it.
    const good = journalPayloadEncode(1, journalEntryNormalise(entry(1, 7, null), 'test'));
    const text = new TextDecoder().decode(good);
    expect(text).toContain('"atc":7,');
    const bad = new TextEncoder().encode(text.replace('"atc":7,', '"atc":70000,'));
    expect(payloadDebitKey('pending', bad, new PayloadFacts())).toBeUndefined();
    push(bad, 'pending');
    const last = frames[frames.length - 1] ?? new Uint8Array(0);
    expect(follower.next(last, image.length)).toEqual([]);
    expect(follower.position()).toBe(image.length);
  });
});
