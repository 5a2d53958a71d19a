// The bus line in real time over a socat pty: production serial driver, PN532 emulator, cards.
//
// The cards' ledgers are the truth (checkBusRun); the run must also have answered every tap.
// Needs socat: a loud warning without it, a failure under CI.

import { describe, expect, it } from 'vitest';
import { openPn532OnSerial } from '../../../firmware/src/boards/pty_reader.js';
import { externalToolsReady } from '../../src/pn532_sim/pty/external_tools.js';
import { checkBusRun } from '../../src/sim/bus_checks.js';
import { BUS_RUN_DEFAULT } from '../../src/sim/bus_run.js';
import { BUS_PTY_GAP_MIN_MS, runBusOnPty, type BusPtyOptions } from '../../src/sim/bus_run_pty.js';
import { formatTap } from '../../src/sim/sim_cli.js';

const SEED = Number(process.env['SHUAKA_SEED'] ?? 7);

/** Taps at host-link speed (no modelled RF wait: the pty path is under test), paced writes. */
const PTY: BusPtyOptions = {
  ride: { scale: 0.02, gapMinMs: BUS_PTY_GAP_MIN_MS, holdMinMs: 100 },
  modelledTime: false,
  paceWrites: true,
};

describe(`bus run on a socat pty (seed ${SEED})`, () => {
  it('busRunOnPty_tenRiders_everyTapAnswered_ledgersMatchTheJournal', async () => {
    if (!externalToolsReady(['socat'], 'bus run on a socat pty')) return;
    const options = { ...BUS_RUN_DEFAULT, seed: SEED, riders: 10, tornChance: 0.2 };
    const printed: string[] = [];
    const run = await runBusOnPty(
      options,
      (l) => printed.push(formatTap(l)),
      openPn532OnSerial,
      PTY,
    );
    try {
      const check = checkBusRun(run);
      const context = `seed ${SEED}\n${printed.join('\n')}`;
      expect(check.violations, context).toEqual([]);
      expect(run.taps.length, context).toBeGreaterThanOrEqual(options.riders);
      expect(
        run.taps.filter((t) => t.report === null),
        context,
      ).toEqual([]);
      expect(check.debits, context).toBeGreaterThan(0);
      // The seed puts early pulls (torn taps) on the pty too, where the link timing is real.
      expect(
        run.taps.some((t) => t.pulledEarly),
        context,
      ).toBe(true);
      // Every rider's card saw the whole exchange on the production driver: no reader errors.
      const readerErrors = run.board.logs.filter((e) => e['event'] === 'reader-error');
      expect(readerErrors, context).toEqual([]);
    } finally {
      run.board.dispose();
    }
  });
});
