// T-Union (JT/T 978) block lines of a batch: a deny-listed card a validator met and tried to
// block (firmware journal_tunion.ts, `tunion_blocked`), checked against firmware's own journal
// rules and stored in `tunion_blocks` in the batch's transaction.
//
// Why the depot keeps them: a card locked by a terminal (黑名单锁卡) is reported to the clearing
// centre and its issuer, who confirm the block; customer service tells the rider why the card
// stopped working; the operator counts the cards blocked. A line moves no money: it is never
// counted as a tap.
//
// A block sent to the card is two lines (firmware journal README, T-Union block records): a
// `pending` one written before APPLICATION BLOCK, and the final one naming it (`pendingSeq`).
// Each is stored as it came (in either order, in one batch or two); the report reads one block
// per card event (`TUNION_BLOCK_EVENTS`): a final, or a pending line no final names, which
// reads as not confirmed (the power went after the command: the card may have blocked itself).
// A card met twice (blocked at its second tap) is two blocks.

import {
  journalEntryStrict,
  type JournalEntry,
} from '../../../firmware/src/app/journal/journal_records.js';
import type { TunionBlockOutcome } from '../../../firmware/src/app/journal/journal_tunion.js';
import { FieldError } from '../../../firmware/src/app/params/json_fields.js';
import type { DepotDb } from '../store/depot_db.js';
import { tunionDateTimeCheck } from './tunion_date_time.js';
import { BatchError, batchKeysExact } from '../ingest/batch_error.js';

/** One validated block line, ready for `tunion_blocks`. */
export interface TunionBlockedIngestRecord {
  readonly seq: number;
  readonly type: 'tunion_blocked';
  readonly timeWallMs: number;
  readonly serialDigits: string;
  readonly issuerIdHex: string;
  readonly cityCodeHex: string;
  /** The terminal's local YYYYMMDDhhmmss of the tap (the report's business day). */
  readonly dateTimeDigits: string;
  readonly lineId: string;
  readonly blockOutcome: TunionBlockOutcome;
  /** The card's status word to APPLICATION BLOCK, '' when none. */
  readonly blockSwHex: string;
  /** Of a final line: the seq of its pending line; null otherwise (and on older lines). */
  readonly pendingSeq: number | null;
  /** The parameter set whose deny list named the card. */
  readonly paramsVersion: number;
  /** The PSAM's terminal number (file 0016). */
  readonly terminalNumberHex: string;
  readonly recordJson: string;
}

/** The export line's fields (journal_tunion.ts tunionExportObject), all of them required. */
const BLOCKED_KEYS = ['type', 'seq', 'timeWallMs', 'card', 'dateTimeDigits',
  'terminalNumberHex', 'terminalId', 'lineId', 'paramsVersion', 'blockOutcome', 'blockSwHex'];
/** A final line that completes a pending line; lines of older validators never have the key. */
const BLOCKED_KEYS_PENDING = [...BLOCKED_KEYS, 'pendingSeq'];

/**
 * Validates a block line of terminal `terminalId` (its seq and time already checked by the
 * caller). Throws BatchError (bad-batch) naming the field: wrong keys, a field outside the
 * journal's bounds, an outcome its status word contradicts, another terminal's id.
 */
export function tunionBlockedValidate(
  line: Readonly<Record<string, unknown>>, path: string, terminalId: string,
  base: { readonly seq: number; readonly timeWallMs: number },
): TunionBlockedIngestRecord {
  const completes = Object.prototype.hasOwnProperty.call(line, 'pendingSeq');
  batchKeysExact(line, completes ? BLOCKED_KEYS_PENDING : BLOCKED_KEYS, path);
  const { type: _type, seq: _seq, timeWallMs: _time, ...fields } = line;
  let entry: JournalEntry;
  try {
    entry = journalEntryStrict({ kind: 'tunion_blocked', ...fields } as unknown as JournalEntry,
      'batch');
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    throw new BatchError('bad-batch', `${path}.${error.field.replace(/^entry\./, '')}`,
      error.reason);
  }
  if (entry.kind !== 'tunion_blocked')
    throw new BatchError('bad-batch', `${path}.type`, 'not a T-Union block');
  if (entry.terminalId !== terminalId)
    throw new BatchError('terminal-mismatch', `${path}.terminalId`,
      'not the certificate\'s terminal');
  tunionDateTimeCheck(entry.dateTimeDigits, `${path}.dateTimeDigits`);
  if (entry.pendingSeq !== null && entry.pendingSeq >= base.seq)
    throw new BatchError('bad-batch', `${path}.pendingSeq`, 'must precede the record');
  return {
    ...base, type: 'tunion_blocked',
    serialDigits: entry.card.serialDigits, issuerIdHex: entry.card.issuerIdHex,
    cityCodeHex: entry.card.cityCodeHex, dateTimeDigits: entry.dateTimeDigits,
    lineId: entry.lineId, blockOutcome: entry.blockOutcome, blockSwHex: entry.blockSwHex,
    pendingSeq: entry.pendingSeq, paramsVersion: entry.paramsVersion,
    terminalNumberHex: entry.terminalNumberHex,
    recordJson: JSON.stringify(line),
  };
}

