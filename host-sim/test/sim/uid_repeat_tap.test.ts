// A plastic card tapped again within the duplicate window is told "already paid" from its UID
// before the kernel runs: the card is asked nothing (its own ATC stays where the first tap
// left it). A phone shows a new random UID at each tap: its repeat runs the kernel, whose
// decision point refuses it by PAN once the records are read (the phone's ATC moves on, no
// debit). Truth: the virtual cards' own ATC and ledger. The UID memory was built in the first
// release and never filled: every repeat ran the kernel.

import { describe, expect, it } from 'vitest';
import { runOnClock } from '../../src/pn532_sim/pn532_sim_rig.js';
import { riderPool } from '../../src/sim/bus_riders.js';
import { BUS_RUN_DEFAULT } from '../../src/sim/bus_run.js';
import { createSimBoard } from '../../src/sim/sim_board.js';
import { busBoardOptions } from '../../src/sim/sim_board_parts.js';
import { testPki } from '../../src/pki/test_pki.js';
import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 5);

describe(`a repeat tap within the duplicate window (seed ${SEED})`, () => {
  for (const [name, mode, repeatReason] of [
    ['unionpay-debit-ec', 'ec', 'duplicate-tap-uid'],
    ['phone-wallet', 'oda', 'duplicate-tap'],
  ] as const) {
    it(`${name}: the second tap is alreadyPaid (${repeatReason})`, async () => {
      const options = { ...BUS_RUN_DEFAULT, seed: SEED, mode };
      const pool = riderPool(SEED, 1, testPki());
      const board = await createSimBoard(busBoardOptions(options, pool));
      try {
        const rider = pool.cards.find((c) => c.name === name);
        if (rider === undefined || !('atc' in rider.card)) throw new Error(`no ${name}`);
        const card = rider.card;
        const reports: TapReport[] = [];
        const atcs: number[] = [];
        let stop = false;
        const loop = (async (): Promise<void> => {
          while (!stop) {
            const report = await board.validator.turn();
            if (report !== null) reports.push(report);
          }
        })();
        const riderTaps = (async (): Promise<void> => {
          for (let tap = 0; tap < 2; tap += 1) {
            await board.clock.sleepMs(1000);
            board.rig.sim.placeCard(card);
            await board.clock.sleepMs(1500);
            board.rig.sim.removeCard(card);
            atcs.push(card.atc());
          }
          await board.clock.sleepMs(500);
          stop = true;
        })();
        await runOnClock(board.clock, Promise.all([loop, riderTaps]));
        expect(reports.map((r) => r.result), `seed ${SEED}`).toEqual([
          mode === 'ec' ? 'approved' : 'admitted', 'alreadyPaid']);
        expect(reports[1]?.reason).toBe(repeatReason);
        // The plastic card was not asked for a transaction again; the phone was.
        const [afterFirst, afterSecond] = atcs;
        expect(afterSecond).toBe((afterFirst ?? 0) + (mode === 'ec' ? 0 : 1));
        expect(card.ledger().length).toBe(mode === 'ec' ? 1 : 0);
      } finally {
        board.dispose();
      }
    });
  }
});
