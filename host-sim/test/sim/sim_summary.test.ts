// The sim's summary (percentiles, paid offline vs to be authorised) and its report checks.
//
// Percentiles are checked against the nearest-rank definition computed by brute force (the
// smallest value with at least p% of the values at or below it), never against our formula.

import { describe, expect, it } from 'vitest';
import type { TapReport } from '../../../firmware/src/app/validator/validator_ports.js';
import type { JournalRecord } from '../../../firmware/src/app/journal/journal_records.js';
import { checkBusReports } from '../../src/sim/bus_checks.js';
import type { TapLine } from '../../src/sim/bus_run.js';
import { Prng } from '../../src/prng.js';
import { busSummaryLines, latencyText, percentileNearestRank } from '../../src/sim/sim_summary.js';
import { tunionSummaryLines } from '../../src/sim/sim_summary_tunion.js';
import { testSeed } from './support/sim_ride.js';

const SEED = testSeed(23);

/** Brute force: the smallest v in the data with count(x <= v) >= p% of the count. */
function nearestRankByDefinition(values: readonly number[], p: number): number {
  const candidates = [...values].sort((a, b) => a - b);
  for (const v of candidates) {
    if (values.filter((x) => x <= v).length * 100 >= p * values.length) return v;
  }
  throw new Error('unreachable');
}

function line(index: number, cardName: string, report: Partial<TapReport> | null): TapLine {
  const full: TapReport | null =
    report === null
      ? null
      : {
          startedMs: 0,
          endedMs: 300,
          result: 'approved',
          reason: 'offline-approved',
          panMasked: null,
          amountMinor: 200,
          balanceMinor: null,
          fareRule: 'flat',
          journalSeqs: [],
          recovered: false,
          ...report,
        };
  return {
    index,
    rider: index,
    cardName,
    pulledEarly: false,
    latencyMs: full === null ? null : 300 + index,
    report: full,
    screen: '',
    signal: null,
    atMs: index * 1000,
  };
}

describe(`sim summary (seed ${SEED})`, () => {
  it('percentiles_matchTheNearestRankDefinition', () => {
    const prng = new Prng(SEED);
    for (let round = 0; round < 200; round += 1) {
      const values = Array.from({ length: 1 + prng.below(60) }, () => prng.below(2000));
      const sorted = [...values].sort((a, b) => a - b);
      for (const p of [1, 50, 95, 99, 100]) {
        const expected = nearestRankByDefinition(values, p);
        expect(percentileNearestRank(sorted, p), `seed ${SEED} p${p} ${values}`).toBe(expected);
      }
    }
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([50, 95, 99].map((p) => percentileNearestRank(hundred, p))).toEqual([50, 95, 99]);
  });

  it('noTaps_sayNoTaps_neverNaN', () => {
    expect(percentileNearestRank([], 50)).toBeNull();
    expect(latencyText([])).toBe('no taps');
    const text = busSummaryLines([line(0, 'clone', { result: 'declined' })], {
      seed: 1,
      mode: 'oda',
      baudRate: 921600,
    }).join('\n');
    expect(text).not.toContain('NaN');
    expect(text).toContain('admitted          no taps');
    expect(text).toContain('to be authorised (admitted, nothing debited yet): 0 taps, ¥0.00');
  });

  it('summary_countsPaidOfflineApartFromToBeAuthorised', () => {
    const taps = [
      line(0, 'unionpay-debit-ec', { result: 'approved', amountMinor: 200 }),
      line(1, 'stock-debit-dda', { result: 'admitted', amountMinor: 200 }),
      line(2, 'phone-wallet', { result: 'admitted', amountMinor: 100 }),
      line(3, 'expired', { result: 'declined', amountMinor: null }),
      line(4, 'phone-wallet', null),
    ];
    const text = busSummaryLines(taps, { seed: 1, mode: 'auto', baudRate: 921600 }).join('\n');
    expect(text).toContain('paid offline (e-cash, money moved at the tap): 1 taps, ¥2.00');
    expect(text).toContain('to be authorised (admitted, nothing debited yet): 2 taps, ¥3.00');
    expect(text).toContain('admitted          p50 301 ms, p95 302 ms, p99 302 ms, max 302 ms');
    expect(text).toContain('no-answer 1');
  });

  it('reportChecks_catchARefusedGenuineCard_andAnAdmissionWithoutItsRecord', () => {
    const records: JournalRecord[] = [];
    const genuineRefused = [line(0, 'stock-debit-dda', { result: 'notAccepted' })];
    expect(checkBusReports(genuineRefused, records, true).join()).toContain('genuine card');
    // The same refusal is the rule for a deny-listed card, and not checked outside auto mode.
    expect(checkBusReports([line(0, 'deny-listed', { result: 'denyList' })], [], true)).toEqual([]);
    expect(checkBusReports(genuineRefused, records, false)).toEqual([]);
    const admitted = [line(0, 'phone-wallet', { result: 'admitted', journalSeqs: [7] })];
    expect(checkBusReports(admitted, records, true).join()).toContain('without its ARQC clearing record');
  });
  // Riders are the truth: two deny-listed cards whose masked numbers are the same are two
  // cards, and a blocked card's second tap (its number unreadable) is still the first card's.
  it('tunionSummary_oneLinePerRider_notPerMaskedNumber', () => {
    const masked = '031051**********0005';
    const refused = { result: 'declined', amountMinor: null, fareRule: null } as const;
    const taps = [
      { ...line(0, 'tunion-deny-listed', { ...refused, reason: 'deny-list', panMasked: masked }),
        rider: 50 },
      { ...line(1, 'tunion-deny-listed', { ...refused, reason: 'deny-list', panMasked: masked }),
        rider: 51 },
      { ...line(2, 'tunion-deny-listed', { ...refused, reason: 'blocked', panMasked: null }),
        rider: 50 },
    ];
    const check = { violations: [], debits: 0, finals: 0, debitedMinor: 0, openGreys: 0,
      blocked: 2 };
    const lines = tunionSummaryLines(taps, check);
    expect(lines[0]).toContain(': 2 cards,');
    expect(lines.slice(1).map((l) => l.trim().replace(/\s+/g, ' '))).toEqual([
      `${masked} tunion-deny-listed refused: deny-list, blocked`,
      `${masked} tunion-deny-listed refused: deny-list`,
    ]);
  });
});