/** Migration statements of the `tunion_blocks` table (depot_migrations.ts). */
export const TUNION_BLOCKS_MIGRATION_STATEMENTS: readonly string[] = [
  `CREATE TABLE tunion_blocks (
    {{ID}},
    terminal_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    time_wall_ms BIGINT NOT NULL,
    date_time_digits TEXT NOT NULL,
    card_serial TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    card_city TEXT NOT NULL,
    line_id TEXT NOT NULL,
    block_outcome TEXT NOT NULL CHECK (block_outcome IN
      ('blocked', 'not-confirmed', 'not-sent')),
    block_sw TEXT NOT NULL,
    params_version BIGINT NOT NULL,
    terminal_number TEXT NOT NULL,
    record_json TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    UNIQUE (terminal_id, seq))`,
  // Customer service looks a card up by its number; the report reads a period.
  'CREATE INDEX tunion_blocks_card ON tunion_blocks (card_serial)',
  'CREATE INDEX tunion_blocks_time ON tunion_blocks (date_time_digits)',
];

/** The columns of `tunion_blocks` a migration copies (all but id and pending_seq). */
const BLOCK_COLUMNS = `terminal_id, seq, time_wall_ms, date_time_digits, card_serial, issuer_id,
  card_city, line_id, block_outcome, block_sw, params_version, terminal_number, record_json,
  received_at_ms`;

/**
 * Migration statements of the pending block lines: `block_outcome` may be 'pending', and a
 * final line's `pending_seq` names its pending line. The CHECK constraint changes, which
 * SQLite cannot alter: the table is rebuilt (on both engines, the same statements), its rows
 * copied in their order (new ids: nothing refers to them).
 */
export const TUNION_BLOCKS_PENDING_MIGRATION_STATEMENTS: readonly string[] = [
  `CREATE TABLE tunion_blocks_next (
    {{ID}},
    terminal_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    time_wall_ms BIGINT NOT NULL,
    date_time_digits TEXT NOT NULL,
    card_serial TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    card_city TEXT NOT NULL,
    line_id TEXT NOT NULL,
    block_outcome TEXT NOT NULL CHECK (block_outcome IN
      ('blocked', 'not-confirmed', 'not-sent', 'pending')),
    block_sw TEXT NOT NULL,
    params_version BIGINT NOT NULL,
    terminal_number TEXT NOT NULL,
    record_json TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    pending_seq BIGINT,
    UNIQUE (terminal_id, seq))`,
  `INSERT INTO tunion_blocks_next (${BLOCK_COLUMNS})
    SELECT ${BLOCK_COLUMNS} FROM tunion_blocks ORDER BY id`,
  'DROP TABLE tunion_blocks',
  'ALTER TABLE tunion_blocks_next RENAME TO tunion_blocks',
  'CREATE INDEX tunion_blocks_card ON tunion_blocks (card_serial)',
  'CREATE INDEX tunion_blocks_time ON tunion_blocks (date_time_digits)',
  // The report asks of each pending line whether a final names it.
  'CREATE INDEX tunion_blocks_pending ON tunion_blocks (terminal_id, pending_seq)',
];

/**
 * The blocks as the report counts them, one per card event, as a subquery with the columns of
 * `tunion_blocks` plus `outcome`: each final line, and each pending line no final of the same
 * terminal and card names, whose `outcome` is 'not-confirmed' (the command went; no answer was
 * recorded). Other lines keep their own outcome.
 */
export const TUNION_BLOCK_EVENTS = `(SELECT b.*, CASE WHEN b.block_outcome = 'pending'
    THEN 'not-confirmed' ELSE b.block_outcome END AS outcome
  FROM tunion_blocks b
  WHERE b.block_outcome <> 'pending' OR NOT EXISTS (SELECT 1 FROM tunion_blocks f
    WHERE f.terminal_id = b.terminal_id AND f.pending_seq = b.seq
      AND f.card_serial = b.card_serial)) AS events`;

/**
 * Stores the block lines of one batch inside the batch's transaction `tx`: a seq already
 * stored is a replay (skipped; seq_conflict.ts has checked it is the same record). Resolves
 * with the numbers stored and skipped. Rejects with DepotStoreError when the database fails.
 */
export async function tunionBlocksStore(
  tx: DepotDb, terminalId: string, records: readonly TunionBlockedIngestRecord[], nowMs: number,
): Promise<{ stored: number; duplicates: number }> {
  let stored = 0;
  let duplicates = 0;
  for (const r of records) {
    const seen = await tx.query(
      'SELECT 1 AS x FROM tunion_blocks WHERE terminal_id = $1 AND seq = $2', [terminalId, r.seq]);
    if (seen.length > 0) {
      duplicates += 1;
      continue;
    }
    await tx.run(`INSERT INTO tunion_blocks (${BLOCK_COLUMNS}, pending_seq)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [terminalId, r.seq, r.timeWallMs, r.dateTimeDigits, r.serialDigits, r.issuerIdHex,
      r.cityCodeHex, r.lineId, r.blockOutcome, r.blockSwHex, r.paramsVersion,
      r.terminalNumberHex, r.recordJson, nowMs, r.pendingSeq]);
    stored += 1;
  }
  return { stored, duplicates };
}
