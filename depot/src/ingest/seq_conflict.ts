// A terminal's seqs are its journal's record numbers. A record whose (terminal, seq) the depot
// already holds is a replay (an upload whose answer was lost) only when it is the same record,
// otherwise the terminal's journal was replaced (a new storage card, a board swap, a damaged
// journal moved away) and numbers from 1 again. Taking its records as replays would drop
// every fare until its seqs pass the old ones, and acknowledge them to the validator, which
// then reclaims them: such a batch is refused whole and the validator keeps its records.

import type { DepotDb, DepotRow } from '../store/depot_db.js';
import { BatchError } from './batch_error.js';
import type { SealedBatch } from './batch_seal.js';

/** The facts a replay must repeat of a stored record (see `facts`), by name. */
const FACT_NAMES = ['kind', 'time', 'card', 'ATC', 'amount'];

/**
 * What a replay must repeat of a stored record: its kind, its time and, for a card's record,
 * the card and counter and amount. None of these changes between two exports of one record.
 */
function facts(
  type: unknown, timeWallMs: unknown, card: unknown, atc: unknown, amount: unknown,
): readonly string[] {
  return [type, timeWallMs, card, atc, amount]
    .map((value) => (value === null || value === undefined ? '-' : String(value)));
}

function storedFacts(row: DepotRow): readonly string[] {
  return facts(row['type'], Number(row['time_wall_ms']), row['card'],
    row['atc'] === null ? null : Number(row['atc']),
    row['amount_minor'] === null ? null : Number(row['amount_minor']));
}

/**
 * The batch's records as seq to facts (taps and T-Union lines share the journal's seqs). A
 * T-Union block has no counter or amount: its kind, time and card number must repeat.
 */
function batchFacts(batch: SealedBatch): Map<number, readonly string[]> {
  const out = new Map<number, readonly string[]>();
  for (const { record: r, panToken } of batch.records)
    out.set(r.seq, facts(r.type, r.timeWallMs, panToken, r.atc, r.amountMinor));
  for (const r of batch.tunion) {
    const blocked = r.type === 'tunion_blocked';
    out.set(r.seq, facts(r.type, r.timeWallMs, r.serialDigits, blocked ? null : r.atc,
      blocked ? null : r.amountMinor));
  }
  return out;
}

/**
 * Where a terminal's records are held, and how each table spells a record's facts: a block
 * (`tunion_blocks`) is of kind tunion_blocked, without counter or amount.
 */
const HELD_TABLES = [
  { table: 'taps', columns: 'seq, type, time_wall_ms, pan_token AS card, atc, amount_minor' },
  { table: 'tunion_taps',
    columns: 'seq, type, time_wall_ms, card_serial AS card, atc, amount_minor' },
  { table: 'tunion_blocks', columns: `seq, 'tunion_blocked' AS type, time_wall_ms,
    card_serial AS card, NULL AS atc, NULL AS amount_minor` },
] as const;

/** The names of the facts in which two records differ (none: a replay). */
function differing(held: readonly string[], mine: readonly string[]): string[] {
  return FACT_NAMES.filter((_, i) => held[i] !== mine[i]);
}

/** Highest seq the depot holds for `terminalId` (0 when none). */
export async function storedThroughSeq(tx: DepotDb, terminalId: string): Promise<number> {
  let through = 0;
  for (const { table } of HELD_TABLES) {
    const rows = await tx.query(`SELECT MAX(seq) AS through FROM ${table}
      WHERE terminal_id = $1`, [terminalId]);
    const value = rows[0]?.['through'];
    if (value !== null && value !== undefined) through = Math.max(through, Number(value));
  }
  return through;
}

/**
 * Resolves with the seqs of `batch` the depot already holds (the replays, to skip), or rejects
 * with BatchError 'seq-conflict' when one of them holds another record: nothing of the batch
 * may then be stored. The message names the highest seq held for the terminal, after which
 * its journal must start again, then the first such seq, the record held there and what
 * differs.
 */
export async function storedReplays(tx: DepotDb, batch: SealedBatch): Promise<Set<number>> {
  const incoming = batchFacts(batch);
  if (incoming.size === 0) return new Set();
  const replays = new Set<number>();
  const range = [batch.terminalId, batch.firstSeq, batch.throughSeq];
  for (const { table, columns } of HELD_TABLES) {
    const rows = await tx.query(`SELECT ${columns}
      FROM ${table} WHERE terminal_id = $1 AND seq >= $2 AND seq <= $3 ORDER BY seq`, range);
    for (const row of rows) {
      const seq = Number(row['seq']);
      const mine = incoming.get(seq);
      if (mine === undefined) continue;
      const differs = differing(storedFacts(row), mine);
      if (differs.length > 0) throw await conflictError(tx, batch.terminalId, row, differs);
      replays.add(seq);
    }
  }
  return replays;
}

/**
 * The refusal, what to do first: a validator keeps the first 300 characters of an answer's
 * detail in its log, so the seq to start after comes before the records' description.
 */
async function conflictError(
  tx: DepotDb, terminalId: string, row: DepotRow, differs: readonly string[],
): Promise<BatchError> {
  const seq = Number(row['seq']);
  const through = await storedThroughSeq(tx, terminalId);
  return new BatchError('seq-conflict', `records[seq ${seq}]`,
    `a replaced journal? Nothing stored: the depot holds terminal ${terminalId} through seq `
    + `${through}; start its journal after it (shuaka journal init --after-seq ${through}). `
    + `Seq ${seq} is held as another record (${String(row['type'])} at `
    + `${new Date(Number(row['time_wall_ms'])).toISOString()}; differs in `
    + `${differs.join(', ')})`);
}
