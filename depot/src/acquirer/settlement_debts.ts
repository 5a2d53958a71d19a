// Debts after the acquirer answered: recovery presentments, repayment at a counter, and voids
// (a tap cancelled by the operator: reversed when it was approved, its debt reduced).

import type { DepotDb, DepotRow } from '../store/depot_db.js';
import { ACQUIRER_MTI } from './acquirer_messages.js';
import { debtRepaid } from './settlement_send.js';
import type { SettlementOptions } from './settlement_options.js';

const num = (row: DepotRow, name: string): number => Number(row[name] ?? 0);
const text = (row: DepotRow, name: string): string => String(row[name] ?? '');

/**
 * Queues a debt recovery (0200 for the debt's amount, with its tap's ICC data) for every open
 * debt opened, and last presented, at least `options.recoveryIntervalMs` ago, none pending. Returns
 * how many were queued. Rejects with DepotStoreError.
 */
export async function recoveryPlan(db: DepotDb, options: SettlementOptions): Promise<number> {
  const debts = await db.query(
    "SELECT id, tap_id, amount_minor, opened_at_ms FROM debts WHERE state = 'open' ORDER BY id");
  let queued = 0;
  for (const debt of debts) {
    const key = `debt:${num(debt, 'id')}`;
    const last = await db.query(
      `SELECT state, sent_at_ms FROM acquirer_messages WHERE aggregate_key = $1
       ORDER BY id DESC LIMIT 1`, [key]);
    const previous = last[0];
    if (options.nowMs() - num(debt, 'opened_at_ms') < options.recoveryIntervalMs) continue;
    if (previous !== undefined && (text(previous, 'state') === 'pending'
      || options.nowMs() - num(previous, 'sent_at_ms') < options.recoveryIntervalMs)) {
      continue;
    }
    await db.run(
      `INSERT INTO acquirer_messages (tap_id, aggregate_key, mti, amount_minor, state)
       VALUES ($1, $2, $3, $4, 'pending')`,
      [num(debt, 'tap_id'), key, ACQUIRER_MTI.recovery, num(debt, 'amount_minor')]);
    queued += 1;
  }
  return queued;
}

/**
 * Marks every open debt of a card (PAN token, and PSN when given) repaid — the rider paid at a
 * counter — and removes its deny entries. Returns the debts closed (0: nothing was open).
 */
export async function debtRepay(
  db: DepotDb,
  panToken: string,
  psn: string | null,
  nowMs: number,
): Promise<number> {
  return db.transaction(async (tx) => {
    const debts = await tx.query(
      `SELECT id FROM debts WHERE state = 'open' AND pan_token = $1
       AND ($2 = '*' OR psn = $2)`, [panToken, psn ?? '*']);
    let closed = 0;
    for (const debt of debts) if (await debtRepaid(tx, num(debt, 'id'), nowMs)) closed += 1;
    return closed;
  });
}

/** How a void ended. */
export type VoidOutcome =
  /** Never sent: the tap simply will not be. */
  | 'voided-unsent'
  /** Sent or approved: a reversal is queued (sent once the original is answered). */
  | 'reversal-queued'
  /** Declined: its amount is taken off the debt (closed when nothing is left). */
  | 'debt-reduced'
  /**
   * Declined, but the card has no open debt left (repaid at a counter or by a recovery): the
   * tap is voided and the rider, who paid its fare, is owed a refund by hand.
   */
  | 'voided-debt-repaid'
  | 'already-voided'
  | 'not-found'
  /** A duplicate or non-clearing record: nothing was counted, nothing to void. */
  | 'not-counted';

/** Voids tap `tapId` (see VoidOutcome). Rejects with DepotStoreError. */
export async function tapVoid(db: DepotDb, tapId: number, nowMs: number): Promise<VoidOutcome> {
  return db.transaction(async (tx) => {
    const tap = (await tx.query(
      'SELECT state, type, amount_minor FROM taps WHERE id = $1', [tapId]))[0];
    if (tap === undefined) return 'not-found';
    const state = text(tap, 'state');
    if (state === 'voided') return 'already-voided';
    if (state === 'duplicate' || text(tap, 'type') !== 'clearing') return 'not-counted';
    await tx.run("UPDATE taps SET state = 'voided' WHERE id = $1", [tapId]);
    if (state === 'new') return 'voided-unsent';
    if (state === 'declined') {
      const reduced = await debtReduce(tx, tapId, num(tap, 'amount_minor'), nowMs);
      return reduced ? 'debt-reduced' : 'voided-debt-repaid';
    }
    const original = await originalOf(tx, tapId);
    await tx.run(
      `INSERT INTO acquirer_messages (tap_id, aggregate_key, mti, amount_minor, state)
       VALUES ($1, $2, $3, $4, 'pending')`,
      [tapId, `rev:${original}`, ACQUIRER_MTI.reversal, num(tap, 'amount_minor')]);
    return 'reversal-queued';
  });
}

/** The authorisation or advice row that carried `tapId` (alone or in a day aggregate). */
async function originalOf(db: DepotDb, tapId: number): Promise<number> {
  const rows = await db.query(
    `SELECT id, tap_id, aggregate_key FROM acquirer_messages
     WHERE mti IN ($1, $2) ORDER BY id`, [ACQUIRER_MTI.authorisation, ACQUIRER_MTI.advice]);
  for (const row of rows) {
    const key = text(row, 'aggregate_key');
    const ids = key.startsWith('day:') ? (key.split(':')[2] ?? '').split(',').map(Number)
      : [num(row, 'tap_id')];
    if (ids.includes(tapId)) return num(row, 'id');
  }
  throw new Error(`tap ${tapId} was sent but has no message row`);
}

/** Takes a voided tap's fare off its card's open debt; false when none is open. */
async function debtReduce(db: DepotDb, tapId: number, amountMinor: number, nowMs: number):
  Promise<boolean> {
  // The card's one open debt (migration 2), which this tap's decline opened or added to.
  const debt = (await db.query(
    `SELECT d.id, d.amount_minor FROM debts d JOIN taps t ON t.pan_token = d.pan_token
       AND COALESCE(t.psn, '') = d.psn WHERE t.id = $1 AND d.state = 'open'`, [tapId]))[0];
  if (debt === undefined) return false;
  const left = num(debt, 'amount_minor') - amountMinor;
  await db.run('UPDATE debts SET amount_minor = $1 WHERE id = $2',
    [Math.max(0, left), num(debt, 'id')]);
  if (left <= 0) await debtRepaid(db, num(debt, 'id'), nowMs);
  return true;
}
