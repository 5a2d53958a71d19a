// Power cut at every storage write point of a scripted line, then reboot on the same medium.
//
// The cards are the truth (their own ledgers of committed debits); the journal must account for
// every debit exactly once after any cut and the re-taps that follow, never charge a card twice
// and never lose a debit. The expectations are independent of the validator: each paying card
// of the script is debited exactly once in total, the deny-listed one never.

import { describe, expect, it } from 'vitest';
import { testPki } from '../../src/pki/test_pki.js';
import { Prng } from '../../src/prng.js';
import {
  drawRiderTaps,
  riderPool,
  type RiderCard,
  type RiderPool,
} from '../../src/sim/bus_riders.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import { cardOf, cleanTapCommands } from './support/clean_tap.js';
import { runWithCuts, type CrashPoint, type CrashRun } from './support/crash_run.js';
import { checkLedgersAgainstJournal } from './support/ledger_journal.js';
import { boardOptions, testSeed, type Ride } from './support/sim_ride.js';

const SEED = testSeed(7);

/** Cards of the script that pay (exactly one debit each by the end). */
const PAYING: readonly PopulationName[] = [
  'unionpay-debit-ec',
  'unionpay-credit-ec',
  'social-security',
  'unionpay-quasi-credit-ec',
  'cobadge-visa-unionpay',
];

/**
 * The script: approvals, a torn tap pulled right after the committing READ RECORD (the card
 * paid, the answer was lost), a deny-listed card, the torn card's re-tap, more approvals.
 */
function script(cards: readonly RiderCard[], tornAfterCommand: number): Ride[] {
  const ride = (name: PopulationName, faults: Ride['faults'] = []): Ride => ({
    card: cardOf(cards, name),
    gapMs: 700,
    holdMs: 300,
    faults,
  });
  return [
    ride('unionpay-debit-ec'),
    ride('unionpay-credit-ec', [{ kind: 'remove-after-command', command: tornAfterCommand }]),
    ride('deny-listed'),
    ride('unionpay-credit-ec'),
    ride('social-security'),
    ride('unionpay-quasi-credit-ec'),
    ride('cobadge-visa-unionpay'),
  ];
}

function disposeAll(run: CrashRun): void {
  for (const board of run.boards) board.dispose();
}

/** Every board's kernel ran without a trap. */
function kernelFaults(run: CrashRun): number {
  return run.boards.reduce((sum, b) => sum + b.kernel.faultCount(), 0);
}

/** What every run of the script must end with, whatever was cut: checked against the cards. */
function expectScriptAccounted(pool: RiderPool, run: CrashRun, where: string): void {
  const last = run.boards[run.boards.length - 1];
  if (last === undefined) throw new Error('no board');
  const check = checkLedgersAgainstJournal(pool.cards, last);
  expect(check.violations, where).toEqual([]);
  expect(check.tornTail, where).toBe(false);
  // Every re-tap came within the torn window: nothing is left for the back office.
  expect(check.uncertainLeft, where).toEqual([]);
  expect(kernelFaults(run), where).toBe(0);
  for (const name of PAYING) {
    expect(cardOf(pool.cards, name).card.ledger().length, `${name}: ${where}`).toBe(1);
  }
  expect(cardOf(pool.cards, 'deny-listed').card.ledger(), where).toEqual([]);
}

/** The interrupted rider's re-tap ends the tap: never "try again" or out of service. */
function expectReTapEnds(crash: CrashPoint | undefined, where: string): void {
  const reTap = crash?.reTap?.report ?? null;
  expect(reTap, `re-tap answered: ${where}`).not.toBeNull();
  const mayEnd = crash?.cardName === 'deny-listed' ? ['denyList'] : ['approved', 'alreadyPaid'];
  expect(mayEnd, `${crash?.cardName} re-tap ${reTap?.result}: ${where}`).toContain(reTap?.result);
  if ((crash?.uncertainAtBoot.length ?? 0) > 0 && reTap?.result === 'approved') {
    // An open grey record at boot is finished by the GPO-less re-read, not a new debit.
    expect(reTap.recovered, where).toBe(true);
  }
}

