// Open taps whose card never came back (an uncertain qPBOC tap, an open T-Union grey) end
// their watch with a `reconciled … unresolved` record: after 30 days and 5,000 records, or
// beyond 256 open taps. Before, they were kept for good, copied into every checkpoint and
// held at every start-up, so a validator's start-up grew with the years it had run.

import { describe, expect, it } from 'vitest';

import { ClockSim } from '../../host-sim/src/clock_sim.js';
import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { JumpClock } from '../../host-sim/src/swarm/swarm_devices.js';
import { Journal } from '../src/app/journal/journal.js';
import {
  OPEN_TAP_WATCH_MS, OPEN_TAP_WATCH_RECORDS, OPEN_TAPS_MAX,
} from '../src/app/journal/journal_expiry.js';
import type { JournalEntry, JournalRecord } from '../src/app/journal/journal_records.js';
import { journalExport } from '../src/app/journal/journal_export.js';
import { journalRead, journalScanFiles } from '../src/app/journal/journal_reader.js';
import {
  FIXTURE_VAULT, JOURNAL_FILE, WALL_EPOCH_MS, card, clearing, journalOptions, newPrng, recovery,
} from './journal_fixtures.js';
import { tunionEntries } from './journal_tunion_fixtures.js';

const DAY_MS = 24 * 3600 * 1000;

async function open(sim: StorageSim, clock: JumpClock): Promise<Journal> {
  const opened = await Journal.open(sim, {
    ...journalOptions(clock.sim, 1 << 24), clock, segmentBytesMax: 1 << 18,
  });
  if (!opened.ok) throw new Error(opened.detail);
  return opened.value.journal;
}

/** A new journal on its own simulated medium (`totalBytes`, seeded) and wall clock. */
async function fresh(seed: number, totalBytes = 1 << 25)
  : Promise<{ sim: StorageSim; clock: JumpClock; journal: Journal }> {
  const sim = new StorageSim({ totalBytes, prng: newPrng(seed), tornModes: ['prefix'] });
  const clock = new JumpClock(new ClockSim(WALL_EPOCH_MS));
  return { sim, clock, journal: await open(sim, clock) };
}

async function append(journal: Journal, entry: JournalEntry): Promise<JournalRecord> {
  const written = await journal.append(entry);
  if (!written.ok) throw new Error(`${entry.kind}: ${written.detail}`);
  return written.value;
}

function pending(n: number): JournalEntry {
  return { kind: 'pending', recovery: recovery(card(n), n), fareRule: 'flat', amountMinor: 200 };
}

/** An uncertain torn record of card `n` with no pending (the card left after its commit). */
function uncertainTorn(n: number): JournalEntry {
  return { kind: 'torn', pendingSeq: null, recovery: recovery(card(n), n), uncertain: true,
    reason: 'card-gone' };
}

/** Settled taps of other cards: `count` records (pending and final pairs). */
async function settledTaps(journal: Journal, from: number, count: number): Promise<void> {
  for (let i = 0; i < count / 2; i += 1) {
    const n = from + i;
    const open = await append(journal, pending(n));
    await append(journal, { kind: 'final', pendingSeq: open.seq, clearing: clearing(card(n), n) });
  }
}

/** The seqs of the open taps a state keeps: uncertain qPBOC taps and open T-Union greys. */
function openSeqs(journal: Journal): number[] {
  return [...journal.uncertainAll().map((tap) => tap.seq),
    ...journal.tunionOpenGreys().map((grey) => grey.seq)].sort((a, b) => a - b);
}

/** Every record from the oldest segment, read as verify reads (checkpoints checked). */
async function recordsRead(sim: StorageSim): Promise<JournalRecord[]> {
  const records: JournalRecord[] = [];
  const read = await journalRead(sim, JOURNAL_FILE, {
    from: 'oldest', trackLastFinals: false, onRecord: (record) => records.push(record),
  });
  if (!read.ok) throw new Error(read.detail);
  expect(read.value.corruption).toBeNull();
  return records;
}

/** What the other readers say is open: verify's scan of every file, and a start-up read. */
async function openSeqsRead(sim: StorageSim): Promise<number[][]> {
  const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, false);
  expect(scan.corruption).toBeNull();
  const read = await journalRead(sim, JOURNAL_FILE, {
    from: 'newest', trackLastFinals: true, onRecord: null,
  });
  if (!read.ok) throw new Error(read.detail);
  return [scan.state, read.value.state].map((state) =>
    [...state.uncertainSeqs(), ...state.tunionGreySeqs()].sort((a, b) => a - b));
}

/** The seqs of the `type` lines of the journal's export (what an upload pass sends). */
function exported(sim: StorageSim, type: string): number[] {
  const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
  return journalExport(scan, FIXTURE_VAULT).lines
    .map((line) => JSON.parse(line) as { type: string; seq: number })
    .filter((line) => line.type === type).map((line) => line.seq);
}

