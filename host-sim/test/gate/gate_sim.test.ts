// A seeded gate day: counts equal tickets sold plus admissions paid, the sales pass the bus
// line's card-ledger checks, tailgating and exits are counted as the visitors did them.

import { describe, expect, it } from 'vitest';

import { checkGateRun } from '../../src/sim/gate_checks.js';
import { GATE_RUN_DEFAULT, runGate } from '../../src/sim/gate_run.js';
import { gateLedgerLine } from '../../../firmware/src/app/gate/gate_ledger.js';

describe('shuaka sim --board gate', () => {
  it('seededGateDay_countsEqualTicketsSoldPlusAdmissionsPaid', async () => {
    const seed = Number(process.env['SHUAKA_SEED'] ?? 5);
    const run = await runGate({ ...GATE_RUN_DEFAULT, seed }, () => undefined);
    try {
      const check = checkGateRun(run);
      expect(check.violations, `SHUAKA_SEED=${seed}`).toEqual([]);
      expect(check.ticketEntries).toBe(check.ticketsSold);
      expect(check.ticketEntries + check.paidEntries)
        .toBe(check.ticketsSold + check.paidAdmissions);
      expect(check.paidAdmissions).toBeGreaterThan(0);
      expect(check.ticketsSold).toBeGreaterThan(20);
      const opened = run.visits.filter((v) => v.openMs !== null);
      expect(opened.length).toBeGreaterThan(run.visits.length / 2);
      // Failing twin: one passage recorded that nobody walked is found by the checker.
      await run.ledgerStorage.append('gate-2026-11-22.log', gateLedgerLine({
        kind: 'entry', date: '2026-11-22', minute: 540, cardToken: 'F'.repeat(24),
        via: 'ticket', slotId: 'morning', ticketId: 'T99999',
      }));
      await run.ledgerStorage.sync('gate-2026-11-22.log');
      expect(checkGateRun(run).violations).toEqual([
        `ticket entries ${check.ticketsSold + 1} != tickets sold ${check.ticketsSold}`,
        `entries ${check.ticketEntries + check.paidEntries + 1} != people admitted `
          + `${check.ticketEntries + check.paidEntries}`,
        'hourly counts do not add up to the entries',
      ]);
    } finally {
      run.board.dispose();
    }
  });
});
