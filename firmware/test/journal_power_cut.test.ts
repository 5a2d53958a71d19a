// Power cut at every write point and at seeded random points: no synced record lost, none torn.

import { describe, expect, it } from 'vitest';

import { StorageSim } from '../../host-sim/src/storage_sim.js';
import type { TornMode } from '../../host-sim/src/storage_sim.js';
import { Journal } from '../src/app/journal/journal.js';
import { journalEntryNormalise } from '../src/app/journal/journal_records.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import { journalScanFiles } from '../src/app/journal/journal_reader.js';
import {
  JOURNAL_FILE, journalOptions, newClock, newPrng, randomEntries, scriptedEntries,
} from './journal_fixtures.js';

const TORN_MODES: readonly TornMode[] = ['prefix', 'garbage', 'zeros'];

/** Appends from `entries[next]` on until one append fails; returns how many were acknowledged. */
async function appendUntilFailure(
  journal: Journal,
  entries: readonly JournalEntry[],
  next: number,
): Promise<number> {
  let acknowledged = next;
  for (let i = next; i < entries.length; i += 1) {
    const entry = entries[i];
    if (entry === undefined) break;
    const result = await journal.append(entry);
    if (!result.ok) break;
    acknowledged = i + 1;
  }
  return acknowledged;
}

/**
 * Restarts after a cut and checks the invariants: the journal opens (no corruption), the
 * durable records are exactly the first n entries of the script with n >= acknowledged and
 * n <= acknowledged + 1 (the append in flight may have landed whole, never in part).
 */
async function restartAndCheck(
  sim: StorageSim,
  entries: readonly JournalEntry[],
  acknowledged: number,
  label: string,
): Promise<Journal> {
  sim.restart();
  const opened = await Journal.open(sim, journalOptions(newClock()));
  if (!opened.ok) throw new Error(`${label}: reopen failed: ${opened.error} ${opened.detail}`);
  const scan = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
  expect(scan.corruption, label).toBeNull();
  expect(scan.tornTail, `${label}: the cut tail must be gone after open`).toBeNull();
  // Records in the retained segments (an ack in the script may reclaim the oldest ones).
  const count = scan.state.lastSeq;
  const what = `${label}: records ${count} vs acknowledged ${acknowledged}`;
  expect(count, what).toBeGreaterThanOrEqual(acknowledged);
  expect(count, label).toBeLessThanOrEqual(acknowledged + 1);
  const firstSeq = scan.records[0]?.seq ?? count + 1;
  const expected = entries.slice(firstSeq - 1, count).map((e) => journalEntryNormalise(e, 'x'));
  expect(scan.records.map((record) => record.entry), label).toEqual(expected);
  expect(opened.value.journal.summary().lastSeq, label).toBe(count);
  return opened.value.journal;
}

describe('journal power cuts', () => {
  it('cutAtEveryWritePointOfTheScript_losesNoSyncedRecordAndAcceptsNoTornOne', async () => {
    const entries = scriptedEntries();
    const dry = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(0), tornModes: TORN_MODES });
    const dryJournal = await Journal.open(dry, journalOptions(newClock()));
    if (!dryJournal.ok) throw new Error(dryJournal.detail);
    expect(await appendUntilFailure(dryJournal.value.journal, entries, 0)).toBe(entries.length);
    const writePoints = dry.writePoints();
    expect(writePoints).toBe(2 * entries.length);
    // Three torn shapes per write point, each from its own seed.
    for (let cut = 1; cut <= writePoints; cut += 1) {
      for (let variant = 0; variant < 3; variant += 1) {
        const seed = cut * 10 + variant;
        const label = `cut at write point ${cut}, seed ${seed}`;
        const tornModes = [TORN_MODES[variant] ?? 'prefix'];
        const sim = new StorageSim({ totalBytes: 1 << 22, prng: newPrng(seed), tornModes });
        const opened = await Journal.open(sim, journalOptions(newClock()));
        if (!opened.ok) throw new Error(opened.detail);
        sim.armPowerCut(cut);
        const acknowledged = await appendUntilFailure(opened.value.journal, entries, 0);
        expect(sim.isDown(), label).toBe(true);
        const journal = await restartAndCheck(sim, entries, acknowledged, label);
        // The journal goes on after recovery and ends complete and intact.
        const resumed = await appendUntilFailure(journal, entries, journal.summary().lastSeq);
        expect(resumed, label).toBe(entries.length);
        const final = journalScanFiles(sim.durableFiles(), JOURNAL_FILE, true);
        expect(final.corruption, label).toBeNull();
        expect(final.state.lastSeq, label).toBe(entries.length);
      }
    }
  });

  it('randomCutsDuringRandomTapSequences_keepEverySyncedRecord', async () => {
    const seeds = [101, 202, 303, 404, 505, 606, 707, 808];
    for (const seed of seeds) {
      const prng = newPrng(seed);
      const entries = randomEntries(prng.fork('entries'), 120);
      const storagePrng = prng.fork('storage');
      const sim = new StorageSim({ totalBytes: 1 << 22, prng: storagePrng, tornModes: TORN_MODES });
      const cuts = prng.fork('cuts');
      let opened = await Journal.open(sim, journalOptions(newClock()));
      if (!opened.ok) throw new Error(`seed ${seed}: ${opened.detail}`);
      let journal = opened.value.journal;
      let restarts = 0;
      // Bounded: each round either completes the script or cuts within 12 write points.
      for (let round = 0; round < 1000; round += 1) {
        const from = journal.summary().lastSeq;
        if (from === entries.length) break;
        sim.armPowerCut(1 + cuts.below(12));
        const acknowledged = await appendUntilFailure(journal, entries, from);
        if (!sim.isDown()) {
          expect(acknowledged, `seed ${seed}`).toBe(entries.length);
          break;
        }
        restarts += 1;
        const label = `seed ${seed}, restart ${restarts}`;
        journal = await restartAndCheck(sim, entries, acknowledged, label);
      }
      opened = await Journal.open(sim, journalOptions(newClock()));
      if (!opened.ok) throw new Error(`seed ${seed}: ${opened.detail}`);
      expect(opened.value.journal.summary().lastSeq, `seed ${seed}`).toBe(entries.length);
      expect(restarts, `seed ${seed}`).toBeGreaterThan(5);
    }
  });
});
