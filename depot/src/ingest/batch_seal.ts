// A validated batch with each clear PAN replaced by its token and seal: the CPU-bound half of
// ingest (parse, validate, seal), which a worker thread can do while the database writes the
// previous batch (batch_prepare_pool.ts). What crosses threads holds no clear PAN.

import type { PanVault } from '../store/pan_vault.js';
import type { IngestBatch, IngestRecord } from './batch_validate.js';
import { batchValidate } from './batch_validate.js';
import { BatchError } from './batch_error.js';
import type { TunionIngestRecord } from '../tunion/tunion_ingest.js';

/** One record ready for the `taps` table: the clear PAN is gone (`record.pan` is null). */
export interface SealedRecord {
  readonly record: IngestRecord;
  /** PAN token (pan_vault.ts), null for a record without a card. */
  readonly panToken: string | null;
  readonly panSealed: string | null;
}

/** An IngestBatch whose records carry token and seal instead of the clear PAN. */
export interface SealedBatch {
  readonly terminalId: string;
  readonly firstSeq: number;
  readonly throughSeq: number;
  readonly records: readonly SealedRecord[];
  readonly tunion: readonly TunionIngestRecord[];
}

/** `record` with `pan` null (a literal of one shape: a spread copies property by property). */
export function recordWithoutPan(r: IngestRecord): IngestRecord {
  return { seq: r.seq, type: r.type, timeWallMs: r.timeWallMs, routeId: r.routeId, pan: null,
    psn: r.psn, atc: r.atc, amountMinor: r.amountMinor, currencyCode: r.currencyCode,
    fareRule: r.fareRule, cryptogramType: r.cryptogramType, iccDataHex: r.iccDataHex,
    transactionDate: r.transactionDate, transactionTime: r.transactionTime,
    paramsVersion: r.paramsVersion, recordJson: r.recordJson };
}

/**
 * The token and seal of every card of `batch`, in record order over the records with a PAN
 * (vault.sealCards: the fresh seals made together).
 */
export function batchCards(batch: IngestBatch, vault: PanVault):
  { readonly tokens: readonly string[]; readonly sealed: readonly string[] } {
  const pans: string[] = [];
  for (const record of batch.records) if (record.pan !== null) pans.push(record.pan);
  return vault.sealCards(pans);
}

/** Tokenises and seals every PAN of `batch` under `vault`; the records keep no clear PAN. */
export function batchSeal(batch: IngestBatch, vault: PanVault): SealedBatch {
  const cards = batchCards(batch, vault);
  let card = 0;
  const records = batch.records.map((record): SealedRecord => {
    if (record.pan === null) return { record, panToken: null, panSealed: null };
    const sealed = { record: recordWithoutPan(record), panToken: cards.tokens[card] ?? null,
      panSealed: cards.sealed[card] ?? null };
    card += 1;
    return sealed;
  });
  return { terminalId: batch.terminalId, firstSeq: batch.firstSeq,
    throughSeq: batch.throughSeq, records, tunion: batch.tunion };
}

/**
 * The body text of POST /v1/batches parsed and validated against the certificate's
 * `certTerminalId` (the PANs still clear). Throws BatchError: bad-batch (not JSON, or a field
 * out of bounds) or terminal-mismatch.
 */
export function batchParse(text: string, certTerminalId: string): IngestBatch {
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    throw new BatchError('bad-batch', '', 'body is not valid JSON');
  }
  return batchValidate(body, certTerminalId);
}

/**
 * POST /v1/batches up to the database: the body text parsed, validated against the
 * certificate's `certTerminalId` and sealed. Throws BatchError: bad-batch (not JSON, or a
 * field out of bounds) or terminal-mismatch.
 */
export function batchPrepare(text: string, certTerminalId: string, vault: PanVault):
  SealedBatch {
  return batchSeal(batchParse(text, certTerminalId), vault);
}
