// Settlement per business day, route and terminal, read from the depot's tables: counted
// clearing taps and their amounts, what the acquirer authorised or declined, what is still
// owed (open debts), duplicates, voided taps and uncertain taps. The business day is the terminal's
// transaction date (9A), so a late upload lands on the day the rider travelled.

import { ACQUIRER_MTI } from '../acquirer/acquirer_messages.js';
import type { DepotDb, DepotValue } from '../store/depot_db.js';

export interface SettlementRow {
  /** YYYY-MM-DD from the tap's transaction date (YYMMDD, 20YY). */
  readonly day: string;
  readonly routeId: string;
  readonly terminalId: string;
  readonly currencyCode: number;
  /**
   * Counted clearing taps (duplicates and voided taps excluded) and their amount: each one is
   * authorised, declined or outstanding, so those three add up to it.
   */
  readonly taps: number;
  readonly amountMinor: number;
  readonly authorisedTaps: number;
  readonly authorisedMinor: number;
  readonly declinedTaps: number;
  readonly declinedMinor: number;
  /** Counted taps not yet answered by the acquirer (`new`, `sent`). */
  readonly outstandingTaps: number;
  readonly outstandingMinor: number;
  /** Open debts of these taps (declined fares the rider still owes). */
  readonly debtOpenMinor: number;
  readonly duplicates: number;
  /** Taps voided at the depot (`shuaka depot tap void`): no longer fares, nor counted. */
  readonly voidedTaps: number;
  readonly voidedMinor: number;
  /**
   * Of the voided taps, those whose reversal the acquirer refused: the rider is still charged
   * for them and is owed a refund by hand (`depot settle`'s reversalsRefused, per day).
   */
  readonly reversalRefusedTaps: number;
  readonly reversalRefusedMinor: number;
  /**
   * Uncertain debits as the validator exported them: pendings still open, and torn taps still
   * unresolved when exported (`stillUncertain`; a torn tap its re-tap had already settled
   * was counted). One resolved after its export is still counted: the export says nothing of
   * a pending whose final was a decline (journal_export.ts writes no declined line).
   */
  readonly uncertain: number;
}

export const SETTLEMENT_COLUMNS = ['day', 'route_id', 'terminal_id', 'currency_code', 'taps',
  'amount_minor', 'authorised_taps', 'authorised_minor', 'declined_taps', 'declined_minor',
  'outstanding_taps', 'outstanding_minor', 'debt_open_minor', 'duplicates', 'uncertain',
  'voided_taps', 'voided_minor', 'reversal_refused_taps', 'reversal_refused_minor'];

// A voided tap was counted before its void; it is neither authorised, declined nor owed now,
// so counting it would leave taps and amount above the sum of those three.
const COUNTED = "t.type = 'clearing' AND t.state NOT IN ('duplicate', 'voided')";
const VOIDED = "t.type = 'clearing' AND t.state = 'voided'";
const REVERSAL_REFUSED = `${VOIDED} AND EXISTS (SELECT 1 FROM acquirer_messages m
  WHERE m.tap_id = t.id AND m.mti = '${ACQUIRER_MTI.reversal}' AND m.state = 'answered'
    AND m.response_code <> '00')`;
const sumIf = (cond: string, value = '1'): string =>
  `SUM(CASE WHEN ${cond} THEN ${value} ELSE 0 END)`;
// record_json is the line as received, compact (JSON.stringify): the flag appears verbatim.
const UNCERTAIN = `t.type = 'pending_open'
  OR (t.type = 'torn' AND t.record_json LIKE '%"stillUncertain":true%')`;
// Torn and pending lines name no route (no lineId): the terminal's registered one.
const ROUTE = "COALESCE(t.route_id, r.route_id, '')";

/**
 * The settlement rows, ordered by day, route, terminal; `day` (YYYY-MM-DD) filters one day.
 * Rejects with DepotStoreError.
 */
