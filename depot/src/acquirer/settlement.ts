// A settlement run: queue recoveries, plan new taps, send everything pending; and the loop the
// depot server runs.

import type { DepotDb } from '../store/depot_db.js';
import type { AcquirerLink } from './acquirer_link.js';
import { recoveryPlan } from './settlement_debts.js';
import type { SettlementOptions } from './settlement_options.js';
import { settlementPlan } from './settlement_plan.js';
import { settlementSend, type SendResult } from './settlement_send.js';

/** Totals of one run. */
export interface SettlementRun {
  readonly recoveriesQueued: number;
  readonly planned: number;
  readonly waiting: number;
  readonly answered: number;
  readonly approved: number;
  readonly declined: number;
  /** Advices answered `94` (presented before): no debt. */
  readonly duplicates: number;
  /** Debt recoveries approved, and refused (each open debt is presented once a run). */
  readonly recovered: number;
  readonly recoveriesDeclined: number;
  /** Reversals approved, and refused (a voided fare still charged: see SendResult). */
  readonly reversed: number;
  readonly reversalsRefused: number;
  readonly unanswered: number;
  /** Rows left pending because no message could be made of them (see SendResult). */
  readonly unreadable: number;
  readonly keyFailed: boolean;
  /** Why rows were left unanswered or unread, for the operator; null: none. */
  readonly problem: string | null;
}

/** What each pass's sending adds to the run's totals (`unanswered` is the last pass's). */
const SENT_SUMMED = ['answered', 'approved', 'declined', 'duplicates', 'recovered',
  'recoveriesDeclined', 'reversed', 'reversalsRefused'] as const satisfies
  readonly (keyof SendResult & keyof SettlementRun)[];

/** Totals being summed over passes or runs. */
export type SettlementTotals = {
  -readonly [K in keyof SettlementRun]: SettlementRun[K];
};

/** A run that did nothing: the start of the totals. */
export function settlementRunZero(): SettlementTotals {
  return { recoveriesQueued: 0, planned: 0, waiting: 0, answered: 0, approved: 0, declined: 0,
    duplicates: 0, recovered: 0, recoveriesDeclined: 0, reversed: 0, reversalsRefused: 0,
    unanswered: 0, unreadable: 0, keyFailed: false, problem: null };
}

/**
 * One pass, repeated while it makes progress (an approval can free exposure for waiting taps).
 * Recoveries are queued in the first pass only: a debt is presented at most once a run, even
 * with a recovery interval of 0 (a declined recovery is an answer, and would be presented
 * again in every pass). Stops after `passesMax`. Rejects with DepotStoreError (database) and
 * never on the link: unanswered rows stay pending for the next run.
 */
export async function settleOnce(
  db: DepotDb,
  link: AcquirerLink,
  options: SettlementOptions,
  passesMax = 16,
): Promise<SettlementRun> {
  const total = settlementRunZero();
  for (let pass = 0; pass < passesMax; pass += 1) {
    if (pass === 0) total.recoveriesQueued = await recoveryPlan(db, options);
    const plan = await settlementPlan(db, options);
    const sent = await settlementSend(db, link, options);
    total.planned += plan.messages;
    total.waiting = plan.waiting;
    for (const key of SENT_SUMMED) total[key] += sent[key];
    total.unanswered = sent.unanswered;
    total.unreadable = sent.unreadable;
    total.keyFailed = sent.keyFailed;
    total.problem = sent.problem;
    if (sent.answered === 0 || sent.unanswered > 0) break;
  }
  return total;
}

/**
 * Runs `settleOnce` every `intervalMs` until `stop` resolves, reporting each run. A database
 * error is reported and retried at the next interval (the server keeps serving).
 */
export async function settleLoop(
  db: DepotDb,
  link: AcquirerLink,
  options: SettlementOptions,
  intervalMs: number,
  stop: Promise<void>,
  report: (run: SettlementRun | Error) => void,
): Promise<void> {
  let stopped = false;
  void stop.then(() => { stopped = true; });
  while (!stopped) {
    try {
      report(await settleOnce(db, link, options));
    } catch (error) {
      report(error instanceof Error ? error : new Error(String(error)));
    }
    await Promise.race([stop, new Promise((resolve) => setTimeout(resolve, intervalMs))]);
  }
  link.close();
}
