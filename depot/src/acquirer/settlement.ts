// A settlement run: queue recoveries, plan new taps, send everything pending; and the loop the
// depot server runs.

import type { DepotDb } from '../store/depot_db.js';
import type { AcquirerLink } from './acquirer_link.js';
import { recoveryPlan } from './settlement_debts.js';
import type { SettlementOptions } from './settlement_options.js';
import { settlementPlan } from './settlement_plan.js';
import { settlementSend } from './settlement_send.js';

/** Totals of one run. */
export interface SettlementRun {
  readonly recoveriesQueued: number;
  readonly planned: number;
  readonly waiting: number;
  readonly answered: number;
  readonly approved: number;
  readonly declined: number;
  readonly recovered: number;
  /** Reversals approved, and refused (a voided fare still charged: see SendResult). */
  readonly reversed: number;
  readonly reversalsRefused: number;
  readonly unanswered: number;
}

/**
 * One pass, repeated while it makes progress (an approval can free exposure for waiting taps).
 * Stops after `passesMax`. Rejects with DepotStoreError (database) and never on the link:
 * unanswered rows stay pending for the next run.
 */
export async function settleOnce(
  db: DepotDb,
  link: AcquirerLink,
  options: SettlementOptions,
  passesMax = 16,
): Promise<SettlementRun> {
  const total = { recoveriesQueued: 0, planned: 0, waiting: 0, answered: 0, approved: 0,
    declined: 0, recovered: 0, reversed: 0, reversalsRefused: 0, unanswered: 0 };
  for (let pass = 0; pass < passesMax; pass += 1) {
    total.recoveriesQueued += await recoveryPlan(db, options);
    const plan = await settlementPlan(db, options);
    const sent = await settlementSend(db, link, options);
    total.planned += plan.messages;
    total.waiting = plan.waiting;
    total.answered += sent.answered;
    total.approved += sent.approved;
    total.declined += sent.declined;
    total.recovered += sent.recovered;
    total.reversed += sent.reversed;
    total.reversalsRefused += sent.reversalsRefused;
    total.unanswered = sent.unanswered;
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
