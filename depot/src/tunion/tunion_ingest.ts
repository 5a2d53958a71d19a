// T-Union (JT/T 978) lines of a batch: checked against firmware's own journal rules, stored in
// `tunion_taps` in the batch's transaction, counted once per card number and ATC
// and once per card, PSAM terminal number and serial (what the TAC signs).
//
// Export lines (firmware journal_tunion.ts): `tunion_clearing` (the card debited itself and
// answered a TAC) and `tunion_grey` (the purchase was under way when its record was made; a
// clearing line with the same card and ATC completes it, else the back office settles it from
// the card's 0018 log). Nothing on these lines is secret: the card number is printed on the
// card, the TAC is a proof. The TAC is verified with the issuer's key by `tunion_report.ts`.
// `tunion_blocked` lines (a deny-listed card's block) go to their own table: tunion_blocks.ts.

import {
  journalEntryStrict,
  type JournalEntry,
} from '../../../firmware/src/app/journal/journal_records.js';
import { FieldError } from '../../../firmware/src/app/params/json_fields.js';
import type { DepotDb } from '../store/depot_db.js';
import { tunionDateTimeCheck } from './tunion_date_time.js';
import { BatchError, batchKeysExact } from '../ingest/batch_error.js';
import {
  tunionBlockedValidate, tunionBlocksStore, type TunionBlockedIngestRecord,
} from './tunion_blocks.js';

export type TunionLineType = 'tunion_clearing' | 'tunion_grey' | 'tunion_blocked';

/** One validated T-Union line: a tap for `tunion_taps`, or a block for `tunion_blocks`. */
export type TunionIngestRecord = TunionTapIngestRecord | TunionBlockedIngestRecord;

/** One validated T-Union purchase line, ready for `tunion_taps`. */
export interface TunionTapIngestRecord {
  readonly seq: number;
  readonly type: 'tunion_clearing' | 'tunion_grey';
  readonly timeWallMs: number;
  readonly serialDigits: string;
  readonly issuerIdHex: string;
  readonly atc: number;
  readonly amountMinor: number;
  /** The PSAM's terminal number and transaction serial: with the card, one debit. */
  readonly terminalNumberHex: string;
  readonly terminalSerial: number;
  /** '' on a grey line. */
  readonly tacHex: string;
  readonly recordJson: string;
}

const CLEARING_KEYS = ['type', 'seq', 'timeWallMs', 'greySeq', 'card', 'purchase', 'ride',
  'balanceAfterMinor', 'tacHex', 'terminalId', 'paramsVersion'];
/** A clearing line that says whether the PSAM checked the card's MAC2 (journal_tunion.ts). */
const CLEARING_KEYS_MAC2 = [...CLEARING_KEYS, 'mac2Verified'];
const GREY_KEYS = ['type', 'seq', 'timeWallMs', 'card', 'purchase', 'ride'];
/** The grey export leaves the kernel's grey record on the validator: a placeholder for checks. */
const KERNEL_RECORD_PLACEHOLDER = '00';

/** True for the line types this module validates. */
export function isTunionLine(type: unknown): type is TunionLineType {
  return type === 'tunion_clearing' || type === 'tunion_grey' || type === 'tunion_blocked';
}

/**
 * Validates a T-Union line of terminal `terminalId` (its seq and time already checked by the
 * caller). Throws BatchError (bad-batch) naming the field: wrong keys, a field outside the
 * journal's bounds, a clearing or block line naming another terminal, a grey record not
 * before its clearing line.
 */
