// The statements that write a batch's taps, per engine. SQLite takes multi-row VALUES in a few
// fixed row counts, at most 500 rows per statement (far below its 32766 bound parameters).
// PostgreSQL takes the whole batch by COPY into a temporary staging table, then one INSERT ...
// SELECT from it.

import type { DepotDb, DepotRow, DepotValue } from '../store/depot_db.js';
import { DepotStoreError } from '../store/depot_db.js';
import { cardTapIdsSql } from '../store/card_key_levels.js';

/** Columns of `taps` a batch writes, in the order of a row of tapsInsert. */
export const TAP_COLUMNS: readonly string[] = ['terminal_id', 'seq', 'type', 'time_wall_ms',
  'route_id', 'pan_token', 'pan_sealed', 'psn', 'atc', 'amount_minor', 'currency_code',
  'fare_rule', 'cryptogram_type', 'icc_data_hex', 'transaction_date', 'transaction_time',
  'params_version', 'record_json', 'state', 'duplicate_of', 'received_at_ms'];
const SQLITE_ROWS_PER_INSERT = 500;

const COLUMN_LIST = TAP_COLUMNS.join(', ');
/**
 * The session's staging table (PostgreSQL): the columns of taps, no index, no WAL (a
 * temporary table), emptied after each use. Made once per connection; IF NOT EXISTS keeps a
 * pooled connection (or a pooler's) from depending on which batch came first.
 */
const PG_STAGE = `CREATE TEMPORARY TABLE IF NOT EXISTS taps_stage AS
  SELECT ${COLUMN_LIST} FROM taps WITH NO DATA`;
const PG_STAGE_COPY = `COPY taps_stage (${COLUMN_LIST}) FROM STDIN`;
/**
 * Only the card+ATC index arbitrates: a refused card+ATC is skipped, in seq order, so the
 * batch's first tap of a card+ATC is the counted one. The other unique indexes (the id, and
 * terminal+seq, whose stored seqs the caller filtered while holding the terminal's status
 * row) are not probed once more per row; should one refuse a row anyway, the statement fails
 * (DepotStoreError.race) and the caller stores the batch again.
 */
const PG_INSERT = `INSERT INTO taps (${COLUMN_LIST}) SELECT ${COLUMN_LIST} FROM taps_stage
  ORDER BY seq ON CONFLICT (pan_token, psn, atc) WHERE type = 'clearing'
  AND duplicate_of IS NULL DO NOTHING RETURNING id, seq`;
const PG_STAGE_EMPTY = 'TRUNCATE taps_stage';

/** Stages `rows` and inserts them (PostgreSQL); the stage is empty again afterwards. */
async function pgTapsInsert(tx: DepotDb, rows: readonly (readonly DepotValue[])[]):
  Promise<readonly DepotRow[]> {
  if (tx.copyIn === undefined) throw new DepotStoreError('PostgreSQL transaction without COPY');
  await tx.run(PG_STAGE);
  await tx.copyIn(PG_STAGE_COPY, rows);
  const stored = await tx.query(PG_INSERT);
  await tx.run(PG_STAGE_EMPTY);
  return stored;
}

const sqliteInserts = new Map<number, string>();

/**
 * Rows of the next SQLite INSERT of `left` rows: 500, else the largest power of two. The
 * connection keeps each distinct statement prepared, about 1.9 KiB a row (941 KiB at 500
 * rows), and validators send batches of any size up to 500: one statement per row count
 * held 264 MiB once every size had come. Ten row counts hold about 2 MiB, for at most nine
 * statements a batch instead of one.
 */
function sqliteInsertRows(left: number): number {
  if (left >= SQLITE_ROWS_PER_INSERT) return SQLITE_ROWS_PER_INSERT;
  return 1 << (31 - Math.clz32(left));
}

/** SQLite: TAP_COLUMNS and the card key its triggers check (card_key_levels.ts, migration 7). */
const SQLITE_COLUMNS: readonly string[] = [...TAP_COLUMNS, 'card_key'];
/** Where a row holds the card key's parts. */
const [PAN_TOKEN_AT, PSN_AT, ATC_AT] = ['pan_token', 'psn', 'atc']
  .map((column) => TAP_COLUMNS.indexOf(column));

/** The multi-row INSERT of `rows` rows (cached: sqliteInsertRows makes ten row counts). */
function sqliteInsert(rows: number): string {
  const cached = sqliteInserts.get(rows);
  if (cached !== undefined) return cached;
  const columns = SQLITE_COLUMNS.length;
  const groups: string[] = [];
  for (let r = 0; r < rows; r += 1) {
    const cells = Array.from({ length: columns }, (_, c) => `$${r * columns + c + 1}`);
    groups.push(`(${cells.join(', ')})`);
  }
  const sql = `INSERT INTO taps (${SQLITE_COLUMNS.join(', ')}) VALUES ${groups.join(', ')}
    ON CONFLICT DO NOTHING RETURNING id, seq`;
  sqliteInserts.set(rows, sql);
  return sql;
}

/**
 * Inserts `rows` (TAP_COLUMNS order, ascending seq); a row whose card and ATC is already
 * counted (stored before, or earlier in `rows`) is skipped, and so, on SQLite, is a row whose
 * seq is stored. Resolves with the seq and id of each row stored. Rejects with
 * DepotStoreError when the database fails, with `race` set when PostgreSQL aborted it in a
 * race with a concurrent transaction (a deadlock on card+ATC keys, a seq stored first).
 */
export async function tapsInsert(tx: DepotDb, rows: readonly (readonly DepotValue[])[]):
  Promise<Map<number, number>> {
  const stored = new Map<number, number>();
  const keep = (returned: readonly DepotRow[]): void => {
    for (const row of returned) stored.set(Number(row['seq']), Number(row['id']));
  };
  if (rows.length === 0) return stored;
  if (tx.dialect === 'postgres') {
    keep(await pgTapsInsert(tx, rows));
    return stored;
  }
  const cardKey = tx.cardKey?.bind(tx);
  if (cardKey === undefined) throw new DepotStoreError('SQLite transaction without card keys');
  for (let i = 0; i < rows.length;) {
    const chunk = rows.slice(i, i + sqliteInsertRows(rows.length - i));
    i += chunk.length;
    const params: DepotValue[] = [];
    for (const row of chunk) {
      for (const value of row) params.push(value);
      params.push(cardKey(row[PAN_TOKEN_AT ?? -1] ?? null, row[PSN_AT ?? -1] ?? null,
        row[ATC_AT ?? -1] ?? null));
    }
    keep(await tx.query(sqliteInsert(chunk.length), params));
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
