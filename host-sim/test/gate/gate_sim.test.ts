// A seeded gate day: counts equal tickets sold plus admissions paid, the sales pass the bus
// line's card-ledger checks, tailgating and exits are counted as the visitors did them.

import { describe, expect, it } from 'vitest';

import { REFUSABLE_IN_AUTO } from '../../src/sim/bus_checks.js';
import { checkGateRun } from '../../src/sim/gate_checks.js';
import { GATE_ADMISSION_MINOR, GATE_RUN_DEFAULT, runGate } from '../../src/sim/gate_run.js';
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
        `ticket entries ${check.ticketsSold + 1} != ${check.ticketsSold} of the `
          + `${check.ticketsSold} sold (holders who came in their slot)`,
        `entries ${check.ticketEntries + check.paidEntries + 1} != people admitted `
          + `${check.ticketEntries + check.paidEntries}`,
        'hourly counts do not add up to the entries',
      ]);
    } finally {
      run.board.dispose();
    }
  });
});

describe('shuaka sim --board gate at the top of its flags', () => {
  // 20 tour groups and 40 families (the flags' upper bounds) crashed: "pool too small for the
  // ticket holders". Their 60 cards and the walk-ins' now come from as many card groups as
  // they need, so walk-ins mostly bring cards of their own and pay.
  it('twentyGroupsFortyFamilies_everyTicketUsed_walkInsPay', async () => {
    const run = await runGate({ ...GATE_RUN_DEFAULT, seed: 3, tourGroups: 20, families: 40,
      walkIns: 100 }, () => undefined);
    try {
      const check = checkGateRun(run);
      expect(check.violations).toEqual([]);
      expect(run.plan.gate.tickets.length).toBe(60);
      expect(new Set(run.plan.gate.tickets.map((t) => t.cardToken)).size).toBe(60);
      expect(check.paidAdmissions).toBeGreaterThan(30);
      // A ticket is for its slot (morning: 07:30-12:00 with the grace): a holder who had come
      // at 12:30 should have been refused, so the entries the lane recorded for that party
      // are now too many. (A long day's last parties do come after the morning.)
      const late = run.visits.find((v) => v.visit.kind === 'family' && v.walked > 0);
      if (late === undefined) throw new Error('no family went in');
      const halfPastNoonMs = (4 * 60 + 30) * 60_000;
      const visits = run.visits.map((v) => (v === late ? { ...v, placedMs: halfPastNoonMs } : v));
      expect(checkGateRun({ ...run, visits }).violations).toEqual([
        `ticket entries ${check.ticketEntries} != ${check.ticketEntries - late.visit.persons} of `
          + `the ${check.ticketsSold} sold (holders who came in their slot)`,
      ]);
    } finally {
      run.board.dispose();
    }
  });
});

describe('shuaka sim --board gate, walk-ins whose purse runs short', () => {
  // Seed 8 with 60 walk-ins: e-cash cards spent down below the 40-yuan admission by earlier
  // visits (their own GET DATA 9F79) are told 余额不足: correct, not a genuine card refused.
  // The same refusal with a purse that held the price is still found.
  it('aPurseShortOfTheAdmission_isACorrectRefusal_aFullOneIsNot', async () => {
    const run = await runGate({ ...GATE_RUN_DEFAULT, seed: 8, walkIns: 60 }, () => undefined);
    try {
      expect(checkGateRun(run).violations).toEqual([]);
      const short = run.visits.filter((v) => v.report?.tap?.reason === 'insufficient-ecash'
        && !REFUSABLE_IN_AUTO.has(v.visit.card.name));
      expect(short.length).toBeGreaterThan(0);
      for (const v of short) expect(v.purseBeforeMinor ?? 0).toBeLessThan(GATE_ADMISSION_MINOR);
      const first = short[0];
      const visits = run.visits.map((v) => (v === first
        ? { ...v, purseBeforeMinor: GATE_ADMISSION_MINOR } : v));
      expect(checkGateRun({ ...run, visits }).violations).toEqual([
        expect.stringMatching(/a genuine card was refused \(insufficient-ecash\)/) as unknown,
      ]);
    } finally {
      run.board.dispose();
    }
  });
});
