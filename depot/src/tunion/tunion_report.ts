// T-Union money at the depot: every clearing line's TAC verified with its issuer's key, then
// the totals a clearing centre settles (valid), disputes (invalid) or holds (unknown issuer).

import {
  TUNION_BLOCK_FINAL_OUTCOMES, type TunionBlockFinalOutcome,
} from '../../../firmware/src/app/journal/journal_tunion.js';
import type { DepotDb } from '../store/depot_db.js';
import { TUNION_BLOCK_EVENTS } from './tunion_blocks.js';
import { jtt978TacVerify, type TacKeyLookup, type TacVerdict } from './jtt978_tac.js';

/** Totals of the T-Union taps stored so far. */
export interface TunionReport {
  readonly clearing: number;
  readonly duplicates: number;
  /** Clearing lines by TAC verdict, and their amounts (fen). */
  readonly byVerdict: Readonly<Record<TacVerdict, { count: number; amountMinor: number }>>;
  /**
   * Grey purchases (card and ATC; copies once) no clearing line completes (settled from the
   * card).
   */
  readonly greyOpen: number;
  /**
   * Deny-listed cards met (one per block: a final line, or a pending line no final names, as
   * not-confirmed) by the block's outcome, and the cards blocked.
   */
  readonly blocks: Readonly<Record<TunionBlockFinalOutcome, number>>;
  readonly cardsBlocked: number;
}

/**
 * SQL true for the grey row `alias` when it is the first stored grey of its card and ATC (a
 * copy under another seq is the same purchase) and no counted clearing line completes it.
 * Both lookups are partial indexes (tunion_taps_grey_card_atc, tunion_taps_card_atc).
 */
export const GREY_OPEN_FIRST = (alias: string): string => `${alias}.id = (SELECT MIN(x.id)
    FROM tunion_taps x WHERE x.type = 'tunion_grey' AND x.card_serial = ${alias}.card_serial
    AND x.atc = ${alias}.atc)
  AND NOT EXISTS (SELECT 1 FROM tunion_taps c WHERE c.type = 'tunion_clearing'
    AND c.duplicate = 0 AND c.card_serial = ${alias}.card_serial AND c.atc = ${alias}.atc)`;

interface StoredLine {
  readonly card: { readonly issuerIdHex: string; readonly serialDigits: string };
  readonly purchase: {
    readonly transactionType: number; readonly amountMinor: number;
    readonly terminalNumberHex: string; readonly terminalSerial: number;
    readonly dateTimeDigits: string;
  };
  readonly tacHex: string;
}

/**
 * Verifies the TAC of every clearing line not yet `valid` with `keys` (the issuers' TAC master
 * keys) and records the verdict; a line whose JSON no longer parses is `malformed`. A verdict
 * other than valid is only what the keys given then said (a file without the issuer, a key of
 * another version): the next report with the right file verifies the line again. A valid TAC
 * stays valid (the card's key proved it). Resolves with the totals. Rejects with
 * DepotStoreError when the database fails.
 */
export async function tunionVerifyAndReport(db: DepotDb, keys: TacKeyLookup)
  : Promise<TunionReport> {
  const pending = await db.query(`SELECT id, record_json FROM tunion_taps
    WHERE type = 'tunion_clearing' AND tac_state <> 'valid' ORDER BY id`);
  for (const row of pending) {
    await db.run('UPDATE tunion_taps SET tac_state = $1 WHERE id = $2',
      [verdictOf(String(row['record_json']), keys), Number(row['id'])]);
  }
  const verdicts: TacVerdict[] = ['valid', 'invalid', 'unknownIssuer', 'malformed'];
  const byVerdict = Object.fromEntries(verdicts.map((v) => [v, { count: 0, amountMinor: 0 }])) as
    Record<TacVerdict, { count: number; amountMinor: number }>;
  const rows = await db.query(`SELECT tac_state, COUNT(*) AS n, SUM(amount_minor) AS amount
    FROM tunion_taps WHERE type = 'tunion_clearing' AND duplicate = 0 GROUP BY tac_state`);
  let clearing = 0;
  for (const row of rows) {
    const state = String(row['tac_state']) as TacVerdict;
    const count = Number(row['n']);
    clearing += count;
    if (state in byVerdict) byVerdict[state] = { count, amountMinor: Number(row['amount']) };
  }
  const dup = await db.query('SELECT COUNT(*) AS n FROM tunion_taps WHERE duplicate = 1');
  const open = await db.query(`SELECT COUNT(*) AS n FROM tunion_taps g WHERE
    g.type = 'tunion_grey' AND ${GREY_OPEN_FIRST('g')}`);
  return {
    clearing,
    duplicates: Number(dup[0]?.['n'] ?? 0),
    byVerdict,
    greyOpen: Number(open[0]?.['n'] ?? 0),
    ...await tunionBlockTotals(db),
  };
}

/** The blocks by outcome, and the distinct cards whose block the card confirmed. */
async function tunionBlockTotals(db: DepotDb)
  : Promise<Pick<TunionReport, 'blocks' | 'cardsBlocked'>> {
  const blocks = Object.fromEntries(TUNION_BLOCK_FINAL_OUTCOMES.map((o) => [o, 0])) as
    Record<TunionBlockFinalOutcome, number>;
  const rows = await db.query(`SELECT outcome, COUNT(*) AS n FROM ${TUNION_BLOCK_EVENTS}
    GROUP BY outcome`);
  for (const row of rows) {
    const outcome = TUNION_BLOCK_FINAL_OUTCOMES.find((o) => o === row['outcome']);
    if (outcome !== undefined) blocks[outcome] = Number(row['n']);
  }
  const cards = await db.query(`SELECT COUNT(DISTINCT card_serial) AS n FROM tunion_blocks
    WHERE block_outcome = 'blocked'`);
  return { blocks, cardsBlocked: Number(cards[0]?.['n'] ?? 0) };
}

function verdictOf(recordJson: string, keys: TacKeyLookup): TacVerdict {
  let line: StoredLine;
  try {
    line = JSON.parse(recordJson) as StoredLine;
  } catch {
    return 'malformed';
  }
  const p = line.purchase;
  if (typeof p !== 'object' || p === null || typeof line.card !== 'object') return 'malformed';
  return jtt978TacVerify({
    issuerIdHex: String(line.card.issuerIdHex),
    applicationSerialHex: String(line.card.serialDigits),
    amountMinor: p.amountMinor,
    transactionType: p.transactionType,
    terminalNumberHex: String(p.terminalNumberHex),
    terminalSerial: p.terminalSerial,
    dateTimeDigits: String(p.dateTimeDigits),
    tacHex: String(line.tacHex),
  }, keys);
}
