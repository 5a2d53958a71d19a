// Stores one validated batch in one transaction: idempotent by terminal + seq (a seq held as
// another record refuses the batch: seq_conflict.ts), and a clearing tap whose card (PAN
// token, PSN) and ATC is already counted is kept as a duplicate, never counted twice (depot
// README, POST /v1/batches).

import { DepotStoreError, type DepotDb, type DepotValue } from '../store/depot_db.js';
import type { PanVault } from '../store/pan_vault.js';
import type { IngestBatch } from './batch_validate.js';
import { batchSeal, type SealedBatch, type SealedRecord } from './batch_seal.js';
import { countedTapsOfCards, tapsInsert, type TapCard } from './tap_insert.js';
import { CARD_KEY_LEVEL_CAPS, cardKeysMerge } from '../store/card_key_levels.js';
import { tunionStore } from '../tunion/tunion_ingest.js';
import { storedReplays, storedThroughSeq } from './seq_conflict.js';

/** What POST /v1/batches answers once the transaction committed. */
export interface BatchReceipt {
  readonly ackThroughSeq: number;
  /** Records stored and counted now (state `new`). */
  readonly stored: number;
  /** Records not counted: replays (seq already stored) plus card+ATC duplicates. */
  readonly duplicates: number;
  /**
   * Seqs before the batch that no batch of the terminal ever covered, [from, through], or
   * absent: the validator acknowledged them to a depot this database does not reflect (one
   * restored from an older backup), or its journal was started after them (`journal init`).
   * The batch is stored; the operator is told (the server's log): those records are gone from
   * the validator, only its exports or the newer database hold them. Meaningful for a
   * validator's upload (its first seq is its ack + 1), not for a file whose seqs the lines give.
   */
  readonly gap?: readonly [number, number];
}

type Prepared = SealedRecord;

function cardKey(token: string, psn: string | null, atc: number | null): string {
  return `${token}/${psn ?? ''}/${atc ?? ''}`;
}

function counted(p: Prepared): p is Prepared & { panToken: string } {
  return p.record.type === 'clearing' && p.panToken !== null;
}

/** Options of batchStore and batchStoreSealed. */
export interface BatchStoreOptions {
  /** SQLite: keys each card+ATC level holds before its merge (tests use small ones). */
  readonly cardKeyLevelCaps?: readonly number[];
}

/**
 * Seals `batch` under `vault` and stores it (batchStoreSealed). Rejects with DepotStoreError
 * when the database fails (nothing is stored).
 */
export function batchStore(
  db: DepotDb,
  batch: IngestBatch,
  vault: PanVault,
  nowMs: number,
  options: BatchStoreOptions = {},
): Promise<BatchReceipt> {
  return batchStoreSealed(db, batchSeal(batch, vault), nowMs, options);
}

/**
 * Times a batch is stored again after losing a race to a concurrent transaction (PostgreSQL:
 * a deadlock with another terminal's batch over the same card+ATCs): the next try sees the
 * winner's rows.
 */
const RACE_TRIES_MAX = 4;

/**
 * Stores a sealed batch of `batch.terminalId` in one transaction and resolves with the
 * receipt only after the commit; a transaction that lost a race (DepotStoreError.race) is
 * rolled back and run again, at most RACE_TRIES_MAX times in all. Rejects with
 * DepotStoreError when the database fails (nothing is stored).
 */
export async function batchStoreSealed(
  db: DepotDb,
  batch: SealedBatch,
  nowMs: number,
  options: BatchStoreOptions = {},
): Promise<BatchReceipt> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await batchStoreOnce(db, batch, nowMs, options);
    } catch (error) {
      if (!(error instanceof DepotStoreError && error.race) || tries >= RACE_TRIES_MAX)
        throw error;
    }
  }
}

function batchStoreOnce(db: DepotDb, batch: SealedBatch, nowMs: number,
  options: BatchStoreOptions): Promise<BatchReceipt> {
  const prepared = batch.records;
  return db.transaction(async (tx) => {
    // What this depot covers of the terminal: its batches' ranges, and the rows it holds
    // (stored before the batches were kept, or by an older depot).
    const covered = await tx.query(
      'SELECT MAX(through_seq) AS through FROM batches WHERE terminal_id = $1', [batch.terminalId]);
    const coveredThrough = Math.max(Number(covered[0]?.['through'] ?? 0),
      await storedThroughSeq(tx, batch.terminalId));
    await tx.run(`INSERT INTO batches (terminal_id, first_seq, through_seq, record_count,
      received_at_ms) VALUES ($1, $2, $3, $4, $5)`,
    [batch.terminalId, batch.firstSeq, batch.throughSeq, batch.records.length, nowMs]);
    // Before the taps: the terminal's status row stays locked to the commit, so a
    // terminal's batches (a replay racing its original, two depot processes) take turns.
    await tx.run(`INSERT INTO terminal_status (terminal_id, last_contact_ms) VALUES ($1, $2)
      ON CONFLICT (terminal_id) DO UPDATE SET last_contact_ms = excluded.last_contact_ms`,
    [batch.terminalId, nowMs]);
    const known = await storedReplays(tx, batch);
    const fresh = prepared.filter((p) => !known.has(p.record.seq));
    // Every new record is inserted as counted; the schema refuses a card+ATC already counted
    // (stored before, or earlier in this batch: rows insert in order; PostgreSQL's unique
    // index, SQLite's key-level trigger), and only those few are looked up and stored again
    // as duplicates. A lookup of every card first would probe the index once more per record.
    const counting = new Map<string, number>();
    const stored = await insertTaps(tx, batch.terminalId, fresh, nowMs, counting);
    const retried = fresh.filter((p) => !stored.has(p.record.seq));
    const storedLate = await insertDuplicates(tx, batch.terminalId, retried, nowMs, counting);
    const tunion = await tunionStore(tx, batch.terminalId, batch.tunion, nowMs);
    if (tx.dialect === 'sqlite')
      await cardKeysMerge(tx, options.cardKeyLevelCaps ?? CARD_KEY_LEVEL_CAPS);
    const storedCount = stored.size + storedLate + tunion.stored;
    const receipt = {
      ackThroughSeq: batch.throughSeq,
      stored: storedCount,
      duplicates: batch.records.length + batch.tunion.length - storedCount,
    };
    return coveredThrough + 1 < batch.firstSeq
      ? { ...receipt, gap: [coveredThrough + 1, batch.firstSeq - 1] as const } : receipt;
  });
}

