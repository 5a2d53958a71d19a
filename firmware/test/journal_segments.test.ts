// Segments on StorageSim: rotation, start-up from the newest checkpoint, reclaim after ack,
// space coming back when full, power cuts across rotation and reclaim, damaged checkpoints,
// and the space check near full giving the answer of the checkpoint's exact size.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal, JournalStatus } from '../src/app/journal/journal.js';
import type { JournalOptions } from '../src/app/journal/journal.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import {
  JOURNAL_FILE, card, clearing, countingReads, journalOptions, newClock, newPrng, randomEntries,
  recovery, torn,
} from './journal_fixtures.js';

const SEGMENT_BYTES = 16_000;

function newSim(seed: number, totalBytes = 1 << 24): StorageSim {
  return new StorageSim({
    totalBytes, prng: newPrng(seed), tornModes: ['prefix', 'garbage', 'zeros'],
  });
}

/** A medium of the same size holding the durable files of `sim`. */
async function copyOf(sim: StorageSim, totalBytes: number): Promise<StorageSim> {
  const copy = newSim(99, totalBytes);
  for (const [name, bytes] of sim.durableFiles()) {
    const written = await copy.replace(name, bytes);
    if (!written.ok) throw new Error(written.detail);
  }
  return copy;
}

function options(sizeBytesMax = 1 << 20): JournalOptions {
  return { ...journalOptions(newClock(), sizeBytesMax, 8192), segmentBytesMax: SEGMENT_BYTES };
}

async function open(sim: StorageSim, sizeBytesMax = 1 << 20): Promise<Journal> {
  const opened = await Journal.open(sim, options(sizeBytesMax));
  if (!opened.ok) throw new Error(`${opened.error} ${opened.detail}`);
  return opened.value.journal;
}

/** One approved tap: a pending and its final. */
function tap(n: number, pendingSeq: number): JournalEntry[] {
  const key = card(n);
  return [
    { kind: 'pending', recovery: recovery(key, n), fareRule: 'flat', amountMinor: 200 },
    { kind: 'final', pendingSeq, clearing: clearing(key, n) },
  ];
}

async function appendOk(journal: Journal, entry: JournalEntry): Promise<void> {
  const result = await journal.append(entry);
  if (!result.ok) throw new Error(`append ${entry.kind}: ${result.error} ${result.detail}`);
}

