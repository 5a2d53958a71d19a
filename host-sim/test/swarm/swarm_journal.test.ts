// The swarm's full scans and its per-tap follower over a segmented journal. The independent
// truth is the firmware's reader with every record decoded (journalScanFiles, collect): after
// every append, ack, reclaim, power cut, recovery, flipped bit and mended bit the swarm's
// scan gives the same records, keys, ack and corruption, and the follower has seen every
// record still on the medium, byte for byte.

import { Buffer } from 'node:buffer';

import { describe, expect, it } from 'vitest';

import { Journal, JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { segmentName } from '../../../firmware/src/app/journal/journal_files.js';
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
import { journalScanFiles } from '../../../firmware/src/app/journal/journal_reader.js';
import { PanVault } from '../../../firmware/src/app/journal/pan_vault.js';
import { Prng } from '../../src/prng.js';
import { StorageSim } from '../../src/storage_sim.js';
import {
  JournalFollower,
  journalDurableFiles,
  journalScanDurable,
  payloadDebitKey,
  recordDebitKey,
  type SwarmRecord,
} from '../../src/swarm/swarm_journal.js';
import { testSeed } from '../sim/support/sim_ride.js';
import { swarmTestEntry, swarmTestMedium } from './support/swarm_entry.js';

const VAULT = PanVault.fromKey(new Uint8Array(32).fill(7), (n) => new Prng(n).bytes(n));

/** A pending record, or the final that closes `pendingSeq`, for card `n`. */
function entry(n: number, atc: number, pendingSeq: number | null): JournalEntry {
  return swarmTestEntry(VAULT, n, atc, pendingSeq);
}

/** The firmware's reader over the durable files, every record decoded (the truth). */
function truthOf(storage: StorageSim): ReturnType<typeof journalScanFiles> {
  return journalScanFiles(journalDurableFiles(storage), JOURNAL_FILE_NAME, true);
}

describe('journalScanDurable and JournalFollower over segments', () => {
  it('giveTheDecodedRecords_inOrder_afterAppendsAcksReclaimsCutsAndFlippedBits', async () => {
    const seed = testSeed(5);
    const prng = new Prng(seed);
    const { storage, options } = swarmTestMedium(prng);
    const follower = new JournalFollower();
    let opened = await Journal.open(storage, options);
    let followed = new Map<number, SwarmRecord>();
    const restart = (): void => {
      const scan = journalScanDurable(storage);
      follower.reset(scan);
      followed = new Map(scan.records.map((r) => [r.seq, r]));
    };
    restart();
    const counts = { flips: 0, cuts: 0, finals: 0, reclaimed: 0 };
    interface Tap {
      readonly seq: number;
      readonly n: number;
      readonly atc: number;
    }
    let pending: Tap | null = null;
    for (let step = 0; step < 400; step += 1) {
      if (!opened.ok) throw new Error(`seed ${seed}: ${opened.detail}`);
      const journal = opened.value.journal;
      const roll = prng.below(100);
      if (roll < 5) storage.armPowerCut(1 + prng.below(3));
      const summary = journal.summary();
      if (roll >= 85 && pending === null && summary.lastSeq > summary.ackThroughSeq) {
        await journal.append({ kind: 'ack', throughSeq: summary.lastSeq });
      } else {
        const tap: Tap = pending ?? { seq: 0, n: step % 7, atc: step };
        const appended = await journal.append(entry(tap.n, tap.atc, pending?.seq ?? null));
        if (appended.ok && pending !== null) counts.finals += 1;
        pending = appended.ok && pending === null ? { ...tap, seq: appended.value.seq } : null;
      }
      if (storage.isDown()) {
        counts.cuts += 1;
        pending = null;
        storage.restart();
        opened = await Journal.open(storage, options);
        restart();
        continue;
      }
      for (const r of follower.next(storage, 0).records) followed.set(r.seq, r);
      const scan = journalScanDurable(storage);
      const truth = truthOf(storage);
      expect(scan.corruption, `seed ${seed}`).toBeNull();
      expect(scan.records.map((r) => [r.seq, r.kind, r.debit]), `seed ${seed}`).toEqual(
        truth.records.map((r) => [r.seq, r.entry.kind, recordDebitKey(r.entry)]));
      expect(scan.firstSeq).toBe(truth.units[0]?.firstSeq ?? 1);
      expect(scan.ackThroughSeq).toBe(truth.state.ackThroughSeq);
      // The follower saw every record on the medium, byte for byte.
      for (const r of scan.records) expect(followed.get(r.seq), `seed ${seed}`).toEqual(r);
      if (scan.firstSeq > 1) counts.reclaimed = Math.max(counts.reclaimed, scan.firstSeq - 1);
      if (roll >= 97 && scan.records.length > 0) {
        // A flipped committed bit in a segment is corruption, named; then mended.
        const files = journalDurableFiles(storage);
        const names = [...files.keys()].filter((n) => n.endsWith('.bin'));
        const name = names[prng.below(names.length)] ?? JOURNAL_FILE_NAME;
        const image = files.get(name) ?? new Uint8Array(0);
        if (image.length === 0) continue;
        const at = prng.below(image.length);
        const byte = image[at] ?? 0;
        storage.corruptByte(name, at, byte ^ (1 << prng.below(8)));
        const flipped = journalScanDurable(storage);
        const truthFlipped = truthOf(storage).corruption;
        expect(flipped.corruption, `seed ${seed}`).toContain(truthFlipped?.reason ?? 'none');
        expect(flipped.corruption).toContain(name);
        storage.corruptByte(name, at, byte);
        counts.flips += 1;
      }
    }
    expect(counts.cuts, `seed ${seed}`).toBeGreaterThan(10);
    expect(counts.flips, `seed ${seed}`).toBeGreaterThan(3);
    expect(counts.finals, `seed ${seed}`).toBeGreaterThan(50);
    expect(counts.reclaimed, `seed ${seed}`).toBeGreaterThan(100);
  });
});

/**
 * A T-Union grey record of card `n` (`greySeq` null), or the final that closes `greySeq`
 * (`paid`: its amount and TAC).
 */
function tunionEntry(
  n: number,
  atc: number,
  greySeq: number | null,
  paid = { amountMinor: 300, tacHex: '0A0B0C0D' },
): JournalEntry {
  const card = {
    issuerIdHex: '0000000000000001', serialDigits: `031051700701${String(n).padStart(8, '0')}`,
    cityCodeHex: '4403', uidHex: '0A0B0C0D',
  };
  const purchase = {
    transactionType: 9, atc, amountMinor: paid.amountMinor, balanceBeforeMinor: 5000,
    terminalNumberHex: '000000000001', terminalSerial: atc + 7, dateTimeDigits: '20261122080000',
  };
  const ride = {
    tap: 'alighting' as const, lineId: 'L101', lineCode: 101, boardingStop: 1, alightingStop: 4,
    fareMinor: 300, discountMinor: 0, penaltyMinor: 0,
  };
  if (greySeq === null) {
    return { kind: 'tunion_grey', card, purchase, ride, kernelRecordHex: '0102030405' };
  }
  return {
    kind: 'tunion_final', greySeq, card, purchase, ride, balanceAfterMinor: 4700,
    tacHex: paid.tacHex, terminalId: 'T1', paramsVersion: 1, mac2Verified: true,
  };
}

describe('JournalFollower', () => {
  it('tunionDebitKeys_readInPlace_equalTheDecodedEntries', () => {
    // T-Union records in the canonical form are keyed in place (card number, INITIALIZE
    // serial); another spelling goes through the decoder. Both give recordDebitKey's key.
    const seed = testSeed(8);
    const prng = new Prng(seed);
    const facts = new PayloadFacts();
    for (let i = 0; i < 60; i += 1) {
      const e = journalEntryNormalise(tunionEntry(prng.below(1000), prng.below(0x10000),
        prng.chance(0.5) ? i + 1 : null), 'test');
      const kind = e.kind === 'tunion_final' ? 'tunion_final' : 'tunion_grey';
      const canonical = journalPayloadEncode(1_714_550_400_000 + i, e);
      const spelled = new TextEncoder().encode(
        JSON.stringify({ timeWallMs: 1_714_550_400_000 + i, ...e }, null, 1));
      expect(payloadFastCheck(kind, canonical, new PayloadFacts()), `seed ${seed}`).toBe(true);
      expect(payloadFastCheck(kind, spelled, new PayloadFacts()), `seed ${seed}`).toBe(false);
      expect(recordDebitKey(e)?.key, `seed ${seed}`).toMatch(/^tunion:031051700701\d{8}\/\d+$/);
      expect(payloadDebitKey(kind, canonical, facts), `seed ${seed}`).toEqual(recordDebitKey(e));
      expect(payloadDebitKey(kind, spelled, facts), `seed ${seed}`).toEqual(recordDebitKey(e));
    }
  });

  it('tunionFacts_readInPlace_equalTheDecodedEntries', () => {
    // The T-Union checks read a grey's time and a final's card, amount and TAC from the
    // record (swarm_tunion.ts): read in place from the canonical form, decoded from another
    // spelling, the same values.
    const seed = testSeed(9);
    const prng = new Prng(seed);
    const frames: Uint8Array[] = [];
    const expected: unknown[] = [];
    let prev = CHAIN_GENESIS_HASH;
    for (let i = 0; i < 60; i += 1) {
      const paid = { amountMinor: prng.below(0x1_0000_0000),
        tacHex: Buffer.from(prng.bytes(4)).toString('hex').toUpperCase() };
      const e = journalEntryNormalise(tunionEntry(prng.below(1000), prng.below(0x10000),
        prng.chance(0.5) ? i + 1 : null, paid), 'test');
      const timeWallMs = 1_714_550_400_000 + prng.below(1_000_000);
      const payload = prng.chance(0.3)
        ? new TextEncoder().encode(JSON.stringify({ timeWallMs, ...e }, null, 1))
        : journalPayloadEncode(timeWallMs, e);
      const built = frameEncode(JOURNAL_KIND_CODES[e.kind], i + 1, payload, prev);
      frames.push(built.frame);
      prev = built.hash;
      const serialDigits = e.kind === 'tunion_final' ? e.card.serialDigits : '';
      expected.push(e.kind === 'tunion_final'
        ? { timeWallMs, final: { serialDigits, ...paid } }
        : { timeWallMs, final: null });
    }
    const storage = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(seed),
      tornModes: ['prefix'] });
    for (const f of frames) void storage.append(JOURNAL_FILE_NAME, f);
    void storage.sync(JOURNAL_FILE_NAME);
    const followed = new JournalFollower().next(storage, 0).records;
    expect(followed.map((r) => r.tunion), `seed ${seed}`).toEqual(expected);
    // A full scan decides them the same way (the scan's own fast check, or the decoder).
    expect(journalScanDurable(storage).records.map((r) => r.tunion), `seed ${seed}`)
      .toEqual(expected);
  });


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
    const storage = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(seed), tornModes: ['prefix'] });
    for (const f of frames) void storage.append(JOURNAL_FILE_NAME, f);
    void storage.sync(JOURNAL_FILE_NAME);
    const follower = new JournalFollower();
    const got = follower.next(storage, 0);
    expect(got.records.map((r) => r.debit), `seed ${seed}`).toEqual(expected);
    // An ATC out of range decodes nowhere: no key, and the follower stops before it, also
    // when a good frame follows.
    const good = journalPayloadEncode(1, journalEntryNormalise(entry(1, 7, null), 'test'));
    const text = new TextDecoder().decode(good);
    expect(text).toContain('"atc":7,');
    const bad = new TextEncoder().encode(text.replace('"atc":7,', '"atc":70000,'));
    expect(payloadDebitKey('pending', bad, new PayloadFacts())).toBeUndefined();
    push(bad, 'pending');
    push(good, 'pending');
    for (const f of frames.slice(-2)) void storage.append(JOURNAL_FILE_NAME, f);
    void storage.sync(JOURNAL_FILE_NAME);
    expect(follower.next(storage, 0).records).toEqual([]);
  });

  it('follower_whenSegmentsAreReplacedByAsMany_readsTheNewOnes', async () => {
    // The oldest segment goes and a newer one comes between two calls: as many names as
    // before, other ones. The follower must find the new segment (its units follow the names).
    const storage = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(4),
      tornModes: ['prefix'] });
    const segment3 = segmentName(JOURNAL_FILE_NAME, 3);
    let prev = CHAIN_GENESIS_HASH;
    const write = async (name: string, seq: number): Promise<void> => {
      const e = journalEntryNormalise(entry(seq, seq, null), 'test');
      const payload = journalPayloadEncode(1_714_550_400_000 + seq, e);
      const built = frameEncode(JOURNAL_KIND_CODES[e.kind], seq, payload, prev);
      prev = built.hash;
      await storage.append(name, built.frame);
      await storage.sync(name);
    };
    await write(JOURNAL_FILE_NAME, 1);
    await write(JOURNAL_FILE_NAME, 2);
    const follower = new JournalFollower();
    expect(follower.next(storage, 0).records.map((r) => r.seq)).toEqual([1, 2]);
    await storage.remove(JOURNAL_FILE_NAME);
    await write(segment3, 3);
    await write(segment3, 4);
    expect(storage.durableNames()).toEqual([segment3]);
    const got = follower.next(storage, 0);
    expect(got.records.map((r) => r.seq)).toEqual([3, 4]);
    expect(got.read.map((r) => r.name)).toEqual([segment3]);
  });

  it('tunionBlockRecords_haveNoDebit_andTheFollowerReadsOnPastThem', () => {
    // A deny-listed card's block (journal_tunion.ts) charges nothing: no debit key, canonical
    // or spelled otherwise, and the records after it are still read.
    const block = journalEntryNormalise({
      kind: 'tunion_blocked',
      card: { issuerIdHex: '0000000000000001', serialDigits: '03105170070100000042',
        cityCodeHex: '4403', uidHex: '0A0B0C0D' },
      dateTimeDigits: '20261122080000', terminalNumberHex: '000000000001', terminalId: 'T1',
      lineId: 'L101', paramsVersion: 1, blockOutcome: 'not-confirmed', blockSwHex: '',
      pendingSeq: null,
    }, 'test');
    const canonical = journalPayloadEncode(1_714_550_400_000, block);
    const spelled = new TextEncoder().encode(
      JSON.stringify({ timeWallMs: 1_714_550_400_000, ...block }, null, 1));
    expect(recordDebitKey(block)).toBeNull();
    expect(payloadDebitKey('tunion_blocked', canonical, new PayloadFacts())).toBeNull();
    expect(payloadDebitKey('tunion_blocked', spelled, new PayloadFacts())).toBeNull();
    const entries = [tunionEntry(1, 5, null), block, tunionEntry(1, 5, 1)]
      .map((e) => journalEntryNormalise(e, 'test'));
    const storage = new StorageSim({ totalBytes: 1 << 20, prng: new Prng(3),
      tornModes: ['prefix'] });
    let prev = CHAIN_GENESIS_HASH;
    entries.forEach((e, i) => {
      const payload = i === 1 ? spelled : journalPayloadEncode(1_714_550_400_000 + i, e);
      const built = frameEncode(JOURNAL_KIND_CODES[e.kind], i + 1, payload, prev);
      prev = built.hash;
      void storage.append(JOURNAL_FILE_NAME, built.frame);
    });
    void storage.sync(JOURNAL_FILE_NAME);
    const got = new JournalFollower().next(storage, 0).records;
    expect(got.map((r) => [r.kind, r.debit])).toEqual(entries.map((e) => [e.kind,
      recordDebitKey(e)]));
  });
});
