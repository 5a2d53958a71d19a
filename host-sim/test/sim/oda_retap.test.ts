// ODA taps (ODA mode, and auto mode off the e-cash path): a power cut at every write point of a
// tap, then the same card taps again on the rebooted validator. ODA moves no value on the card,
// so whatever the cut left open (a pending record without its final) must be settled by the
// re-tap: nothing stays uncertain, the card is admitted once and exactly one ARQC reaches
// clearing. In auto mode the open ODA tap is no recovery candidate: the kernel finishes torn
// e-cash debits only, and trying would answer "try again" for the whole torn window.

import { describe, expect, it } from 'vitest';

import { JOURNAL_FILE_NAME } from '../../../firmware/src/app/journal/journal.js';
import { journalScan } from '../../../firmware/src/app/journal/journal_scan.js';
import type { PopulationName } from '../../src/cards/card_population.js';
import { testPki } from '../../src/pki/test_pki.js';
import { riderPool, type RiderCard } from '../../src/sim/bus_riders.js';
import { createSimBoardOn, SIM_BOOT_FIRST } from '../../src/sim/sim_restart.js';
import { cardOf } from './support/clean_tap.js';
import { runWithCuts } from './support/crash_run.js';
import { boardOptions, runRides, testSeed, type Ride } from './support/sim_ride.js';

const SEED = testSeed(5);
const ODA_CARDS: readonly PopulationName[] = ['phone-wallet', 'oda-online-no-ec'];
/** Validator modes in which these cards take the ODA path. */
const MODES = ['oda', 'auto'] as const;
type Mode = (typeof MODES)[number];

function ride(card: RiderCard): Ride {
  return { card, gapMs: 700, holdMs: 300, faults: [] };
}

/** Storage write points of one clean tap of `name` (pending + final, each append and sync). */
async function writePointsOfOneTap(name: PopulationName, mode: Mode): Promise<number> {
  const pool = riderPool(SEED, 1, testPki());
  const board = await createSimBoardOn(SIM_BOOT_FIRST, boardOptions(SEED, pool, mode));
  try {
    const before = board.storage.writePoints();
    const result = await runRides(board, [ride(cardOf(pool.cards, name))]);
    expect(result.lines[0]?.report?.result).toBe('admitted');
    return board.storage.writePoints() - before;
  } finally {
    board.dispose();
  }
}

describe.each(MODES)(`ODA re-tap after a power cut, %s mode (seed ${SEED})`, (mode) => {
  for (const name of ODA_CARDS) {
    it(`${name}: a cut at any write point leaves nothing uncertain after the re-tap`, async () => {
      const writes = await writePointsOfOneTap(name, mode);
      expect(writes).toBeGreaterThanOrEqual(2);
      let openAtBoot = 0;
      for (let cut = 1; cut <= writes; cut += 1) {
        const where = `${name}, ${mode} mode, cut at write ${cut} of ${writes}, seed ${SEED}`;
        const pool = riderPool(SEED, 1, testPki());
        const card = cardOf(pool.cards, name);
        const run = await runWithCuts(boardOptions(SEED, pool, mode), [ride(card)], [cut]);
        try {
          expect(run.crashes.length, where).toBe(1);
          const crash = run.crashes[0];
          const last = run.boards[run.boards.length - 1];
          if (crash === undefined || last === undefined) throw new Error(where);
          expect(crash.reTap?.report?.result, where).toBe('admitted');
          const uncertainSeqs = crash.uncertainAtBoot.map((t) => t.seq);
          openAtBoot += uncertainSeqs.length;
          // The independent truth is the record image: one ARQC for clearing, and every tap
          // the cut left open is closed as not debited, by a record naming it.
          const bytes = last.storage.durableBytes(JOURNAL_FILE_NAME);
          const scan = journalScan(bytes, JOURNAL_FILE_NAME, true);
          expect(scan.corruption, where).toBeNull();
          const finals = scan.records.flatMap((r) =>
            r.entry.kind === 'final' ? [r.entry.clearing] : [],
          );
          expect(finals.map((c) => c.cryptogramType), where).toEqual(['ARQC']);
          const reconciled = scan.records.flatMap((r) =>
            r.entry.kind === 'reconciled' ? [[r.entry.targetSeq, r.entry.outcome]] : [],
          );
          expect(reconciled, where).toEqual(uncertainSeqs.map((s) => [s, 'not_debited']));
          expect(scan.state.uncertainAll(), where).toEqual([]);
          expect(last.journal.uncertainAll(), where).toEqual([]);
          expect(card.card.ledger(), where).toEqual([]);
        } finally {
          for (const board of run.boards) board.dispose();
        }
      }
      // Some cut fell between the pending and the final record: the case under test ran.
      expect(openAtBoot, `${name}, ${mode} mode, seed ${SEED}`).toBeGreaterThan(0);
    }, 300_000);
  }
});