describe('journal segments', () => {
  it('fullJournal_goesOutOfService_andAnAckGivesTheSpaceBack', async () => {
    const sim = newSim(1);
    const journal = await open(sim, 120_000);
    let n = 0;
    // Bounded: each tap adds two records, the journal is full after ~80 taps.
    while ((await journal.canAcceptTap()).ok && n < 1000) {
      const accept = await journal.canAcceptTap();
      if (!accept.ok || !accept.value) break;
      for (const entry of tap(n, journal.summary().lastSeq + 1)) await appendOk(journal, entry);
      n += 1;
    }
    const full = journal.summary();
    expect(full.segmentCount).toBeGreaterThan(3);
    expect(full.sizeBytes).toBeLessThanOrEqual(120_000);
    const pending = tap(9999, full.lastSeq + 1)[0];
    if (pending === undefined) throw new Error('tap');
    expect(await journal.canAcceptTap()).toEqual({ ok: true, value: false });
    // Uploads acknowledge everything: every sealed segment goes, taps are accepted again.
    await appendOk(journal, { kind: 'ack', throughSeq: full.lastSeq });
    expect(journal.summary().segmentCount).toBe(1);
    expect(journal.summary().sizeBytes).toBeLessThan(SEGMENT_BYTES + 4096);
    expect(await journal.canAcceptTap()).toEqual({ ok: true, value: true });
    await appendOk(journal, pending);
    const files = [...sim.durableFiles().keys()].filter((name) => name.startsWith('journal'));
    expect(files.length).toBeLessThanOrEqual(2);
    const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, false);
    expect(scan.corruption).toBeNull();
    expect(scan.state.lastSeq).toBe(full.lastSeq + 2);
    expect(scan.state.countsByKind.final).toBe(n);
  });

  it('startUp_readsTheNewestCheckpointAndSegmentOnly_andRestoresTheIndex', async () => {
    const sim = newSim(2);
    const journal = await open(sim, 1 << 24);
    // An uncertain tap in the first segment, then many taps after it.
    const lost = card(7);
    await appendOk(journal, {
      kind: 'pending', recovery: recovery(lost, 70), fareRule: 'flat', amountMinor: 200,
    });
    for (let i = 0; i < 300; i += 1) {
      for (const entry of tap(100 + i, journal.summary().lastSeq + 1)) {
        await appendOk(journal, entry);
      }
    }
    await appendOk(journal, { kind: 'ack', throughSeq: 300 });
    const before = journal.summary();
    expect(before.segmentCount).toBeGreaterThan(10);
    const reads = countingReads(sim);
    const reopened = await open(sim, 1 << 24);
    expect(reopened.summary()).toEqual(before);
    const checkpoint = [...sim.durableFiles().keys()].filter((n) => n.endsWith('.ckpt')).at(-1);
    const checkpointBytes = sim.durableBytes(checkpoint ?? '').length;
    expect(checkpointBytes).toBeGreaterThan(0);
    expect(reads.bytes()).toBeLessThanOrEqual(SEGMENT_BYTES + checkpointBytes);
    expect(reads.bytes() * 5).toBeLessThan(before.sizeBytes);
    expect(reopened.uncertainForCard(lost.panToken, lost.psn).map((t) => t.seq)).toEqual([1]);
    const lastCard = card(100 + 299);
    expect(reopened.lastFinalFor(lastCard.panToken, lastCard.psn)?.seq).toBe(before.lastSeq - 1);
    const early = card(101);
    expect(reopened.lastFinalFor(early.panToken, early.psn)?.seq).toBe(5);
    // And the whole retained journal verifies from its oldest checkpoint.
    const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, false);
    expect(scan.corruption).toBeNull();
    expect(scan.state.lastSeq).toBe(before.lastSeq);
  });

  it('powerCutsAcrossRotationAndReclaim_keepEverySyncedRecord', async () => {
    for (let seed = 1; seed <= 16; seed += 1) {
      const sim = newSim(seed);
      const entries = randomEntries(newPrng(seed), 400);
      let journal = await open(sim);
      let synced = 0;
      // Bounded: every restart resumes after the last synced record; 6 cuts per seed.
      for (let cut = 0; cut < 6 && synced < entries.length; cut += 1) {
        sim.armPowerCut(1 + newPrng(seed * 31 + cut).below(300));
        for (const entry of entries.slice(synced)) {
          if (!(await journal.append(entry)).ok) break;
          synced += 1;
        }
        if (sim.isDown()) sim.restart();
        const opened = await Journal.open(sim, options());
        if (!opened.ok) throw new Error(`seed ${seed} cut ${cut}: ${opened.detail}`);
        journal = opened.value.journal;
        const lastSeq = journal.summary().lastSeq;
        // A record whose append failed may still be whole on the medium (kept), never more.
        expect(lastSeq, `seed ${seed}`).toBeGreaterThanOrEqual(synced);
        expect(lastSeq, `seed ${seed}`).toBeLessThanOrEqual(synced + 1);
        synced = lastSeq;
        const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, false);
        expect(scan.corruption, `seed ${seed}`).toBeNull();
        expect(scan.state.lastSeq, `seed ${seed}`).toBe(lastSeq);
      }
    }
  });

  it('damagedCheckpoint_isCorrupt_quarantined_andLeftAsItIs', async () => {
    const sim = newSim(3);
    const journal = await open(sim);
    for (let i = 0; i < 40; i += 1) {
      for (const entry of tap(i, journal.summary().lastSeq + 1)) await appendOk(journal, entry);
    }
    const names = [...sim.durableFiles().keys()];
    const checkpoint = names.filter((name) => name.endsWith('.ckpt')).at(-1);
    if (checkpoint === undefined) throw new Error('no checkpoint');
    const image = sim.durableBytes(checkpoint);
    sim.corruptByte(checkpoint, 40, (image[40] ?? 0) ^ 0x01);
    const reopened = await Journal.open(sim, options());
    expect(reopened.ok ? null : reopened.error).toBe(JournalStatus.CORRUPT);
    expect(sim.durableBytes(`quarantine-${checkpoint}`)).toEqual(sim.durableBytes(checkpoint));
    expect(sim.durableBytes(checkpoint)[40]).toBe((image[40] ?? 0) ^ 0x01);
  });

  it('missingMiddleSegment_isCorruptionForVerify', async () => {
    const sim = newSim(4);
    const journal = await open(sim);
    for (let i = 0; i < 40; i += 1) {
      for (const entry of tap(i, journal.summary().lastSeq + 1)) await appendOk(journal, entry);
    }
    const files = sim.durableFiles();
    // journal.bin (seq 1), then numbered segments: the first numbered one is in the middle.
    const segments = [...files.keys()].filter((name) => /^journal-.*\.bin$/.test(name));
    expect(segments.length).toBeGreaterThan(1);
    files.delete(segments[0] ?? '');
    const scan = journalScanFiles(files, JOURNAL_FILE, false);
    expect(scan.corruption?.reason).toMatch(/segment missing/);
  });

  it('oldestUnacknowledgedUnitGone_withItsCheckpoint_isCorruption_forVerifyAndStartUp',
    async () => {
      const sim = newSim(5);
      const journal = await open(sim);
      for (let i = 0; i < 60; i += 1) {
        for (const entry of tap(i, journal.summary().lastSeq + 1)) await appendOk(journal, entry);
      }
      const units = (files: Map<string, Uint8Array>): string[] =>
        [...files.keys()].filter((name) => /^journal(-\d{10})?\.bin$/.test(name)).sort();
      // Nothing acknowledged: journal.bin (seq 1...) deleted by hand.
      const fresh = sim.durableFiles();
      expect(journalScanFiles(fresh, JOURNAL_FILE, false).corruption).toBeNull();
      fresh.delete(JOURNAL_FILE);
      expect(journalScanFiles(fresh, JOURNAL_FILE, false).corruption?.reason)
        .toMatch(/^segments before seq \d+ are missing but not acknowledged$/);
      // Acknowledged through the first numbered segment's first record: the reclaim keeps it;
      // that segment and its checkpoint deleted lose records no ack covers.
      const numbered = units(sim.durableFiles()).filter((name) => name !== JOURNAL_FILE);
      const firstSeq = Number(/(\d{10})/.exec(numbered[0] ?? '')?.[1]);
      await appendOk(journal, { kind: 'ack', throughSeq: firstSeq });
      const left = units(sim.durableFiles());
      expect(left[0]).toBe(numbered[0]);
      const gone = await copyOf(sim, 1 << 24);
      for (const name of [left[0] ?? '', (left[0] ?? '').replace(/\.bin$/, '.ckpt')]) {
        expect((await gone.remove(name)).ok, name).toBe(true);
      }
      const scan = journalScanFiles(gone.durableFiles(), JOURNAL_FILE, false);
      expect(scan.corruption?.reason).toMatch(/missing but not acknowledged/);
      const reopened = await Journal.open(gone, options());
      expect(reopened.ok ? null : reopened.error).toBe(JournalStatus.CORRUPT);
    });

  it('canAcceptTap_nearFull_answersAsAJournalThatEncodesItsCheckpoint', async () => {
    // The journal adds up a bound of its next checkpoint's size instead of encoding it at every
    // tap; a journal just opened on a copy of its files has no bound yet and encodes it. Both
    // must answer alike before every record, up to full (of sizeBytesMax, then of the medium),
    // through rotations, reclaims after acks that lag behind, torn and reconciled taps.
    const limits = [
      { sizeBytesMax: 150_000, totalBytes: 1 << 24 },
      { sizeBytesMax: 1 << 20, totalBytes: 150_000 },
    ];
    for (const [i, { sizeBytesMax, totalBytes }] of limits.entries()) {
      const sim = newSim(20 + i, totalBytes);
      const journal = await open(sim, sizeBytesMax);
      const answers = { true: 0, false: 0 };
      const same = async (): Promise<boolean> => {
        const fresh = await open(await copyOf(sim, totalBytes), sizeBytesMax);
        const accept = await journal.canAcceptTap();
        expect(accept, `limit ${i} seq ${journal.summary().lastSeq}`)
          .toEqual(await fresh.canAcceptTap());
        if (!accept.ok) throw new Error(accept.detail);
        answers[`${accept.value}`] += 1;
        return accept.value;
      };
      // Bounded: the journal is full after a few hundred taps.
      for (let n = 0; n < 2000 && (await same()); n += 1) {
        for (const entry of mixedTap(n, journal.summary())) {
          await same();
          await appendOk(journal, entry);
        }
      }
      expect(answers.false).toBeGreaterThan(0);
      expect(answers.true).toBeGreaterThan(100);
    }
  });
});

