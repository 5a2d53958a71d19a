// The tap loop ends the watch of taps left open past the journal's bound (journal_expiry.ts):
// on the simulated board, a validator holding more open T-Union greys than OPEN_TAPS_MAX
// closes the oldest with `reconciled … unresolved` and logs `open-taps-expired`, between taps
// (a poll that finds no card), and otherwise before the next rider's tap. Without those calls
// (Validator.turn, TapSession.process) the greys stay open for good, however many, in every
// checkpoint.

import { describe, expect, it } from 'vitest';

import { OPEN_TAPS_MAX } from '../../../firmware/src/app/journal/journal_expiry.js';
import { tunionEntries } from '../../../firmware/test/journal_tunion_fixtures.js';
import { testPki } from '../../src/pki/test_pki.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import type { SimBoard } from '../../src/sim/sim_board.js';
import { createSimBoardOn, SIM_BOOT_FIRST } from '../../src/sim/sim_restart.js';
import { cardOf } from './support/clean_tap.js';
import { boardOptions, runRides, testSeed } from './support/sim_ride.js';

const SEED = testSeed(17);
const EXTRA = 3;

/** OPEN_TAPS_MAX + EXTRA open greys of other cards; their seqs. */
async function openGreys(board: SimBoard): Promise<number[]> {
  const greys: number[] = [];
  for (let n = 1; n <= OPEN_TAPS_MAX + EXTRA; n += 1) {
    const [grey] = tunionEntries(1000 + n, n, null);
    const written = await board.journal.append(grey);
    if (!written.ok) throw new Error(written.detail);
    greys.push(written.value.seq);
  }
  expect(board.journal.tunionOpenGreys().length).toBe(OPEN_TAPS_MAX + EXTRA);
  return greys;
}

/** The oldest EXTRA greys closed, and one `open-taps-expired` line saying so. */
function expectOldestClosed(board: SimBoard, greys: readonly number[]): void {
  expect(board.journal.tunionOpenGreys().map((g) => g.seq)).toEqual(greys.slice(EXTRA));
  expect(board.journal.summary().countsByKind.reconciled).toBe(EXTRA);
  const logged = board.logs.filter((event) => event['event'] === 'open-taps-expired');
  expect(logged).toEqual([expect.objectContaining({ count: EXTRA })]);
}

describe(`open taps past the bound, on the simulated board (seed ${SEED})`, () => {
  it('aPollThatFindsNoCard_closesTheOldest', async () => {
    const pool = riderPool(SEED, 1, testPki());
    const board = await createSimBoardOn(SIM_BOOT_FIRST, boardOptions(SEED, pool, 'auto'));
    try {
      const greys = await openGreys(board);
      const report = await board.rig.run(board.validator.turn());
      expect(report).toBeNull();
      expectOldestClosed(board, greys);
    } finally {
      board.dispose();
    }
  }, 60_000);

  it('aRidersTap_isTakenAsUsual_afterTheOldestAreClosed', async () => {
    const pool = riderPool(SEED, 1, testPki());
    const board = await createSimBoardOn(SIM_BOOT_FIRST, boardOptions(SEED, pool, 'auto'));
    try {
      const greys = await openGreys(board);
      const lastBefore = board.journal.summary().lastSeq;
      const card = cardOf(pool.cards, 'unionpay-debit-ec');
      const result = await runRides(board, [{ card, gapMs: 0, holdMs: 300, faults: [] }]);
      expect(result.lines[0]?.report?.result).toBe('approved');
      expectOldestClosed(board, greys);
      // The rider's own records follow the closing ones.
      expect(board.journal.summary().lastSeq).toBeGreaterThan(lastBefore + EXTRA);
    } finally {
      board.dispose();
    }
  }, 60_000);
});