export async function settlementRows(db: DepotDb, day: string | null): Promise<SettlementRow[]> {
  const params: DepotValue[] = [];
  let filter = '';
  if (day !== null) {
    params.push(`${day.slice(2, 4)}${day.slice(5, 7)}${day.slice(8, 10)}`);
    filter = 'AND t.transaction_date = $1';
  }
  const rows = await db.query(`SELECT t.transaction_date AS date,
      ${ROUTE} AS route_id, t.terminal_id,
      COALESCE(t.currency_code, 0) AS currency_code,
      ${sumIf(COUNTED)} AS taps,
      ${sumIf(COUNTED, 't.amount_minor')} AS amount_minor,
      ${sumIf(`${COUNTED} AND t.state IN ('authorised', 'cleared')`)} AS authorised_taps,
      ${sumIf(`${COUNTED} AND t.state IN ('authorised', 'cleared')`, 't.amount_minor')}
        AS authorised_minor,
      ${sumIf(`${COUNTED} AND t.state = 'declined'`)} AS declined_taps,
      ${sumIf(`${COUNTED} AND t.state = 'declined'`, 't.amount_minor')} AS declined_minor,
      ${sumIf(`${COUNTED} AND t.state IN ('new', 'sent')`)} AS outstanding_taps,
      ${sumIf(`${COUNTED} AND t.state IN ('new', 'sent')`, 't.amount_minor')}
        AS outstanding_minor,
      ${sumIf(COUNTED, 'COALESCE(d.open_minor, 0)')} AS debt_open_minor,
      ${sumIf("t.state = 'duplicate'")} AS duplicates,
      ${sumIf(UNCERTAIN)} AS uncertain,
      ${sumIf(VOIDED)} AS voided_taps,
      ${sumIf(VOIDED, 't.amount_minor')} AS voided_minor,
      ${sumIf(REVERSAL_REFUSED)} AS reversal_refused_taps,
      ${sumIf(REVERSAL_REFUSED, 't.amount_minor')} AS reversal_refused_minor
    FROM taps t
    LEFT JOIN terminals r ON r.terminal_id = t.terminal_id
    LEFT JOIN (SELECT tap_id, SUM(amount_minor) AS open_minor FROM debts
      WHERE state = 'open' GROUP BY tap_id) d ON d.tap_id = t.id
    WHERE t.transaction_date IS NOT NULL ${filter}
    GROUP BY t.transaction_date, ${ROUTE}, t.terminal_id,
      COALESCE(t.currency_code, 0)
    ORDER BY t.transaction_date, 2, t.terminal_id, 4`, params);
  // A group of torn lines settled before their export only (nothing counted, nothing
  // uncertain) is no row: it stood beside the line's own row when a terminal's registered
  // route differs from its lineId.
  return rows.map((r) => ({
    day: `20${String(r['date']).slice(0, 2)}-${String(r['date']).slice(2, 4)}-${
      String(r['date']).slice(4, 6)}`,
    routeId: String(r['route_id']),
    terminalId: String(r['terminal_id']),
    currencyCode: Number(r['currency_code']),
    taps: Number(r['taps']), amountMinor: Number(r['amount_minor']),
    authorisedTaps: Number(r['authorised_taps']), authorisedMinor: Number(r['authorised_minor']),
    declinedTaps: Number(r['declined_taps']), declinedMinor: Number(r['declined_minor']),
    outstandingTaps: Number(r['outstanding_taps']),
    outstandingMinor: Number(r['outstanding_minor']),
    debtOpenMinor: Number(r['debt_open_minor']),
    duplicates: Number(r['duplicates']), uncertain: Number(r['uncertain']),
    voidedTaps: Number(r['voided_taps']), voidedMinor: Number(r['voided_minor']),
    reversalRefusedTaps: Number(r['reversal_refused_taps']),
    reversalRefusedMinor: Number(r['reversal_refused_minor']),
  })).filter((row) => settlementCells(row).slice(4).some((cell) => cell !== 0));
}

/** The cells of a row, in SETTLEMENT_COLUMNS order. */
export function settlementCells(row: SettlementRow): (string | number)[] {
  return [row.day, row.routeId, row.terminalId, row.currencyCode, row.taps, row.amountMinor,
    row.authorisedTaps, row.authorisedMinor, row.declinedTaps, row.declinedMinor,
    row.outstandingTaps, row.outstandingMinor, row.debtOpenMinor, row.duplicates, row.uncertain,
    row.voidedTaps, row.voidedMinor, row.reversalRefusedTaps, row.reversalRefusedMinor];
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break. */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** CSV (RFC 4180, CRLF): a header line, then one line per row of cells. */
export function csvTable(columns: readonly string[],
  rows: readonly (readonly (string | number)[])[]): string {
  const lines = [columns.join(','), ...rows.map((cells) => cells.map(csvField).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

/** CSV (RFC 4180, CRLF) with a header line; amounts in minor units. */
export function settlementCsv(rows: readonly SettlementRow[]): string {
  return csvTable(SETTLEMENT_COLUMNS, rows.map(settlementCells));
}

/**
 * Plain text: a title line, then the table with right-aligned columns separated by two spaces
 * (a header line and one line per row); `(none)` when there are no rows.
 */
export function textTable(title: string, columns: readonly string[],
  rows: readonly (readonly (string | number)[])[]): string {
  if (rows.length === 0) return `${title}\n(none)\n`;
  const widths = columns.map((c, i) => Math.max(c.length,
    ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells: readonly (string | number)[]): string =>
    cells.map((c, i) => String(c).padStart(widths[i] ?? 0)).join('  ').trimEnd();
  return `${title}\n${[line(columns), ...rows.map(line)].join('\n')}\n`;
}