export function tunionLineValidate(
  line: Readonly<Record<string, unknown>>, path: string, terminalId: string,
  base: { readonly seq: number; readonly timeWallMs: number; readonly type: TunionLineType },
): TunionIngestRecord {
  if (base.type === 'tunion_blocked') return tunionBlockedValidate(line, path, terminalId, base);
  const clearing = base.type === 'tunion_clearing';
  // mac2Verified is new: a validator not upgraded yet sends its clearing lines without it.
  const newer = clearing && Object.prototype.hasOwnProperty.call(line, 'mac2Verified');
  batchKeysExact(line, clearing ? (newer ? CLEARING_KEYS_MAC2 : CLEARING_KEYS) : GREY_KEYS, path);
  const { type: _type, seq: _seq, timeWallMs: _time, ...fields } = line;
  const candidate = clearing
    ? { kind: 'tunion_final', ...fields }
    : { kind: 'tunion_grey', ...fields, kernelRecordHex: KERNEL_RECORD_PLACEHOLDER };
  let entry: JournalEntry;
  try {
    entry = journalEntryStrict(candidate as unknown as JournalEntry, 'batch');
  } catch (error) {
    if (!(error instanceof FieldError)) throw error;
    throw new BatchError('bad-batch', `${path}.${error.field.replace(/^entry\./, '')}`,
      error.reason);
  }
  if (entry.kind !== 'tunion_final' && entry.kind !== 'tunion_grey')
    throw new BatchError('bad-batch', `${path}.type`, 'not a T-Union record');
  tunionDateTimeCheck(entry.purchase.dateTimeDigits, `${path}.purchase.dateTimeDigits`);
  if (entry.kind === 'tunion_final') {
    if (entry.terminalId !== terminalId)
      throw new BatchError('terminal-mismatch', `${path}.terminalId`,
      'not the certificate\'s terminal');
    if (entry.greySeq !== null && entry.greySeq >= base.seq)
      throw new BatchError('bad-batch', `${path}.greySeq`, 'must precede the record');
  }
  return {
    ...base,
    type: base.type,
    serialDigits: entry.card.serialDigits,
    issuerIdHex: entry.card.issuerIdHex,
    atc: entry.purchase.atc,
    amountMinor: entry.purchase.amountMinor,
    terminalNumberHex: entry.purchase.terminalNumberHex.toUpperCase(),
    terminalSerial: entry.purchase.terminalSerial,
    tacHex: entry.kind === 'tunion_final' ? entry.tacHex : '',
    recordJson: JSON.stringify(line),
  };
}

/** Migration statements of the `tunion_taps` table (depot_migrations.ts). */
export const TUNION_MIGRATION_STATEMENTS: readonly string[] = [
  `CREATE TABLE tunion_taps (
    {{ID}},
    terminal_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('tunion_clearing', 'tunion_grey')),
    time_wall_ms BIGINT NOT NULL,
    card_serial TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    atc BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    tac_hex TEXT NOT NULL,
    tac_state TEXT NOT NULL CHECK (tac_state IN
      ('none', 'unverified', 'valid', 'invalid', 'unknownIssuer', 'malformed')),
    duplicate BIGINT NOT NULL,
    record_json TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    UNIQUE (terminal_id, seq))`,
  // A card's ATC is one purchase: counted once across the fleet, a replay kept as duplicate.
  `CREATE UNIQUE INDEX tunion_taps_card_atc ON tunion_taps (card_serial, atc)
    WHERE type = 'tunion_clearing' AND duplicate = 0`,
];

/**
 * The PSAM's terminal number and serial of each line, which the TAC signs and the ATC is not:
 * a purchase is counted once per card and these too. Not unique: a depot that counted a copy
 * before this migration keeps its rows (the backfills below fill them from record_json).
 */
export const TUNION_PSAM_MIGRATION_STATEMENTS: readonly string[] = [
  'ALTER TABLE tunion_taps ADD COLUMN psam_terminal TEXT',
  'ALTER TABLE tunion_taps ADD COLUMN psam_serial BIGINT',
  `CREATE INDEX tunion_taps_card_psam ON tunion_taps (card_serial, psam_terminal, psam_serial)
    WHERE type = 'tunion_clearing' AND duplicate = 0`,
  // The greys of a card and ATC: a grey is open, and listed once, by these (the reports).
  `CREATE INDEX tunion_taps_grey_card_atc ON tunion_taps (card_serial, atc, id)
    WHERE type = 'tunion_grey'`,
];
// A stored line that no longer reads as JSON (the reports call it malformed) must not stop the
// migration, and so the depot: it keeps null columns.
export const TUNION_PSAM_BACKFILL_SQLITE: readonly string[] = [
  `UPDATE tunion_taps SET
    psam_terminal = upper(json_extract(record_json, '$.purchase.terminalNumberHex')),
    psam_serial = json_extract(record_json, '$.purchase.terminalSerial')
    WHERE json_valid(record_json)`,
];
/** PostgreSQL 15 has no JSON test that cannot fail: the lines' own text, as JSON.stringify
 *  wrote it (no spaces), is matched instead. */
