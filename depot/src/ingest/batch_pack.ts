// A sealed batch as it crosses from the prepare worker to the thread that stores it: the
// records' stored fields as one string instead of a structured clone of a thousand objects.
// Cloning objects costs both threads (the worker serialises each property, the store's thread
// rebuilds each object and string); one flat string is copied whole and split once. The
// string holds exactly what batch_store.ts writes: token and seal, never the clear PAN.

import type { PanVault } from '../store/pan_vault.js';
import type { IngestBatch, IngestRecord, TapType } from './batch_validate.js';
import { batchCards, type SealedBatch, type SealedRecord } from './batch_seal.js';
import type { TunionIngestRecord } from '../tunion/tunion_ingest.js';

/** A SealedBatch packed for postMessage (batchPack, batchUnpack). */
export interface PackedBatch {
  readonly terminalId: string;
  readonly firstSeq: number;
  readonly throughSeq: number;
  /** Records in `rows`. */
  readonly count: number;
  /** FIELDS_PER_RECORD fields per record, each ended by FIELD_END; NULL_FIELD for null. */
  readonly rows: string;
  readonly tunion: readonly TunionIngestRecord[];
}

/** Ends every field. No stored text holds it: batchPack checks, and refuses to pack if so. */
const FIELD_END = '\u0001';
/** A null field. */
const NULL_FIELD = '\u0002';
/**
 * seq, type, timeWallMs, routeId, psn, atc, amountMinor, currencyCode, fareRule,
 * cryptogramType, iccDataHex, transactionDate, transactionTime, paramsVersion, recordJson,
 * panToken, panSealed.
 */
const FIELDS_PER_RECORD = 17;

const TAP_TYPES: Readonly<Record<string, TapType>> = {
  clearing: 'clearing', torn: 'torn', reconciled: 'reconciled', pending_open: 'pending_open',
};
const CRYPTOGRAM_TYPES: Readonly<Record<string, 'TC' | 'ARQC'>> = { TC: 'TC', ARQC: 'ARQC' };

/** False when text `value` cannot be packed: it holds FIELD_END or is NULL_FIELD itself. */
function packable(value: string | null): boolean {
  return value === null || (!value.includes(FIELD_END) && value !== NULL_FIELD);
}

function textField(value: string | null): string {
  return value ?? NULL_FIELD;
}

function numberField(value: number | null): string {
  return value === null ? NULL_FIELD : String(value);
}

/**
 * The fields of `r` (its token and seal given) appended to `out`; false when a text cannot be
 * packed (type and cryptogramType are one of a few words).
 */
function recordPack(r: IngestRecord, token: string | null, sealed: string | null,
  out: string[]): boolean {
  out.push(String(r.seq), r.type, String(r.timeWallMs), textField(r.routeId),
    textField(r.psn), numberField(r.atc), numberField(r.amountMinor),
    numberField(r.currencyCode), textField(r.fareRule), textField(r.cryptogramType),
    textField(r.iccDataHex), textField(r.transactionDate), textField(r.transactionTime),
    numberField(r.paramsVersion), r.recordJson, textField(token), textField(sealed));
  return packable(r.routeId) && packable(r.psn) && packable(r.fareRule)
    && packable(r.iccDataHex) && packable(r.transactionDate) && packable(r.transactionTime)
    && packable(r.recordJson) && packable(token) && packable(sealed);
}

/**
 * `batch` sealed under `vault` (batch_seal.ts batchCards) and packed, or null when a field
 * holds a separator character (no validated line does; the caller then sends the SealedBatch
 * itself).
 */
export function batchPack(batch: IngestBatch, vault: PanVault): PackedBatch | null {
  const cards = batchCards(batch, vault);
  const fields: string[] = [];
  let card = 0;
  for (const record of batch.records) {
    const token = record.pan === null ? null : cards.tokens[card] ?? '';
    const sealed = record.pan === null ? null : cards.sealed[card] ?? '';
    if (record.pan !== null) card += 1;
    if (!recordPack(record, token, sealed, fields)) return null;
  }
  fields.push('');
  return { terminalId: batch.terminalId, firstSeq: batch.firstSeq,
    throughSeq: batch.throughSeq, count: batch.records.length,
    rows: fields.join(FIELD_END), tunion: batch.tunion };
}

/** The SealedBatch of `packed`. Throws Error when `rows` is not batchPack's (a bug). */
export function batchUnpack(packed: PackedBatch): SealedBatch {
  const f = packed.rows.split(FIELD_END);
  if (f.length !== packed.count * FIELDS_PER_RECORD + 1)
    throw new Error(`packed batch: ${f.length - 1} fields for ${packed.count} records`);
  const text = (i: number): string | null => {
    const value = f[i] ?? NULL_FIELD;
    return value === NULL_FIELD ? null : value;
  };
  const int = (i: number): number | null => {
    const value = f[i] ?? NULL_FIELD;
    return value === NULL_FIELD ? null : Number(value);
  };
  const records = new Array<SealedRecord>(packed.count);
  for (let r = 0; r < packed.count; r += 1) {
    const at = r * FIELDS_PER_RECORD;
    const type = TAP_TYPES[f[at + 1] ?? ''];
    const cryptogram = text(at + 9);
    if (type === undefined || (cryptogram !== null && CRYPTOGRAM_TYPES[cryptogram] === undefined))
      throw new Error(`packed batch: record ${r} has a bad type or cryptogram type`);
    const record: IngestRecord = { seq: Number(f[at]), type, timeWallMs: Number(f[at + 2]),
      routeId: text(at + 3), pan: null, psn: text(at + 4), atc: int(at + 5),
      amountMinor: int(at + 6), currencyCode: int(at + 7), fareRule: text(at + 8),
      cryptogramType: cryptogram === null ? null : CRYPTOGRAM_TYPES[cryptogram] ?? null,
      iccDataHex: text(at + 10), transactionDate: text(at + 11),
      transactionTime: text(at + 12), paramsVersion: int(at + 13),
      recordJson: f[at + 14] ?? '' };
    records[r] = { record, panToken: text(at + 15), panSealed: text(at + 16) };
  }
  return { terminalId: packed.terminalId, firstSeq: packed.firstSeq,
    throughSeq: packed.throughSeq, records, tunion: packed.tunion };
}