/** A record dated more than this ahead of the depot's clock: the validator's clock is ahead. */
export const BATCH_CLOCK_AHEAD_MS = 24 * 3600 * 1000;

/**
 * The warning for a batch whose newest record is dated more than BATCH_CLOCK_AHEAD_MS after
 * `nowMs`, or null. A validator whose clock runs ahead says nothing itself (it can tell a
 * clock behind its journal only): its taps are stored and settled on days still to come.
 */
export function batchClockAheadWarning(batch: SealedBatch, nowMs: number): string | null {
  let newest = 0;
  for (const r of batch.records) newest = Math.max(newest, r.record.timeWallMs);
  for (const r of batch.tunion) newest = Math.max(newest, r.timeWallMs);
  if (newest <= nowMs + BATCH_CLOCK_AHEAD_MS) return null;
  const days = Math.floor((newest - nowMs) / (24 * 3600 * 1000));
  return `WARNING terminal ${batch.terminalId}: records dated up to `
    + `${new Date(newest).toISOString()}, ${days} days after this depot's clock: the `
    + 'validator\'s clock is ahead (its taps are settled on those days); set it';
}

/** What the operator is told of a receipt's gap (the server's log). */
export function batchGapWarning(terminalId: string, gap: readonly [number, number]): string {
  return `WARNING terminal ${terminalId}: seqs ${gap[0]}..${gap[1]} came in no batch of this `
    + 'depot before this one, and the validator has moved past them: restored from an older '
    + 'backup? Its records are then only in the newer database or the validator\'s exports '
    + `(ingest them); if its journal was started after seq ${gap[1]} (journal init), nothing is `
    + 'missing';
}

/** Counted clearing taps of these cards: card key to tap id. */
async function countedCards(tx: DepotDb, cards: readonly TapCard[]):
  Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (const row of await countedTapsOfCards(tx, cards)) {
    const key = cardKey(String(row['pan_token']), row['psn'] === null ? null
      : String(row['psn']), row['atc'] === null ? null : Number(row['atc']));
    found.set(key, Number(row['id']));
  }
  return found;
}

function tapRow(terminalId: string, p: Prepared, state: string, duplicateOf: number | null,
  nowMs: number): DepotValue[] {
  const r = p.record;
  return [terminalId, r.seq, r.type, r.timeWallMs, r.routeId, p.panToken, p.panSealed, r.psn,
    r.atc, r.amountMinor, r.currencyCode, r.fareRule, r.cryptogramType, r.iccDataHex,
    r.transactionDate, r.transactionTime, r.paramsVersion, r.recordJson, state, duplicateOf,
    nowMs];
}

/**
 * Inserts counted rows; a row refused by a unique index (a concurrent batch stored its seq or
 * its card+ATC first) is left out of the result and retried by the caller as a duplicate.
 * Resolves with the seqs stored; `counting` learns the new taps' ids.
 */
async function insertTaps(tx: DepotDb, terminalId: string, rows: readonly Prepared[],
  nowMs: number, counting: Map<string, number>): Promise<Set<number>> {
  const ids = await tapsInsert(tx, rows.map((p) => tapRow(terminalId, p, 'new', null, nowMs)));
  const stored = new Set<number>();
  for (const p of rows) {
    const id = ids.get(p.record.seq);
    if (id === undefined) continue;
    stored.add(p.record.seq);
    if (counted(p)) counting.set(cardKey(p.panToken, p.record.psn, p.record.atc), id);
  }
  return stored;
}

/**
 * Inserts card+ATC duplicates (state `duplicate`, `duplicate_of` the counted tap). A row whose
 * seq is already stored is a replay and is skipped. Resolves with the rows stored as counted
 * (`new`: only when no counted tap holds its card+ATC, which a concurrent rollback can cause).
 */
async function insertDuplicates(tx: DepotDb, terminalId: string, rows: readonly Prepared[],
  nowMs: number, counting: Map<string, number>): Promise<number> {
  if (rows.length === 0) return 0;
  const keyOf = (p: Prepared): string | null =>
    counted(p) ? cardKey(p.panToken, p.record.psn, p.record.atc) : null;
  const missing = rows.filter(counted).filter((p) => !counting.has(keyOf(p) ?? ''));
  const found = await countedCards(tx, missing.map((p) => ({ panToken: p.panToken,
    psn: p.record.psn ?? '' })));
  for (const [key, id] of found) counting.set(key, id);
  const orphans = rows.filter((p) => counting.get(keyOf(p) ?? '') === undefined);
  const copies = rows.filter((p) => counting.get(keyOf(p) ?? '') !== undefined);
  await tapsInsert(tx, copies.map((p) =>
    tapRow(terminalId, p, 'duplicate', counting.get(keyOf(p) ?? '') ?? null, nowMs)));
  return orphans.length === 0 ? 0 : (await insertTaps(tx, terminalId, orphans, nowMs,
    counting)).size;
}
