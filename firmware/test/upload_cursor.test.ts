// Upload cursor: a pass that goes on from where the pass before ended hands the depot the same
// slices as a pass that reads from the checkpoint of the segment holding the first record after
// the ack (the truth: uploadPass without a cursor, on the same files), reads less when it
// resumes, and falls back to that read when its last record is gone or changed (segment
// reclaimed, a record cut by a power cut and written again, a flipped bit). Damage after the
// cursor stops both reads at the same record. A pass the depot stops (a failed send, a lost
// answer) leaves a cursor at the end of its last batch the depot is known to have stored (else
// at its start): the next pass resumes there and sends again whatever was not heard stored.

import { describe, expect, it, vi } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import { JournalState } from '../src/app/journal/journal_state.js';
import type { JournalExportContext } from '../src/app/journal/journal_export.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import {
  uploadPass, type UploadPassEnd, type UploadSlice,
} from '../src/app/upload/upload_batches.js';
import { UploadCursor } from '../src/app/upload/upload_cursor.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, card, clearing, countingReads, journalOptions, newClock, newPrng,
  recovery, torn,
} from './journal_fixtures.js';

const LIMITS = { recordsMax: 7, bytesMax: 1 << 20 };
const SEGMENT_BYTES = 16_000;

interface Rig {
  readonly sim: StorageSim;
  journal: Journal;
  /** Bytes read from the medium so far (whole files and windows). */
  readonly bytesRead: () => number;
  n: number;
}

async function rig(seed: number): Promise<Rig> {
  const sim = new StorageSim({ totalBytes: 1 << 24, prng: newPrng(seed), tornModes: ['prefix'] });
  const reads = countingReads(sim);
  return { sim, journal: await openJournal(sim), bytesRead: reads.bytes, n: 0 };
}

async function openJournal(sim: StorageSim): Promise<Journal> {
  const options = { ...journalOptions(newClock(), 1 << 22), segmentBytesMax: SEGMENT_BYTES };
  const opened = await Journal.open(sim, options);
  if (!opened.ok) throw new Error(`${opened.error} ${opened.detail}`);
  return opened.value.journal;
}

async function append(rig: Rig, entry: JournalEntry): Promise<void> {
  const appended = await rig.journal.append(entry);
  if (!appended.ok) throw new Error(`${entry.kind}: ${appended.error} ${appended.detail}`);
}

/** `count` taps: approved, declined, torn (each torn one reconciled at the next tap). */
async function taps(rig: Rig, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    rig.n += 1;
    const key = card(rig.n);
    const pendingSeq = rig.journal.summary().lastSeq + 1;
    await append(rig, { kind: 'pending', recovery: recovery(key, rig.n), fareRule: 'flat',
      amountMinor: 200 });
    if (rig.n % 4 === 1) await append(rig, torn(pendingSeq, key, rig.n));
    else if (rig.n % 4 === 2) {
      await append(rig, { kind: 'declined', pendingSeq, card: key, reason: 'expired' });
    } else await append(rig, { kind: 'final', pendingSeq, clearing: clearing(key, rig.n) });
    const uncertain = rig.journal.uncertainAll().filter((tap) => tap.kind === 'torn');
    for (const tap of uncertain.slice(0, rig.n % 4 === 3 ? 1 : 0)) {
      await append(rig, { kind: 'reconciled', targetSeq: tap.seq, outcome: 'not_debited',
        finalSeq: null, note: 'ATC' });
    }
  }
}

interface Pass {
  readonly end: UploadPassEnd;
  readonly slices: UploadSlice[];
  readonly bytesRead: number;
}

/** One pass after the journal's ack (or `ackThroughSeq`); `stopAt`: the slice refused. */
async function pass(
  rig: Rig,
  cursor: UploadCursor | undefined,
  ackThroughSeq = rig.journal.summary().ackThroughSeq,
  stopAt = Infinity,
): Promise<Pass> {
  const slices: UploadSlice[] = [];
  const before = rig.bytesRead();
  const context = contextOf(rig, ackThroughSeq);
  const end = await uploadPass(rig.sim, JOURNAL_FILE, context, LIMITS, async (slice) => {
    if (slices.length >= stopAt) return 'stop';
    slices.push(slice);
    return 'continue';
  }, undefined, cursor);
  return { end, slices, bytesRead: rig.bytesRead() - before };
}

function contextOf(rig: Rig, ackThroughSeq: number): JournalExportContext {
  const openSeqs = new Set(rig.journal.uncertainAll().map((tap) => tap.seq));
  return { ackThroughSeq, openSeqs, vault: FIXTURE_VAULT };
}