/**
 * Tap `n` of a mixed day: approved, declined, torn (reconciled two taps on), with an ack of
 * about half the records every tenth tap (the journal fills, reclaiming now and then).
 */
function mixedTap(n: number, summary: { lastSeq: number; ackThroughSeq: number }): JournalEntry[] {
  const key = card(n);
  const pendingSeq = summary.lastSeq + 1;
  const entries: JournalEntry[] = [
    { kind: 'pending', recovery: recovery(key, n), fareRule: 'flat', amountMinor: 200 },
  ];
  if (n % 5 === 3) entries.push(torn(pendingSeq, key, n));
  else if (n % 5 === 4) entries.push({ kind: 'declined', pendingSeq, card: key, reason: 'deny' });
  else entries.push({ kind: 'final', pendingSeq, clearing: clearing(key, n) });
  if (n % 5 === 0 && n > 0) {
    // The torn record of tap n - 2: its pending, torn, then tap n - 1's pending and declined.
    const targetSeq = pendingSeq - 3;
    entries.push({
      kind: 'reconciled', targetSeq, outcome: 'not_debited', finalSeq: null, note: 'ATC',
    });
  }
  const throughSeq = Math.floor(summary.lastSeq / 2);
  if (n % 10 === 7 && throughSeq > summary.ackThroughSeq) entries.push({ kind: 'ack', throughSeq });
  return entries;
}
