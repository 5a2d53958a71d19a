// A power cut while a torn tap is being recovered near the end of its torn window.
//
// The recovery's re-read commits the card's staged debit (domain.md 4.4 step 4). If power
// fails before the final record is durable, the journal still holds only the torn record,
// dated at the first tap; the rebooted validator sees the rider's re-tap after the window
// (the reboot took 20 s) unless the attempt itself was noted. The card's own ledger is the
// truth: the torn card is debited exactly once, whatever write the cut hits.

import { describe, expect, it } from 'vitest';
import { testPki } from '../../src/pki/test_pki.js';
import { riderPool, type RiderCard } from '../../src/sim/bus_riders.js';
import { cardOf, cleanTapCommands } from './support/clean_tap.js';
import { REBOOT_MS, runWithCuts, type CrashRun } from './support/crash_run.js';
import { checkLedgersAgainstJournal } from './support/ledger_journal.js';
import { boardOptions, testSeed, type Ride } from './support/sim_ride.js';

const SEED = testSeed(11);
/** The parameter set's torn window (params_store.ts default). */
const TORN_WINDOW_MS = 120_000;
/** The re-tap comes this long before the window ends: less than the reboot takes. */
const BEFORE_WINDOW_END_MS = 8_000;

/**
 * An approval; the torn tap, pulled as the committing READ RECORD is sent (the card staged the
 * debit and never saw the command: the tap is uncertain, and the recovery's re-read commits);
 * its re-tap late in the window; one more approval.
 */
function script(cards: readonly RiderCard[], lastCommand: number): Ride[] {
  const ride = (name: 'unionpay-debit-ec' | 'unionpay-credit-ec', gapMs: number,
    faults: Ride['faults'] = []): Ride => ({ card: cardOf(cards, name), gapMs, holdMs: 300,
    faults });
  return [
    ride('unionpay-debit-ec', 700),
    ride('unionpay-credit-ec', 700, [{ kind: 'remove-before-command', command: lastCommand }]),
    ride('unionpay-credit-ec', TORN_WINDOW_MS - BEFORE_WINDOW_END_MS),
    ride('unionpay-debit-ec', 40_000),
  ];
}

function disposeAll(run: CrashRun): void {
  for (const board of run.boards) board.dispose();
}

describe(`a cut during a recovery at the torn window's end (seed ${SEED})`, () => {
  it('debits the torn card once after a cut at any write point', async () => {
    const clean = await cleanTapCommands(SEED, 'unionpay-credit-ec', 'ec');
    expect(clean.report?.result, `clean tap, seed ${SEED}`).toBe('approved');
    expect(BEFORE_WINDOW_END_MS, 'the reboot outlasts the time left').toBeLessThan(REBOOT_MS);
    const runScript = async (gaps: readonly number[]) => {
      const pool = riderPool(SEED, 1, testPki());
      const options = boardOptions(SEED, pool, 'ec');
      return { pool, run: await runWithCuts(options, script(pool.cards, clean.commands), gaps) };
    };
    const first = await runScript([]);
    disposeAll(first.run);
    expect(first.run.lines.map((l) => l.report?.result), `clean run, seed ${SEED}`)
      .toEqual(['approved', 'tryAgain', 'approved', 'approved']);
    expect(first.run.lines[2]?.report?.recovered, `late re-tap recovers, seed ${SEED}`).toBe(true);
    const writes = first.run.boards[0]?.storage.writePoints() ?? 0;
    let cutInRecovery = 0;
    for (let k = 1; k <= writes; k += 1) {
      const where = `cut at write point ${k} of ${writes}, seed ${SEED}`;
      const { pool, run } = await runScript([k]);
      try {
        const last = run.boards[run.boards.length - 1];
        if (last === undefined) throw new Error('no board');
        const check = checkLedgersAgainstJournal(pool.cards, last);
        expect(check.violations, where).toEqual([]);
        // A cut in an earlier ride is re-tapped at once, so the late ride is another fare.
        if (run.crashes[0]?.rideIndex !== 2) continue;
        const credit = cardOf(pool.cards, 'unionpay-credit-ec').card.ledger();
        const results = run.lines.map((l) => l.report?.result);
        expect(credit.length, `credit card debits: ${where}: ${results.join(',')}`).toBe(1);
        expect(cardOf(pool.cards, 'unionpay-debit-ec').card.ledger().length, where).toBe(2);
        if (credit[0]?.recovered === true) cutInRecovery += 1;
      } finally {
        disposeAll(run);
      }
    }
    // Some cut fell after the recovery's commit and before its final was durable.
    expect(cutInRecovery, `seed ${SEED}`).toBeGreaterThan(0);
  });
});
