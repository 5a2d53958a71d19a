// A card's last final (the fare rules' duplicate-tap and transfer window) across a wall clock
// set far ahead and then corrected: a final written after the correction is found at once,
// the same from the live journal and from a reopen. Before, the window hung on the highest
// time ever written, so for two months every re-tap was charged again (swarm seed 12 with
// --taps 20000: a card debited twice in one fare).

import { describe, expect, it } from 'vitest';

import { ClockSim } from '../../host-sim/src/clock_sim.js';
import { StorageSim } from '../../host-sim/src/storage_sim.js';
import { JumpClock } from '../../host-sim/src/swarm/swarm_devices.js';
import { Journal } from '../src/app/journal/journal.js';
import { LAST_FINAL_KEEP_MS } from '../src/app/journal/journal_state.js';
import type { JournalEntry } from '../src/app/journal/journal_records.js';
import {
  WALL_EPOCH_MS, card, clearing, journalOptions, newPrng, recovery,
} from './journal_fixtures.js';

const DAY_MS = 24 * 3600 * 1000;

async function open(sim: StorageSim, clock: JumpClock): Promise<Journal> {
  const opened = await Journal.open(sim, {
    ...journalOptions(clock.sim, 1 << 22), clock, segmentBytesMax: 2048,
  });
  if (!opened.ok) throw new Error(opened.detail);
  return opened.value.journal;
}

async function tap(journal: Journal, n: number): Promise<void> {
  const key = card(n);
  const pending: JournalEntry = {
    kind: 'pending', recovery: recovery(key, n), fareRule: 'flat', amountMinor: 200,
  };
  const written = await journal.append(pending);
  if (!written.ok) throw new Error(written.detail);
  const final = await journal.append({
    kind: 'final', pendingSeq: written.value.seq, clearing: clearing(key, n),
  });
  if (!final.ok) throw new Error(final.detail);
}

describe('last final per card across wall clock jumps', () => {
  it('aClockSetAheadThenBack_aFinalAfterTheCorrectionIsFound_liveAndReopened', async () => {
    const sim = new StorageSim({ totalBytes: 1 << 23, prng: newPrng(4), tornModes: ['prefix'] });
    const clock = new JumpClock(new ClockSim(WALL_EPOCH_MS));
    let journal = await open(sim, clock);
    await tap(journal, 1);
    // The RTC read two months ahead for a while (a bad GPS fix), then was corrected.
    clock.jumpWallMs(60 * DAY_MS);
    await tap(journal, 2);
    clock.jumpWallMs(-60 * DAY_MS);
    await clock.sim.advance(10_000);
    await tap(journal, 3);
    const nowMs = clock.wallMs();
    const answers = (j: Journal): (number | null)[] =>
      [1, 2, 3].map((n) => j.lastFinalFor(card(n).panToken, card(n).psn)?.timeWallMs ?? null);
    // The truth: each final's own wall time, all within LAST_FINAL_KEEP_MS of the newest.
    expect(60 * DAY_MS).toBeGreaterThan(LAST_FINAL_KEEP_MS);
    const want = [WALL_EPOCH_MS, WALL_EPOCH_MS + 60 * DAY_MS, Math.floor(nowMs)];
    expect(answers(journal)).toEqual(want);
    // More taps, so the reopen reads the window back from a checkpoint.
    for (let n = 4; n < 30; n += 1) await tap(journal, n);
    expect([...sim.durableFiles().keys()].filter((f) => f.endsWith('.ckpt')).length)
      .toBeGreaterThan(2);
    journal = await open(sim, clock);
    expect(answers(journal)).toEqual(want);
  });

  it('aClockSetAheadThenBack_theFinalBeforeTheJumpIsFoundAtOnce_liveAndReopened', async () => {
    const sim = new StorageSim({ totalBytes: 1 << 23, prng: newPrng(6), tornModes: ['prefix'] });
    const clock = new JumpClock(new ClockSim(WALL_EPOCH_MS));
    const journal = await open(sim, clock);
    await tap(journal, 1);
    const paidWallMs = Math.floor(clock.wallMs());
    // The RTC jumps two months ahead; other riders tap (checkpoints are written meanwhile);
    // the clock is corrected before card 1 taps again, 40 s after it paid. Its final is the
    // answer (the fare rules then see 40 s: a duplicate tap), not null (a new rider, charged
    // again): before, every final older than 8 days by the newest record was dropped, live
    // and from every checkpoint, and the newest record was still dated two months ahead.
    clock.jumpWallMs(60 * DAY_MS);
    for (let n = 2; n < 30; n += 1) await tap(journal, n);
    expect([...sim.durableFiles().keys()].filter((f) => f.endsWith('.ckpt')).length)
      .toBeGreaterThan(2);
    clock.jumpWallMs(-60 * DAY_MS);
    await clock.sim.advance(40_000);
    const answer = (j: Journal): number | null =>
      j.lastFinalFor(card(1).panToken, card(1).psn)?.timeWallMs ?? null;
    expect(answer(journal)).toBe(paidWallMs);
    expect(answer(await open(sim, clock))).toBe(paidWallMs);
  });
});