describe(`power cut at every write point (seed ${SEED})`, () => {
  it('accounts for every debit exactly once after a cut at any write point', async () => {
    const clean = await cleanTapCommands(SEED, 'unionpay-credit-ec', 'ec');
    expect(clean.report?.result, `clean tap, seed ${SEED}`).toBe('approved');
    const tornAt = clean.commands;
    const runScript = async (gaps: readonly number[]) => {
      const pool = riderPool(SEED, 1, testPki());
      const options = boardOptions(SEED, pool, 'ec');
      return { pool, run: await runWithCuts(options, script(pool.cards, tornAt), gaps) };
    };
    const first = await runScript([]);
    disposeAll(first.run);
    const writes = first.run.boards[0]?.storage.writePoints() ?? 0;
    expectScriptAccounted(first.pool, first.run, `clean run, seed ${SEED}`);
    expect(first.run.lines.map((l) => l.report?.result), `seed ${SEED}`).toEqual([
      'approved', 'tryAgain', 'denyList', 'approved', 'approved', 'approved', 'approved',
    ]);
    expect(first.run.lines[3]?.report?.recovered, `re-tap recovers, seed ${SEED}`).toBe(true);
    // Grey + final records of five approvals, the torn record and the declined one.
    expect(writes, `seed ${SEED}`).toBeGreaterThanOrEqual(2 * 8);
    let recoveredAfterBoot = 0;
    for (let k = 1; k <= writes; k += 1) {
      const where = `cut at write point ${k} of ${writes}, seed ${SEED}`;
      const { pool, run } = await runScript([k]);
      try {
        expect(run.crashes.map((c) => c.writePoint), where).toEqual([k]);
        expectScriptAccounted(pool, run, where);
        expectReTapEnds(run.crashes[0], where);
        if (run.crashes[0]?.reTap?.report?.recovered === true) recoveredAfterBoot += 1;
      } finally {
        disposeAll(run);
      }
    }
    // The sweep did reach the interesting window (grey record durable, final lost) at least once
    // per approval.
    expect(recoveredAfterBoot, `seed ${SEED}`).toBeGreaterThanOrEqual(PAYING.length);
  });
});

/** The drawn riders of the long line, as rides (nervous riders pull after command N). */
function longLine(pool: RiderPool): Ride[] {
  return drawRiderTaps(new Prng(SEED).fork('riders'), pool, 60, 0.15).map((tap) => ({
    card: tap.card,
    gapMs: tap.gapMs,
    holdMs: tap.holdMs,
    faults:
      tap.pullAfterCommands === null
        ? []
        : [{ kind: 'remove-after-command', command: tap.pullAfterCommands }],
  }));
}

describe(`random power cuts on a long line (seed ${SEED})`, () => {
  it('survives 20 cuts in a 60-rider run with torn taps, some during recovery', async () => {
    const cleanPool = riderPool(SEED, 4, testPki());
    const clean = await runWithCuts(boardOptions(SEED, cleanPool, 'ec'), longLine(cleanPool), []);
    disposeAll(clean);
    const writes = clean.boards[0]?.storage.writePoints() ?? 0;
    // 20 distinct cut points over the clean run's write points, drawn then sorted. The run
    // with cuts writes more (re-taps), so every one of them is reached.
    const prng = new Prng(SEED).fork('cuts');
    const points = new Set<number>();
    while (points.size < 20) points.add(prng.between(1, Math.floor(writes * 0.9)));
    const sorted = [...points].sort((a, b) => a - b);
    const gaps = sorted.map((p, i) => p - (sorted[i - 1] ?? 0));
    const pool = riderPool(SEED, 4, testPki());
    const run = await runWithCuts(boardOptions(SEED, pool, 'ec'), longLine(pool), gaps, 3);
    try {
      const where = `cuts at ${run.crashes.map((c) => c.writePoint).join(',')}, seed ${SEED}`;
      expect(run.crashes.length, where).toBe(20);
      const last = run.boards[run.boards.length - 1];
      if (last === undefined) throw new Error('no board');
      const check = checkLedgersAgainstJournal(pool.cards, last);
      expect(check.violations, where).toEqual([]);
      expect(check.tornTail, where).toBe(false);
      expect(kernelFaults(run), where).toBe(0);
      expect(check.debits, where).toBeGreaterThan(10);
      expect(run.crashes.some((c) => c.openCut), `a cut during Journal.open: ${where}`).toBe(true);
      for (const [i, crash] of run.crashes.entries()) {
        // A re-tap the next cut interrupted is tapped again after that reboot.
        const next = run.crashes[i + 1];
        const after = `re-tap after the cut at ${crash.writePoint}: ${where}`;
        if (crash.reTap === null) expect(next?.rideIndex, after).toBe(crash.rideIndex);
        else expect(crash.reTap.report, after).not.toBe(null);
      }
    } finally {
      disposeAll(run);
    }
  });
});