describe('open taps whose card never came back', () => {
  it('endTheirWatchAfter30DaysAnd5000Records_notOnAClockJumpAlone', async () => {
    const opened = await fresh(3);
    const { sim, clock } = opened;
    let journal = opened.journal;
    const lost = await append(journal, pending(1));
    const torn = await append(journal, uncertainTorn(2));
    const [tunionGrey] = tunionEntries(1, 17, null);
    const grey = await append(journal, tunionGrey);
    const open3 = [lost.seq, torn.seq, grey.seq];
    expect(openSeqs(journal)).toEqual(open3);
    // A clock set 31 days ahead (a bad GPS fix) with the card tapping again seconds later:
    // the watch holds, because too few records followed.
    clock.jumpWallMs(31 * DAY_MS);
    await settledTaps(journal, 100, 20);
    expect(await journal.expireOpenTaps()).toEqual({ ok: true, value: 0 });
    clock.jumpWallMs(-31 * DAY_MS);
    // Enough records, but within 30 days: still watched (the depot holds them all).
    await settledTaps(journal, 200, OPEN_TAP_WATCH_RECORDS);
    await append(journal, { kind: 'ack', throughSeq: journal.summary().lastSeq });
    expect(await journal.expireOpenTaps()).toEqual({ ok: true, value: 0 });
    expect(openSeqs(journal)).toEqual(open3);
    // 30 days later by the records' own time: all three end, oldest first.
    await clock.sim.advance(OPEN_TAP_WATCH_MS);
    const before = journal.summary().lastSeq;
    expect(await journal.expireOpenTaps()).toEqual({ ok: true, value: 3 });
    expect(openSeqs(journal)).toEqual([]);
    const closing = (await recordsRead(sim)).filter((r) => r.seq > before).map((r) => r.entry);
    expect(closing).toEqual(open3.map((targetSeq) => expect.objectContaining({
      kind: 'reconciled', targetSeq, outcome: 'unresolved', finalSeq: null })));
    // Nothing left to carry: a reopen, a verify scan and every later checkpoint agree.
    await settledTaps(journal, 20_000, 2_000);
    journal = await open(sim, clock);
    expect(openSeqs(journal)).toEqual([]);
    expect(await openSeqsRead(sim)).toEqual([[], []]);
    expect(await journal.expireOpenTaps()).toEqual({ ok: true, value: 0 });
  }, 60_000);

  it('anOpenPendingNotAcknowledged_staysWatched_itsPendingOpenLineIsItsOnlyUpload', async () => {
    // A pending is exported only while open: ended before the depot holds its line, the tap
    // (card, amount, recovery) would never reach the back office, only a reconciled line
    // naming a seq the depot never got. Offline: 30 days and 5,000 records, or past the cap.
    const { sim, clock, journal } = await fresh(9);
    const lost = await append(journal, pending(1));
    const torn = await append(journal, uncertainTorn(2));
    await settledTaps(journal, 100, OPEN_TAP_WATCH_RECORDS);
    await clock.sim.advance(OPEN_TAP_WATCH_MS);
    expect(await journal.expireOpenTaps()).toEqual({ ok: true, value: 1 });
    expect(openSeqs(journal)).toEqual([lost.seq]);
    expect(exported(sim, 'pending_open')).toEqual([lost.seq]);
    expect(exported(sim, 'torn')).toEqual([torn.seq]);
    // Beyond the cap, the oldest waits for its upload, and no younger tap goes in its place.
    const seqs = [lost.seq];
    for (let n = 3; n <= OPEN_TAPS_MAX + 3; n += 1) seqs.push((await append(journal, n % 2 === 0
      ? pending(n) : tunionEntries(n, n, null)[0] ?? pending(n))).seq);
    expect(await journal.expireOpenTaps()).toEqual({ ok: true, value: 0 });
    expect(exported(sim, 'pending_open')).toContain(lost.seq);
    // Once the depot holds it (the uploader writes the ack), its watch ends.
    await append(journal, { kind: 'ack', throughSeq: lost.seq });
    expect(await journal.expireOpenTaps()).toEqual({ ok: true, value: 2 });
    expect(openSeqs(journal)).toEqual(seqs.slice(2));
  }, 60_000);

  it(`keepAtMost${OPEN_TAPS_MAX}_theOldestLetGoFirst`, async () => {
    const { sim, journal } = await fresh(5);
    const seqs: number[] = [];
    for (let n = 1; n <= OPEN_TAPS_MAX + 3; n += 1) {
      const entry = n % 2 === 0 ? pending(n) : tunionEntries(n, n, null)[0];
      if (entry === undefined) throw new Error('fixture');
      seqs.push((await append(journal, entry)).seq);
    }
    await append(journal, { kind: 'ack', throughSeq: journal.summary().lastSeq });
    expect(await journal.expireOpenTaps()).toEqual({ ok: true, value: 3 });
    expect(openSeqs(journal)).toEqual(seqs.slice(3));
    expect(await openSeqsRead(sim)).toEqual([seqs.slice(3), seqs.slice(3)]);
    expect(await journal.expireOpenTaps()).toEqual({ ok: true, value: 0 });
  }, 60_000);

  it('aReconciledRecordMayNotSettleAGreyAsDebitedOrNameAFinal', async () => {
    const { journal } = await fresh(7, 1 << 22);
    const [tunionGrey] = tunionEntries(4, 9, null);
    const grey = await append(journal, tunionGrey);
    for (const outcome of ['debited', 'not_debited'] as const) {
      const refused = await journal.append({ kind: 'reconciled', targetSeq: grey.seq, outcome,
        finalSeq: null, note: 'x' });
      expect(refused).toMatchObject({ ok: false, error: 'BAD_REFERENCE' });
    }
    expect(openSeqs(journal)).toEqual([grey.seq]);
  });
});