export const TUNION_PSAM_BACKFILL_POSTGRES: readonly string[] = [
  `UPDATE tunion_taps SET
    psam_terminal = upper(substring(record_json from '"terminalNumberHex":"([0-9A-Fa-f]{1,32})"')),
    psam_serial = substring(record_json from '"terminalSerial":([0-9]{1,15})[,}]')::bigint`,
];

/**
 * Stores the T-Union records of one batch inside the batch's transaction `tx`: a seq already
 * stored is a replay (skipped), a clearing line whose card and ATC is already counted is kept
 * as a duplicate, a block line goes to `tunion_blocks`. Resolves with the number of records
 * stored as counted and as duplicates. Rejects with DepotStoreError when the database fails.
 */
export async function tunionStore(
  tx: DepotDb, terminalId: string, records: readonly TunionIngestRecord[], nowMs: number,
): Promise<{ stored: number; duplicates: number }> {
  const blocks = await tunionBlocksStore(tx, terminalId,
    records.filter((r): r is TunionBlockedIngestRecord => r.type === 'tunion_blocked'), nowMs);
  const taps = await tunionTapsStore(tx, terminalId,
    records.filter((r): r is TunionTapIngestRecord => r.type !== 'tunion_blocked'), nowMs);
  return { stored: blocks.stored + taps.stored, duplicates: blocks.duplicates + taps.duplicates };
}

/**
 * True when a counted clearing line is already the debit of `r`: the same card and ATC, or the
 * same card, PSAM terminal number and terminal serial. The TAC signs the latter, not the ATC: a
 * copy under another ATC still verifies, and the PSAM numbers each of its purchases once. Both
 * lookups are indexed (tunion_taps_card_atc, tunion_taps_card_psam): a commuter's years of
 * rides are not read for each new one.
 */
async function clearingCounted(tx: DepotDb, r: TunionTapIngestRecord): Promise<boolean> {
  // Two queries, one index each (an OR of the two would search the card's lines only).
  const byAtc = await tx.query(`SELECT 1 AS x FROM tunion_taps WHERE card_serial = $1
    AND atc = $2 AND type = 'tunion_clearing' AND duplicate = 0`, [r.serialDigits, r.atc]);
  if (byAtc.length > 0) return true;
  const byPsam = await tx.query(`SELECT 1 AS x FROM tunion_taps WHERE card_serial = $1
    AND psam_terminal = $2 AND psam_serial = $3 AND type = 'tunion_clearing' AND duplicate = 0`,
  [r.serialDigits, r.terminalNumberHex, r.terminalSerial]);
  return byPsam.length > 0;
}

async function tunionTapsStore(
  tx: DepotDb, terminalId: string, records: readonly TunionTapIngestRecord[], nowMs: number,
): Promise<{ stored: number; duplicates: number }> {
  let stored = 0;
  let duplicates = 0;
  for (const r of records) {
    const seen = await tx.query(
      'SELECT 1 AS x FROM tunion_taps WHERE terminal_id = $1 AND seq = $2', [terminalId, r.seq]);
    if (seen.length > 0) {
      duplicates += 1;
      continue;
    }
    const clearing = r.type === 'tunion_clearing';
    const duplicate = clearing && await clearingCounted(tx, r) ? 1 : 0;
    await tx.run(`INSERT INTO tunion_taps (terminal_id, seq, type, time_wall_ms, card_serial,
      issuer_id, atc, amount_minor, tac_hex, tac_state, duplicate, record_json, received_at_ms,
      psam_terminal, psam_serial)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
    [terminalId, r.seq, r.type, r.timeWallMs, r.serialDigits, r.issuerIdHex, r.atc,
      r.amountMinor, r.tacHex, clearing ? 'unverified' : 'none', duplicate, r.recordJson,
      nowMs, r.terminalNumberHex, r.terminalSerial]);
    if (duplicate === 1) duplicates += 1;
    else stored += 1;
  }
  return { stored, duplicates };
}
