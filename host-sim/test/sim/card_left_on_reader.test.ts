// A card left on the reader is processed once: the validator waits for it to leave, however
// long it stays (well past one removal wait), and a new tap needs the field to empty first.
// After the reader was lost and came back, a card the rider was told to present again is
// taken at once: the validator could not see it leave (swarm seed 81, --taps 5000: the
// re-tap got no answer until the rider lifted the card once more).

import { describe, expect, it } from 'vitest';
import { runOnClock } from '../../src/pn532_sim/pn532_sim_rig.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import { BUS_RUN_DEFAULT } from '../../src/sim/bus_run.js';
import { createSimBoard, type SimBoard } from '../../src/sim/sim_board.js';
import { SIM_READER_RF, busBoardOptions } from '../../src/sim/sim_board_parts.js';
import { withFaults } from '../../src/cards/card_faults.js';
import { testPki } from '../../src/pki/test_pki.js';
import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 3);

/** The validator's loop on `board`, its reports gathered, until `stop` is called. */
function turning(board: SimBoard): { reports: TapReport[]; stop: () => void; loop: Promise<void> } {
  const reports: TapReport[] = [];
  let stopped = false;
  const loop = (async (): Promise<void> => {
    while (!stopped) {
      const report = await board.validator.turn();
      if (report !== null) reports.push(report);
    }
  })();
  return { reports, stop: () => { stopped = true; }, loop };
}

describe(`card left on the reader (seed ${SEED})`, () => {
  for (const [name, mode] of [
    ['phone-wallet', 'oda'],
    ['unionpay-debit-ec', 'ec'],
  ] as const) {
    it(`${name} in ${mode} mode: charged once while it stays 17 s; a re-tap is new`, async () => {
      const options = { ...BUS_RUN_DEFAULT, seed: SEED, mode };
      const pool = riderPool(SEED, 1, testPki());
      const board = await createSimBoard(busBoardOptions(options, pool));
      try {
        const rider = pool.cards.find((c) => c.name === name);
        if (rider === undefined) throw new Error(`no ${name} in the pool`);
        const { reports, stop, loop } = turning(board);
        const rider5s = (async (): Promise<void> => {
          await board.clock.sleepMs(200);
          board.rig.sim.placeCard(rider.card);
          // More than three removal waits (5 s each): once, each wait ran out and the same
          // card was taken for a new tap.
          await board.clock.sleepMs(17_000);
          board.rig.sim.removeCard(rider.card);
          await board.clock.sleepMs(1000);
          // The rider taps again: a new tap (a phone shows a fresh random UID this time).
          board.rig.sim.placeCard(rider.card);
          await board.clock.sleepMs(1000);
          board.rig.sim.removeCard(rider.card);
          await board.clock.sleepMs(1000);
          stop();
        })();
        await runOnClock(board.clock, Promise.all([loop, rider5s]));
        // The re-tap is the journal's business: the EC card already paid, the phone's ODA
        // admission stands; either way the card's ledger holds one debit at most.
        const first = mode === 'oda' ? 'admitted' : 'approved';
        expect(
          reports.map((r) => r.result),
          `seed ${SEED}`,
        ).toEqual([first, 'alreadyPaid']);
        expect(rider.card.ledger().length).toBe(mode === 'ec' ? 1 : 0);
      } finally {
        board.dispose();
      }
    });
  }

  it('two cards held together: told once, however long; the one left alone is then a tap',
    async () => {
      const options = { ...BUS_RUN_DEFAULT, seed: SEED, mode: 'ec' as const };
      const pool = riderPool(SEED, 1, testPki());
      const board = await createSimBoard(busBoardOptions(options, pool));
      try {
        const named = (name: string) => {
          const found = pool.cards.find((c) => c.name === name);
          if (found === undefined) throw new Error(`no ${name} in the pool`);
          return found.card;
        };
        const [kept, other] = [named('unionpay-debit-ec'), named('unionpay-credit-ec')];
        const { reports, stop, loop } = turning(board);
        const wallet = (async (): Promise<void> => {
          await board.clock.sleepMs(200);
          board.rig.sim.placeCard(kept);
          board.rig.sim.placeCard(other);
          // A wallet of two cards held on the reader for 3 s: every poll finds both.
          await board.clock.sleepMs(3000);
          board.rig.sim.removeCard(other);
          await board.clock.sleepMs(1500);
          board.rig.sim.removeCard(kept);
          await board.clock.sleepMs(1000);
          stop();
        })();
        await runOnClock(board.clock, Promise.all([loop, wallet]));
        // Old code: a 'multipleCards' tap (beep, screen, log line) at every poll, ~150 here.
        expect(reports.map((r) => r.result), `seed ${SEED}`)
          .toEqual(['multipleCards', 'approved']);
        expect([kept.ledger().length, other.ledger().length]).toEqual([1, 0]);
      } finally {
        board.dispose();
      }
    });

  for (const [lastTap, fault, expected] of [
    // The 3rd command's answer lost (the card stays): "try again", nothing done.
    ['told to try again', 'drop-response', ['tryAgain', 'approved']],
    // The same card, its tap finished: still a card left on the reader.
    ['approved', null, ['approved']],
  ] as const) {
    it(`reader lost and back, the card still in the field, last tap ${lastTap}`, async () => {
      const options = { ...BUS_RUN_DEFAULT, seed: SEED, mode: 'ec' as const };
      const pool = riderPool(SEED, 1, testPki());
      const board = await createSimBoard(busBoardOptions(options, pool));
      try {
        const rider = pool.cards.find((c) => c.name === 'unionpay-debit-ec');
        if (rider === undefined) throw new Error('no unionpay-debit-ec in the pool');
        const card = withFaults(rider.card, {
          faults: fault === null ? [] : [{ kind: fault, command: 3 }],
        });
        const reports: TapReport[] = [];
        let stop = false;
        const loop = (async (): Promise<void> => {
          let restarted = false;
          while (!stop) {
            const report = await board.validator.turn();
            if (report !== null) reports.push(report);
            if (report === null || restarted) continue;
            // The board's supervision after a loss (bus_validator.ts readerDown): the chip
            // started again, then the validator told.
            restarted = true;
            const started = await board.rig.reader.start({
              baudRate: options.baudRate, rf: SIM_READER_RF,
            });
            expect(started.ok).toBe(true);
            await board.validator.readerBack();
          }
        })();
        const riding = (async (): Promise<void> => {
          await board.clock.sleepMs(200);
          board.rig.sim.placeCard(card);
          // Well past one removal wait (5 s): the card never leaves the field.
          await board.clock.sleepMs(8_000);
          board.rig.sim.removeCard(card);
          await board.clock.sleepMs(1000);
          stop = true;
        })();
        await runOnClock(board.clock, Promise.all([loop, riding]));
        expect(reports.map((r) => r.result), `seed ${SEED}`).toEqual(expected);
        expect(rider.card.ledger().length, `seed ${SEED}`).toBe(1);
      } finally {
        board.dispose();
      }
    });
  }
});
