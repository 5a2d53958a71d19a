// The statements that write a batch's taps, per engine: SQLite takes multi-row VALUES (500
// rows per statement, far below its 32766 bound parameters); PostgreSQL takes the whole batch
// as one JSON parameter (INSERT ... SELECT FROM json_to_recordset), one statement to parse and
// plan instead of one per 500 rows with 10^4 parameters each.

import type { DepotDb, DepotRow, DepotValue } from '../store/depot_db.js';
import { cardTapIdsSql } from '../store/card_key_levels.js';

/** Columns of `taps` a batch writes, in the order of a row of tapsInsert. */
export const TAP_COLUMNS: readonly string[] = ['terminal_id', 'seq', 'type', 'time_wall_ms',
  'route_id', 'pan_token', 'pan_sealed', 'psn', 'atc', 'amount_minor', 'currency_code',
  'fare_rule', 'cryptogram_type', 'icc_data_hex', 'transaction_date', 'transaction_time',
  'params_version', 'record_json', 'state', 'duplicate_of', 'received_at_ms'];
/** PostgreSQL type of each TAP_COLUMNS entry (migration 1), for the array casts. */
const PG_COLUMN_TYPES: readonly string[] = ['text', 'bigint', 'text', 'bigint', 'text', 'text',
  'text', 'text', 'bigint', 'bigint', 'bigint', 'text', 'text', 'text', 'text', 'text',
  'bigint', 'text', 'text', 'bigint', 'bigint'];
const SQLITE_ROWS_PER_INSERT = 500;

const PG_INSERT = `INSERT INTO taps (${TAP_COLUMNS.join(', ')}) SELECT ${TAP_COLUMNS.join(', ')}
  FROM json_to_recordset($1::json) AS r(${
  TAP_COLUMNS.map((name, i) => `${name} ${PG_COLUMN_TYPES[i] ?? 'text'}`).join(', ')})
  ON CONFLICT DO NOTHING RETURNING id, seq`;

/**
 * The rows as one JSON array of objects keyed by column: V8's JSON.stringify escapes the
 * record_json text natively, where pg's array literals escape every element in JavaScript.
 */
function pgRowsJson(rows: readonly (readonly DepotValue[])[]): string {
  return JSON.stringify(rows.map((row) => {
    const object: Record<string, DepotValue> = {};
    TAP_COLUMNS.forEach((name, c) => {
      object[name] = row[c] ?? null;
    });
    return object;
  }));
}

const sqliteInserts = new Map<number, string>();

/** The multi-row INSERT of `rows` rows (cached: a batch uses at most two shapes). */
function sqliteInsert(rows: number): string {
  const cached = sqliteInserts.get(rows);
  if (cached !== undefined) return cached;
  const columns = TAP_COLUMNS.length;
  const groups: string[] = [];
  for (let r = 0; r < rows; r += 1) {
    const cells = Array.from({ length: columns }, (_, c) => `$${r * columns + c + 1}`);
    groups.push(`(${cells.join(', ')})`);
  }
  const sql = `INSERT INTO taps (${TAP_COLUMNS.join(', ')}) VALUES ${groups.join(', ')}
    ON CONFLICT DO NOTHING RETURNING id, seq`;
  sqliteInserts.set(rows, sql);
  return sql;
}

/**
 * Inserts `rows` (TAP_COLUMNS order); a row refused by a unique index (its seq, or its card
 * and ATC among counted taps) is skipped. Resolves with the seq and id of each row stored.
 * Rejects with DepotStoreError when the database fails.
 */
export async function tapsInsert(tx: DepotDb, rows: readonly (readonly DepotValue[])[]):
  Promise<Map<number, number>> {
  const stored = new Map<number, number>();
  const keep = (returned: readonly DepotRow[]): void => {
    for (const row of returned) stored.set(Number(row['seq']), Number(row['id']));
  };
  if (rows.length === 0) return stored;
  if (tx.dialect === 'postgres') {
    keep(await tx.query(PG_INSERT, [pgRowsJson(rows)]));
    return stored;
  }
  for (let i = 0; i < rows.length; i += SQLITE_ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + SQLITE_ROWS_PER_INSERT);
    keep(await tx.query(sqliteInsert(chunk.length), chunk.flat()));
  }
  return stored;
}

const COUNTED_FROM = 'FROM taps t WHERE t.type = \'clearing\' AND t.duplicate_of IS NULL';
/** SQLite: the counted taps of card ($1 PAN token, $2 PSN), found through its key levels. */
export const SQLITE_COUNTED_OF_CARD = `SELECT t.id, t.pan_token, t.psn, t.atc ${COUNTED_FROM}
  AND t.id IN (${cardTapIdsSql('$1', '$2')}) AND t.pan_token = $1 AND t.psn = $2`;

/** A card as the dedupe knows it: PAN token and PSN. */
export interface TapCard {
  readonly panToken: string;
  readonly psn: string;
}

/**
 * The counted clearing taps (not duplicates) of `cards`, as rows of id, pan_token, psn, atc
 * (PostgreSQL may add other PSNs of the same tokens; the caller keys rows by all three).
 * SQLite looks each card up through its key levels (card_key_levels.ts), PostgreSQL through
 * taps_card_atc. Rejects with DepotStoreError when the database fails.
 */
export async function countedTapsOfCards(tx: DepotDb, cards: readonly TapCard[]):
  Promise<readonly DepotRow[]> {
  if (cards.length === 0) return [];
  if (tx.dialect === 'postgres')
    return tx.query(`SELECT id, pan_token, psn, atc ${COUNTED_FROM}
      AND pan_token = ANY($1::text[])`,
      [[...new Set(cards.map((c) => c.panToken))]]);
  const rows: DepotRow[] = [];
  const seen = new Set<string>();
  for (const card of cards) {
    const key = `${card.panToken}/${card.psn}`;
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push(...await tx.query(SQLITE_COUNTED_OF_CARD, [card.panToken, card.psn]));
  }
  return rows;
}