/**
 * A pass with `cursor` and one without: the same slices and end. The cursor's pass, its bytes
 * read less those of the other (negative: it resumed; 0: it could not even try, its segment
 * gone; positive: it read its last record, found it changed, and read from the checkpoint).
 */
async function passBoth(rig: Rig, cursor: UploadCursor, ackThroughSeq?: number): Promise<Pass> {
  const truth = await pass(rig, undefined, ackThroughSeq);
  const resumed = await pass(rig, cursor, ackThroughSeq);
  expect(resumed.slices).toEqual(truth.slices);
  expect(resumed.end).toEqual(truth.end);
  return { ...resumed, bytesRead: resumed.bytesRead - truth.bytesRead };
}

/** The ack the journal writes after a drained pass (what the depot stored). */
async function ackDrained(rig: Rig, drained: Pass): Promise<void> {
  const last = drained.slices.at(-1);
  if (last !== undefined) await append(rig, { kind: 'ack', throughSeq: last.throughSeq });
}

describe('upload cursor', () => {
  it('passAfterPass_resumesAtTheCursor_sameSlices_fewerBytes', async () => {
    const r = await rig(1);
    const cursor = new UploadCursor();
    let resumedPasses = 0;
    // Bounded: 40 rounds of a few taps (segments rotate and are reclaimed on the way).
    for (let round = 0; round < 40; round += 1) {
      await taps(r, round % 5 === 4 ? 0 : 1 + (round % 3));
      const both = await passBoth(r, cursor);
      expect(both.end.kind).toBe('drained');
      // Negative: the cursor's pass read fewer bytes than the read from the checkpoint.
      if (round > 0 && both.bytesRead < 0) resumedPasses += 1;
      await ackDrained(r, both);
    }
    expect(r.journal.summary().segmentCount).toBeLessThanOrEqual(2);
    expect(r.n).toBeGreaterThan(40);
    // Only a pass right after a rotation may read from a checkpoint instead.
    expect(resumedPasses).toBeGreaterThan(25);
  });

  it('cursorSegmentReclaimed_fallsBackToTheCheckpointRead', async () => {
    const r = await rig(2);
    const cursor = new UploadCursor();
    await taps(r, 3);
    await ackDrained(r, await passBoth(r, cursor));
    const segment = (): number => r.journal.summary().segmentCount;
    const first = r.journal.summary().lastSeq;
    // More taps without a pass: the journal rotates, then an ack of them all reclaims.
    while (segment() < 2) await taps(r, 1);
    await taps(r, 2);
    await append(r, { kind: 'ack', throughSeq: first + 1 });
    const names = r.sim.durableNames();
    await append(r, { kind: 'ack', throughSeq: r.journal.summary().lastSeq - 3 });
    expect(r.sim.durableNames()).not.toEqual(names);
    expect(r.sim.durableNames()).not.toContain(JOURNAL_FILE);
    expect((await passBoth(r, cursor)).bytesRead).toBe(0);
  });

  it('lastRecordCutByAPowerCutAndWrittenAgain_fallsBack', async () => {
    const r = await rig(3);
    const cursor = new UploadCursor();
    await taps(r, 4);
    await passBoth(r, cursor);
    // The pass read the last record before its sync; power went: recovery cuts it as torn,
    // and the validator writes other records under the same seqs.
    const segment = [...r.sim.durableNames()].filter((name) => name.endsWith('.bin')).at(-1);
    if (segment === undefined) throw new Error('segment');
    const size = r.sim.durableBytes(segment).length;
    const cut = await r.sim.truncate(segment, size - 10);
    expect(cut.ok).toBe(true);
    await r.sim.sync(segment);
    const seqBefore = r.journal.summary().lastSeq;
    r.journal = await openJournal(r.sim);
    expect(r.journal.summary().lastSeq).toBe(seqBefore - 1);
    await append(r, { kind: 'declined', pendingSeq: null, card: card(500), reason: 'deny' });
    await taps(r, 2);
    // The depot stored everything the first pass read, the lost record too.
    const both = await passBoth(r, cursor, seqBefore);
    expect(both.bytesRead).toBeGreaterThan(0);
    expect(both.slices.at(-1)?.throughSeq).toBe(r.journal.summary().lastSeq);
  });

  it('flippedBit_afterTheCursor_stopsBothReadsAtTheSameRecord', async () => {
    const r = await rig(4);
    const cursor = new UploadCursor();
    await taps(r, 3);
    await passBoth(r, cursor);
    const ack = r.journal.summary().lastSeq;
    const segment = [...r.sim.durableNames()].filter((name) => name.endsWith('.bin')).at(-1);
    if (segment === undefined) throw new Error('segment');
    await taps(r, 1);
    const intact = r.journal.summary().lastSeq;
    const at = r.sim.durableBytes(segment).length;
    await taps(r, 4);
    expect(r.sim.durableNames().filter((name) => name.endsWith('.bin')).at(-1)).toBe(segment);
    // A byte in the first record of the second tap after the cursor: its CRC fails.
    r.sim.corruptByte(segment, at + 30, 0x7e);
    const truthCursor = new UploadCursor();
    const both = await passBoth(r, cursor, ack);
    expect(both.bytesRead).toBeLessThan(0);
    // The records before the damage go; the pass then says it could not read on.
    expect(both.slices.at(-1)?.throughSeq).toBe(intact);
    expect(both.end).toEqual({ kind: 'read-failed',
      detail: expect.stringContaining(`journal damaged: ${segment} at byte`) as unknown });
    // The damage stays: a new cursor after this pass still stops there.
    await passBoth(r, truthCursor, ack);
  });

  it('flippedBit_inTheCursorsLastRecord_fallsBackAndFindsIt', async () => {
    const r = await rig(5);
    const cursor = new UploadCursor();
    await taps(r, 3);
    await passBoth(r, cursor);
    const segment = [...r.sim.durableNames()].filter((name) => name.endsWith('.bin')).at(-1);
    if (segment === undefined) throw new Error('segment');
    const size = r.sim.durableBytes(segment).length;
    const read = r.journal.summary().lastSeq;
    await taps(r, 2);
    r.sim.corruptByte(segment, size - 40, 0x00);
    const both = await passBoth(r, cursor, read);
    expect(both.bytesRead).toBeGreaterThan(0);
    // The read from the checkpoint stops at the damaged record: nothing after it goes.
    expect(both.end).toEqual({ kind: 'read-failed',
      detail: expect.stringContaining(`journal damaged: ${segment} at byte`) as unknown });
    expect(both.slices).toEqual([]);
  });

  it('stoppedPass_thenADrainedOne_whoseLastBatchWasNotStored_isSentAgain', async () => {
    const r = await rig(6);
    const cursor = new UploadCursor();
    await taps(r, 12);
    const stopped = await pass(r, cursor, 0, 1);
    expect(stopped.end).toEqual({ kind: 'stopped' });
    await passBoth(r, cursor, stopped.slices.at(-1)?.throughSeq ?? 0);
    // A drained pass whose last batch the depot did not store: the next one must resend it.
    const drained = await pass(r, cursor, 0);
    const stored = drained.slices.at(-2)?.throughSeq ?? 0;
    const resend = await passBoth(r, cursor, stored);
    expect(resend.slices[0]?.firstSeq).toBe(stored + 1);
  });

  // The depot stores `stored` batches, then a send fails (network error, outage): the next
  // pass goes on from the end of the last stored batch (a pass after a boot, without a cursor:
  // from the ack), reads less than from the checkpoint, and sends the same batches.
  it('passStoppedAfter0_1_2Batches_nextResumesAtTheLastStoredOne_sameSlices', async () => {
    for (const stored of [0, 1, 2]) {
      for (const afterBoot of [false, true]) {
        const r = await rig(10 + stored);
        let cursor = new UploadCursor();
        await taps(r, 3);
        await ackDrained(r, await passBoth(r, cursor));
        await taps(r, 26);
        if (afterBoot) cursor = new UploadCursor();
        const ack = r.journal.summary().ackThroughSeq;
        const stopped = await pass(r, cursor, ack, stored);
        expect(stopped.end).toEqual({ kind: 'stopped' });
        expect(stopped.slices.length).toBe(stored);
        const storedThrough = stopped.slices.at(-1)?.throughSeq ?? ack;
        const next = await passBoth(r, cursor, storedThrough);
        expect(next.end.kind).toBe('drained');
        expect(next.slices.length).toBeGreaterThan(1);
        expect(next.slices[0]?.firstSeq).toBe(storedThrough + 1);
        expect(next.bytesRead).toBeLessThan(0);
      }
    }
  });

  // The depot stored the batch but its answer was lost: the validator heard of `heard` batches
  // only, and the next pass sends the lost one again (the depot dedupes), whole.
  it('answerLost_theBatchTheDepotStoredUnheard_isSentAgain', async () => {
    for (const heard of [0, 1]) {
      const r = await rig(20 + heard);
      const cursor = new UploadCursor();
      await taps(r, 3);
      await ackDrained(r, await passBoth(r, cursor));
      await taps(r, 10);
      const ack = r.journal.summary().ackThroughSeq;
      const atDepot: UploadSlice[] = [];
      const end = await uploadPass(r.sim, JOURNAL_FILE, contextOf(r, ack), LIMITS,
        async (slice) => {
          atDepot.push(slice);
          return atDepot.length > heard ? 'stop' : 'continue';
        }, undefined, cursor);
      expect(end).toEqual({ kind: 'stopped' });
      const lost = atDepot[heard];
      expect(lost).toBeDefined();
      const next = await passBoth(r, cursor, atDepot[heard - 1]?.throughSeq ?? ack);
      expect(next.slices[0]).toEqual(lost);
      expect(next.bytesRead).toBeLessThan(0);
    }
  });

  // A 413 halved the batch and the depot stored the first half before the second failed: the
  // ack is past the cursor (the pass's start), in its segment; the next pass resumes there
  // and passes over the records up to the ack.
  it('ackPastTheCursor_inItsSegment_resumesThere_sameSlices', async () => {
    const r = await rig(30);
    const cursor = new UploadCursor();
    await taps(r, 3);
    await ackDrained(r, await passBoth(r, cursor));
    await taps(r, 12);
    const ack = r.journal.summary().ackThroughSeq;
    const stopped = await pass(r, cursor, ack, 0);
    expect(stopped.end).toEqual({ kind: 'stopped' });
    const next = await passBoth(r, cursor, ack + 5);
    expect(next.slices[0]?.firstSeq).toBe(ack + 6);
    expect(next.bytesRead).toBeLessThan(0);
  });

  // The ack moved into a later segment than the cursor's (a pass stopped at its start, then
  // the depot stored batches of a board's worker, say): resuming would read the older segment
  // too, so the pass reads from the checkpoint of the ack's segment.
  it('ackInALaterSegmentThanTheCursor_readsFromThatSegmentsCheckpoint', async () => {
    const r = await rig(31);
    const cursor = new UploadCursor();
    await taps(r, 3);
    await ackDrained(r, await passBoth(r, cursor));
    const ack = r.journal.summary().ackThroughSeq;
    const segments = (): number => r.journal.summary().segmentCount;
    while (segments() < 2) await taps(r, 1);
    await taps(r, 2);
    const stopped = await pass(r, cursor, ack, 0);
    expect(stopped.end).toEqual({ kind: 'stopped' });
    const next = await passBoth(r, cursor, r.journal.summary().lastSeq - 3);
    expect(next.bytesRead).toBe(0);
  });
  // Each resume point copies the read's state, which holds every unacknowledged final: one a
  // batch made a pass over a long backlog quadratic (10^6 records: twice the read's time).
  it('longBacklog_pointsAtDoublingDistances_aStopLateResumesWithTheSameSlices', async () => {
    const r = await rig(40);
    await taps(r, 600);
    const copies = vi.spyOn(JournalState.prototype, 'copy');
    const drained = await pass(r, new UploadCursor());
    const copied = copies.mock.calls.length;
    copies.mockRestore();
    expect(drained.end.kind).toBe('drained');
    expect(drained.slices.length).toBeGreaterThan(80);
    expect(copied).toBeGreaterThan(3);
    expect(copied).toBeLessThan(drained.slices.length / 3);
    const cursor = new UploadCursor();
    const ack = r.journal.summary().ackThroughSeq;
    const stopAt = drained.slices.length - 2;
    const stopped = await pass(r, cursor, ack, stopAt);
    const storedThrough = stopped.slices.at(-1)?.throughSeq ?? ack;
    const next = await passBoth(r, cursor, storedThrough);
    expect(next.slices[0]?.firstSeq).toBe(storedThrough + 1);
    expect(next.bytesRead).toBeLessThanOrEqual(0);
  });
  // A board's pass runs in a thread that ends with it: the cursor crosses as an image.
  it('cursorImage_structuredClone_resumes_aDamagedImageReadsFromTheCheckpoint', async () => {
    const r = await rig(41);
    const cursor = new UploadCursor();
    await taps(r, 5);
    await ackDrained(r, await passBoth(r, cursor));
    await taps(r, 5);
    const image = structuredClone(cursor.image());
    if (image === null) throw new Error('a drained pass left no cursor');
    const resumed = await passBoth(r, UploadCursor.fromImage(image));
    expect(resumed.bytesRead).toBeLessThan(0);
    const damaged = new Uint8Array(image.checkpoint);
    damaged[20] = (damaged[20] ?? 0) ^ 0x01;
    const fallback = await passBoth(r, UploadCursor.fromImage({ ...image, checkpoint: damaged }));
    expect(fallback.bytesRead).toBe(0);
  });
});
