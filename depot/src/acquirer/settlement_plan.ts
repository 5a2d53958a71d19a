// Settlement planning: new taps become acquirer message rows, in one transaction per card, so
// a crash leaves each tap either still `new` or `sent` with exactly one message row.

import { cardTapIdsSql } from '../store/card_key_levels.js';
import type { DepotDb, DepotDialect, DepotRow } from '../store/depot_db.js';
import { ACQUIRER_MTI } from './acquirer_messages.js';
import type { SettlementOptions } from './settlement_options.js';

/** What a planning pass did. */
export interface PlanResult {
  readonly messages: number;
  /** ODA taps left `new` by the exposure rule or an open debt. */
  readonly waiting: number;
}

const num = (row: DepotRow, name: string): number => Number(row[name] ?? 0);
const text = (row: DepotRow, name: string): string => String(row[name] ?? '');

/**
 * Plans every counted clearing tap in state `new`: TCs as clearing advices (always: the card
 * paid at the tap), ARQCs per `options.fareModel` under the exposure rule. Rejects with
 * DepotStoreError when the database fails (nothing half-planned).
 */
export async function settlementPlan(db: DepotDb, options: SettlementOptions):
  Promise<PlanResult> {
  const taps = await db.query(
    `SELECT id, pan_token, psn, amount_minor, cryptogram_type, transaction_date FROM taps
     WHERE state = 'new' AND type = 'clearing' AND duplicate_of IS NULL ORDER BY id`);
  const byCard = new Map<string, DepotRow[]>();
  for (const tap of taps) {
    const key = `${text(tap, 'pan_token')}/${text(tap, 'psn')}`;
    byCard.set(key, [...(byCard.get(key) ?? []), tap]);
  }
  let messages = 0;
  let waiting = 0;
  for (const cardTaps of byCard.values()) {
    const done = await db.transaction((tx) => planCard(tx, cardTaps, options));
    messages += done.messages;
    waiting += done.waiting;
  }
  return { messages, waiting };
}

async function planCard(db: DepotDb, taps: readonly DepotRow[], options: SettlementOptions):
  Promise<PlanResult> {
  let messages = 0;
  for (const tap of taps.filter((t) => text(t, 'cryptogram_type') === 'TC')) {
    if (await claim(db, [num(tap, 'id')])) {
      await insertMessage(db, ACQUIRER_MTI.advice, num(tap, 'id'), null, num(tap, 'amount_minor'));
      messages += 1;
    }
  }
  const oda = taps.filter((t) => text(t, 'cryptogram_type') === 'ARQC');
  const first = oda[0];
  if (first === undefined) return { messages, waiting: 0 };
  let exposure = await exposureOf(db, text(first, 'pan_token'), text(first, 'psn'));
  if (exposure.openDebts > 0) return { messages, waiting: oda.length };
  const groups = options.fareModel === 'single'
    ? oda.map((tap) => [tap])
    : closedDays(oda, options);
  let planned = 0;
  for (const group of groups) {
    const amount = group.reduce((sum, tap) => sum + num(tap, 'amount_minor'), 0);
    const firstOutstanding = exposure.outstandingMinor === 0;
    if (!firstOutstanding && exposure.outstandingMinor + amount > options.exposureLimitMinor) {
      break;
    }
    const ids = group.map((tap) => num(tap, 'id'));
    if (!(await claim(db, ids))) continue;
    const single = options.fareModel === 'single';
    const key = single ? null : `day:${text(group[0] ?? {}, 'transaction_date')}:${ids.join(',')}`;
    await insertMessage(db, ACQUIRER_MTI.authorisation, ids[0] ?? 0, key, amount);
    exposure = { ...exposure, outstandingMinor: exposure.outstandingMinor + amount };
    planned += group.length;
    messages += 1;
  }
  return { messages, waiting: oda.length - planned };
}

/** Taps `new` → `sent`; false when another depot process claimed them first. */
async function claim(db: DepotDb, ids: readonly number[]): Promise<boolean> {
  let changed = 0;
  for (const id of ids) {
    changed += await db.run("UPDATE taps SET state = 'sent' WHERE id = $1 AND state = 'new'", [id]);
  }
  if (changed !== ids.length && changed > 0) throw new Error('taps claimed by two planners');
  return changed === ids.length;
}

async function insertMessage(
  db: DepotDb,
  mti: string,
  tapId: number,
  aggregateKey: string | null,
  amountMinor: number,
): Promise<void> {
  await db.run(
    `INSERT INTO acquirer_messages (tap_id, aggregate_key, mti, amount_minor, state)
     VALUES ($1, $2, $3, $4, 'pending')`,
    [tapId, aggregateKey, mti, amountMinor]);
}

/**
 * The sum of a card's pending messages of one MTI ($1 MTI, $2 PAN token, $3 PSN): messages of
 * counted clearing taps (a planned authorisation's tap is one). SQLite has no index on
 * taps.pan_token (migration 6): the card's taps come from its key levels. PostgreSQL's come
 * from taps_card_atc, a partial index its planner takes only for a query that repeats the
 * index's predicate (without it every card's lookup scanned the taps: 353 ms at 3x10^5).
 */
export function pendingOfCardSql(dialect: DepotDialect): string {
  const cardTaps = dialect === 'sqlite' ? `AND t.id IN (${cardTapIdsSql('$2', '$3')})`
    : "AND t.type = 'clearing' AND t.duplicate_of IS NULL";
  return `SELECT COALESCE(SUM(m.amount_minor), 0) AS total FROM acquirer_messages m
     JOIN taps t ON t.id = m.tap_id
     WHERE m.state = 'pending' AND m.mti = $1 AND t.pan_token = $2 AND t.psn = $3 ${cardTaps}`;
}

/** ODA money of a card not yet approved (pending authorisations) and its open debts. */
async function exposureOf(db: DepotDb, panToken: string, psn: string):
  Promise<{ outstandingMinor: number; openDebts: number }> {
  const pending = await db.query(pendingOfCardSql(db.dialect),
    [ACQUIRER_MTI.authorisation, panToken, psn]);
  const debts = await db.query(
    `SELECT COUNT(*) AS n, COALESCE(SUM(amount_minor), 0) AS total FROM debts
     WHERE state = 'open' AND pan_token = $1 AND psn = $2`, [panToken, psn]);
  const debt = debts[0] ?? {};
  return {
    outstandingMinor: num(pending[0] ?? {}, 'total') + num(debt, 'total'),
    openDebts: num(debt, 'n'),
  };
}

/** The card's ODA taps grouped by tap day, only days already closed (aggregated model). */
function closedDays(taps: readonly DepotRow[], options: SettlementOptions): DepotRow[][] {
  const local = new Date(options.nowMs() + options.dayCloseUtcOffsetMs);
  const two = (n: number): string => String(n).padStart(2, '0');
  const today = `${two(local.getUTCFullYear() % 100)}${two(local.getUTCMonth() + 1)}`
    + two(local.getUTCDate());
  const days = new Map<string, DepotRow[]>();
  for (const tap of taps) {
    const day = text(tap, 'transaction_date');
    if (day >= today) continue;
    days.set(day, [...(days.get(day) ?? []), tap]);
  }
  return [...days.keys()].sort().map((day) => days.get(day) ?? []);
}
